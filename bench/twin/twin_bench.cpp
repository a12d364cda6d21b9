// knee-bench-twin: does a twin fitted on one replica predict the deployment with more replicas? (issue 15,
// BENCHMARKS.md "Twins"). Measures an endpoint (closed-loop levels, then Poisson arrivals at a share of its
// capacity) and runs the same loads on the twin with the same replicas and concurrency target:
//
//   knee-bench-twin --twin TWIN.yaml --url URL --replicas N [--target T] [--levels 4,16] [--warmup-s 1]
//                   [--window-s 2] [--cap-s 20] [--poisson 0.8] [--poisson-s 30] [--capacity-rps X]
//                   [--openai --stream --max-tokens N] [--label TEXT] [--out rows.jsonl] [--prime-s 3] [--devices D]
//                   [--trace poisson.csv]
//
// Capacity is the twin's own (its one replica's throughput at its largest fitted level, times N) unless
// --capacity-rps gives it. Prints one Markdown row per load; --out appends them as JSON lines.
//
//   knee-bench-twin --twin TWIN.yaml --measured rows.jsonl [--devices D] [--out new.jsonl]
//
// replays an earlier run's measured rows (their replicas and loads) on another twin, without the endpoint:
// a change to the fit is checked here against what the GPU machine measured.
#include "io/scenario_reader.h"
#include "net/http_open_loop.h"
#include "net/http_sweep.h"
#include "study/twin.h"
#include "telemetry/host_contention.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstdio>

using namespace knee;

namespace {

// The measured side of a row written by --out.
SweepLevel levelFrom(const QJsonObject& o)
{
    SweepLevel l;
    l.throughputRps = o["throughput_rps"].toDouble();
    l.latency.p50 = o["p50_ms"].toDouble();
    l.latency.p95 = o["p95_ms"].toDouble();
    l.completed = o["completed"].toInteger();
    l.failed = o["failed"].toInteger();
    if (o.contains("ttft_p50_ms")) {
        l.ttft.count = l.itl.count = std::max<std::int64_t>(1, l.completed);
        l.ttft.p50 = o["ttft_p50_ms"].toDouble();
        l.ttft.p95 = o["ttft_p95_ms"].toDouble();
        l.itl.p50 = o["itl_p50_ms"].toDouble();
    }
    return l;
}

QJsonObject figures(const SweepLevel& l)
{
    QJsonObject o{{"throughput_rps", l.throughputRps}, {"p50_ms", l.latency.p50}, {"p95_ms", l.latency.p95}, {"completed", qint64(l.completed)},
                  {"failed", qint64(l.failed)}};
    if (l.ttft.count > 0) {
        o.insert("ttft_p50_ms", l.ttft.p50);
        o.insert("ttft_p95_ms", l.ttft.p95);
        o.insert("itl_p50_ms", l.itl.p50);
    }
    return o;
}

// --trace: each request of the Poisson load (net::OpenLoopRecord), for taking its tail apart offline.
bool writeTrace(const QString& path, const std::vector<net::OpenLoopRecord>& records)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
        return false;
    const auto ms = [](Nanos t) { return QByteArray::number(double(t) / 1e6, 'f', 4); };
    f.write("intended_ms,sent_ms,ended_ms,latency_ms,ok,measured\n");
    for (const net::OpenLoopRecord& r : records)
        f.write(ms(r.intended) + ',' + ms(r.sent) + ',' + ms(r.ended) + ',' + ms(r.ended - r.intended) + ',' + (r.ok ? "1" : "0") + ','
                + (r.measured ? "1" : "0") + '\n');
    f.close(); // flushes: a full disk shows here
    return f.error() == QFile::NoError;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.addHelpOption();
    const QCommandLineOption twinOpt("twin", "Twin scenario (knee fit --out).", "FILE"), url("url", "Endpoint.", "URL"),
        replicas("replicas", "Replicas behind the endpoint.", "N", "1"), target("target", "Their concurrency target (default the twin's).", "T"),
        levels("levels", "Closed-loop levels (empty: none).", "LIST", "4,16"), warmup("warmup-s", "Warm-up per level.", "S", "1"),
        window("window-s", "Window per level.", "S", "2"), cap("cap-s", "Cap per level.", "S", "20"),
        poisson("poisson", "Poisson load as a share of capacity (0: none).", "F", "0.8"),
        poissonS("poisson-s", "Poisson load's measured seconds.", "S", "30"), capacity("capacity-rps", "Capacity of the N replicas.", "RPS"),
        openai("openai", "OpenAI-compatible endpoint."), stream("stream", "Stream (TTFT, ITL)."),
        maxTokens("max-tokens", "max_tokens per request.", "N", "16"), label("label", "Row label.", "TEXT", "twin"),
        out("out", "Append JSON lines here.", "FILE"), prime("prime-s", "Load before measuring, not counted (a fresh server's first seconds).", "S", "3"),
        measuredRows("measured", "Rows of an earlier run (--out): replay their loads on this twin, without the endpoint.", "FILE"),
        devices("devices", "Devices the N replicas share in the twin: 0, one each (the platforms' placement); 1, all on one GPU (a server on one GPU).",
                "D", "0"),
        trace("trace", "The Poisson load's requests, one CSV line each (ms since its start: intended, sent, ended; latency; ok; measured).", "FILE");
    p.addOptions({twinOpt, url, replicas, target, levels, warmup, window, cap, poisson, poissonS, capacity, openai, stream, maxTokens, label, out, prime, measuredRows,
                  devices, trace});
    p.process(app);
    if (p.isSet(trace) && !(p.value(poisson).toDouble() > 0)) {
        std::fprintf(stderr, "--trace records the Poisson load: give --poisson above 0\n");
        return 2;
    }
    const ScenarioReadResult read = readScenarioFile(p.value(twinOpt).toStdString());
    if (!read.ok()) {
        std::fprintf(stderr, "%s\n", read.errors.empty() ? "cannot read the twin" : read.errors.front().toString().c_str());
        return 2;
    }
    Scenario twin = *read.scenario;
    // Where the measured server's replicas run: a server on one GPU puts them all on it, and its calls share
    // the device as the fitted curve says (beyond the fitted calls in flight: saturated).
    twin.deployment.devices = std::max(0, p.value(devices).toInt());
    const int n = p.value(replicas).toInt();
    const int t = p.isSet(target) ? p.value(target).toInt() : 0;
    QFile rows(p.value(out));
    if (p.isSet(out) && !rows.open(QIODevice::Append | QIODevice::Text))
        return 2;
    std::printf("| %s | replicas | load | req/s meas/twin | p50 ms meas/twin | p95 ms meas/twin | ttft p50 | itl p50 | worst | host steal |\n",
                qPrintable(p.value(label)));
    // `host`: what the machine took from the measurement (hypervisor steal, this client's involuntary
    // context switches), since on a virtual machine a level measured while the neighbours were busy is
    // slower for reasons neither the server nor the twin has (issue 13, run 16).
    QString rowLabel = p.value(label);
    auto emit = [&](int n, const QString& load, const SweepLevel& m, const SweepLevel& tw, const telemetry::HostContention& host) {
        const TwinLevelCheck c = twinCheck(m, tw);
        std::printf("| %s | %d | %s | %.1f/%.1f (%+.1f %%) | %.1f/%.1f (%+.1f %%) | %.1f/%.1f (%+.1f %%) | %s | %s | %.1f %% | %s |\n",
                    qPrintable(rowLabel), n, qPrintable(load), c.measuredRps, c.twinRps, c.throughputErrorPct(), c.measuredP50, c.twinP50,
                    c.p50ErrorPct(), c.measuredP95, c.twinP95, c.p95ErrorPct(),
                    c.streaming ? qPrintable(QString::asprintf("%.1f/%.1f (%+.1f %%)", c.measuredTtftP50, c.twinTtftP50, c.ttftP50ErrorPct())) : "",
                    c.streaming ? qPrintable(QString::asprintf("%.2f/%.2f (%+.1f %%)", c.measuredItlP50, c.twinItlP50, c.itlP50ErrorPct())) : "",
                    c.worstErrorPct(), host.valid ? qPrintable(QString::asprintf("%.2f %%%s", host.stealPct, host.disturbed() ? " (disturbed)" : "")) : "");
        std::fflush(stdout);
        QJsonObject hostRow;
        if (host.valid)
            hostRow = {{"steal_pct", host.stealPct}, {"involuntary_switches", qint64(host.involuntarySwitches)}, {"disturbed", host.disturbed()}};
        if (rows.isOpen())
            rows.write(QJsonDocument(QJsonObject{{"label", rowLabel}, {"replicas", n}, {"load", load}, {"measured", figures(m)}, {"twin", figures(tw)},
                                                 {"worst_error_pct", c.worstErrorPct()}, {"host", hostRow}})
                           .toJson(QJsonDocument::Compact)
                       + "\n");
    };
    if (p.isSet(measuredRows)) {
        QFile in(p.value(measuredRows));
        if (!in.open(QIODevice::ReadOnly | QIODevice::Text)) {
            std::fprintf(stderr, "cannot read %s\n", qPrintable(in.fileName()));
            return 2;
        }
        int replayed = 0, skipped = 0;
        for (const QByteArray& line : in.readAll().split('\n')) {
            if (line.trimmed().isEmpty())
                continue;
            const QJsonObject r = QJsonDocument::fromJson(line).object();
            const QString load = r["load"].toString();
            const int rn = r["replicas"].toInt();
            const QStringList words = load.split(' ');
            const int users = words.size() >= 2 && words[0] == "closed" ? words[1].toInt() : 0;
            const double rps = words.size() >= 2 && words[0] == "poisson" ? words[1].toDouble() : 0;
            if (rn < 1 || rn > 1024 || (users < 1 && !(rps > 0)) || users > 1000000 || rps > 1e7) {
                ++skipped;
                continue;
            }
            rowLabel = p.isSet(label) ? p.value(label) : r["label"].toString();
            const SweepLevel m = levelFrom(r["measured"].toObject());
            telemetry::HostContention host;
            if (const QJsonObject h = r["host"].toObject(); !h.isEmpty()) {
                host.valid = true;
                host.stealPct = h["steal_pct"].toDouble();
                host.involuntarySwitches = long(h["involuntary_switches"].toInteger());
            }
            if (users >= 1)
                emit(rn, load, m, twinClosedLoop(twin, rn, users, t), host);
            else
                emit(rn, load, m, twinOpenLoop(twin, rn, rps, std::max(600.0, 20 * p.value(poissonS).toDouble()), t), host);
            ++replayed;
        }
        if (skipped)
            std::fprintf(stderr, "%d line(s) of %s are not rows of knee-bench-twin --out: left out\n", skipped, qPrintable(in.fileName()));
        return replayed ? 0 : 2;
    }
    net::HttpTarget ht;
    ht.url = QUrl(p.value(url));
    ht.kind = p.isSet(openai) ? net::HttpTarget::Kind::OpenAI : net::HttpTarget::Kind::Generic;
    ht.stream = p.isSet(stream);
    ht.maxTokens = p.value(maxTokens).toInt();
    ht.maxConnections = 1024;
    if (const QString e = ht.validate(); !e.isEmpty()) {
        std::fprintf(stderr, "%s\n", qPrintable(e));
        return 2;
    }
    net::HttpClient client(ht, {});
    SweepOptions o;
    o.levels.clear();
    for (const QString& l : p.value(levels).split(',', Qt::SkipEmptyParts))
        o.levels.push_back(l.toInt());
    o.warmupS = p.value(warmup).toDouble();
    o.windowS = p.value(window).toDouble();
    o.capS = p.value(cap).toDouble();
    if (const double primeS = p.value(prime).toDouble(); primeS > 0) { // a closed loop of 4 users per replica, not counted
        SweepOptions warm;
        warm.levels = {4 * n};
        warm.warmupS = primeS;
        warm.windowS = warm.capS = 0.01;
        net::runHttpSweep(client, twin, warm);
    }
    // One sweep per level, so that each level's host conditions are its own.
    std::vector<int> ordered = o.levels; // as one sweep ran them: ascending, once each
    std::sort(ordered.begin(), ordered.end());
    ordered.erase(std::unique(ordered.begin(), ordered.end()), ordered.end());
    for (const int level : ordered) {
        SweepOptions one = o;
        one.levels = {level};
        const telemetry::HostMark before = telemetry::HostMark::now();
        const SweepResult measured = net::runHttpSweep(client, twin, one);
        const telemetry::HostContention host = telemetry::between(before, telemetry::HostMark::now());
        for (const SweepLevel& m : measured.levels)
            emit(n, QStringLiteral("closed %1").arg(m.concurrency), m, twinClosedLoop(twin, n, m.concurrency, t), host);
    }
    if (const double share = p.value(poisson).toDouble(); share > 0) {
        double cap1 = p.value(capacity).toDouble();
        if (!p.isSet(capacity)) {
            const std::vector<int>& fitted = twin.twin ? twin.twin->levels : std::vector<int>{};
            const int largest = fitted.empty() ? std::max(64, twin.deployment.predictConcurrency) : fitted.back();
            // One device each: n times one replica. Sharing devices: the n replicas together, on the twin.
            cap1 = twin.deployment.devices == 0
                ? n * twinClosedLoop(twin, 1, largest, std::max(largest, twin.deployment.concurrencyTarget)).throughputRps
                : twinClosedLoop(twin, n, n * largest, std::max(largest, twin.deployment.concurrencyTarget)).throughputRps;
        }
        const double rps = share * cap1;
        const double seconds = p.value(poissonS).toDouble();
        const telemetry::HostMark before = telemetry::HostMark::now();
        const net::OpenLoopRun run = net::runPoissonLoad(client, rps, std::min(5.0, seconds / 5), seconds, 30, 1, p.isSet(trace));
        const telemetry::HostContention host = telemetry::between(before, telemetry::HostMark::now());
        const SweepLevel m = net::openLoopLevel(run, rps);
        emit(n, QStringLiteral("poisson %1 rps").arg(rps, 0, 'f', 1), m, twinOpenLoop(twin, n, rps, std::max(600.0, 20 * seconds), t), host);
        if (p.isSet(trace) && !writeTrace(p.value(trace), run.records)) { // after the row: a trace that fails loses no row
            std::fprintf(stderr, "cannot write %s\n", qPrintable(p.value(trace)));
            return 2;
        }
    }
    return 0;
}
