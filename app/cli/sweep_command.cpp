#include "sweep_command.h"

#include "commands.h"

#include "fit_command.h"
#include "summary_format.h"
#include "sweep_outputs.h"

#include "io/scenario_reader.h"
#include "io/user_file.h"
#include "live/backend_executor.h"
#include "live/live_sweep.h"
#include "net/dataset_flags.h"
#include "net/http_sweep.h"
#include "runs/sweep_runner.h"
#include "study/grid.h"
#include "session/session.h"
#include "session/output_file.h"
#include "session/twin_file.h"
#include "study/sweep.h"
#include "telemetry/gpu_telemetry.h"

#include <QCommandLineParser>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

#include <algorithm>
#include <cmath>

namespace knee::cli {

namespace {

// A level with more than one steady state (SweepOptions::starts), in the text table's notes.
QString severalStatesNote(const LevelStates& st)
{
    return QStringLiteral("several steady states: %1-%2 req/s by how the users start; the slowest is shown")
        .arg(st.slowestRps(), 0, 'f', 1)
        .arg(st.fastestRps(), 0, 'f', 1);
}

// Exit status of a sweep in which no level completed a request (README's exit codes): nothing to
// recommend from, whatever else went right.
constexpr int kNothingMeasured = 3;

// The flags that point a sweep at an HTTP endpoint instead of the built-in engine.
struct EndpointFlags {
    const QCommandLineOption target{QStringLiteral("target"), QStringLiteral("Sweep this HTTP endpoint instead of the built-in engine."),
                                    QStringLiteral("URL")};
    const QCommandLineOption openai{QStringLiteral("openai"), QStringLiteral("The endpoint is OpenAI-compatible (chat/completions).")};
    const QCommandLineOption stream{QStringLiteral("stream"),
                                    QStringLiteral("OpenAI: stream responses (time to first token, inter-token latency, tokens/s).")};
    const QCommandLineOption header{QStringLiteral("header"), QStringLiteral("A header for every request, 'Name: value' (repeatable)."),
                                    QStringLiteral("HEADER")};
    const QCommandLineOption bodyTemplate{QStringLiteral("body-template"),
                                          QStringLiteral("Request body with {{id}}, {{random}}, {{prompt}}, {{max_tokens}}, {{stream}}, "
                                                         "{{model}} (default: the kind's own)."),
                                          QStringLiteral("FILE")};
    const QCommandLineOption prompt{QStringLiteral("prompt"), QStringLiteral("Text for {{prompt}}."), QStringLiteral("TEXT")};
    const QCommandLineOption model{QStringLiteral("model"), QStringLiteral("OpenAI: the model name sent ({{model}}; default knee)."),
                                   QStringLiteral("NAME")};
    const QCommandLineOption maxTokens{QStringLiteral("max-tokens"), QStringLiteral("max_tokens per request (default 16)."), QStringLiteral("N")};
    const QCommandLineOption apiKeyEnv{QStringLiteral("api-key-env"),
                                       QStringLiteral("Environment variable holding the API key (sent as Bearer, to the target's host only)."),
                                       QStringLiteral("NAME")};
    const QCommandLineOption apiKeyKeychain{QStringLiteral("api-key-keychain"), QStringLiteral("The API key from the system keychain."),
                                            QStringLiteral("SERVICE/KEY")};
    const QCommandLineOption timeout{QStringLiteral("timeout-ms"),
                                     QStringLiteral("Longest wait for a response byte (headers, or the next stream chunk); default 60000."),
                                     QStringLiteral("MS")};
    const QCommandLineOption requestTimeout{QStringLiteral("request-timeout-ms"),
                                            QStringLiteral("Longest time for a whole request, connecting included (default 300000): a "
                                                           "response that never ends (an endless body or stream, a trickle) fails as timeout."),
                                            QStringLiteral("MS")};
    const QCommandLineOption connectTimeout{QStringLiteral("connect-timeout-ms"),
                                            QStringLiteral("Longest wait to connect and send a request (default 10000)."), QStringLiteral("MS")};
    const net::DatasetFlags dataset; // --dataset, --synthetic-lengths
    const QCommandLineOption scrape{QStringLiteral("scrape"),
                                    QStringLiteral("Scrape the target's Prometheus /metrics (same host and port) about once a second: "
                                                   "requests running and waiting, KV-cache usage, batch size per level.")};
    const QCommandLineOption metricsUrl{QStringLiteral("metrics-url"), QStringLiteral("Scrape this /metrics instead (implies --scrape)."),
                                        QStringLiteral("URL")};
    const QCommandLineOption metric{QStringLiteral("metric"),
                                    QStringLiteral("Also keep this metric from the scrapes, by its name (repeatable; implies --scrape)."),
                                    QStringLiteral("NAME")};
    const QCommandLineOption maxConnections{QStringLiteral("max-connections"),
                                            QStringLiteral("Most requests in flight at once (default 64; levels above it queue in knee)."),
                                            QStringLiteral("N")};

    const QCommandLineOption loadGenerator{QStringLiteral("load-generator"),
                                           QStringLiteral("knee (default: knee's own client) or locust (Locust's master and --workers local "
                                                          "workers send the load; knee measures each request they report)."),
                                           QStringLiteral("NAME")};
    const QCommandLineOption workers{QStringLiteral("workers"), QStringLiteral("--load-generator locust: local workers (default 1)."),
                                     QStringLiteral("N")};
    const QCommandLineOption locustSpool{QStringLiteral("locust-spool"),
                                         QStringLiteral("--load-generator locust: each worker also appends its records here "
                                                        "(DIR/worker-K.jsonl), for knee import --locust."),
                                         QStringLiteral("DIR")};
    const QCommandLineOption locustWait{QStringLiteral("locust-wait-s"),
                                        QStringLiteral("--load-generator locust: how long the workers have to connect (default 60; "
                                                       "600 with --master-host)."),
                                        QStringLiteral("S")};
    const QCommandLineOption masterHost{QStringLiteral("master-host"),
                                        QStringLiteral("--load-generator locust with workers on other machines: this machine's name or "
                                                       "IPv4 address as they reach it. knee runs the master here, starts no worker, writes "
                                                       "run-worker.sh and a Kubernetes manifest (--locust-files) and waits for --workers."),
                                        QStringLiteral("H")};
    const QCommandLineOption masterPort{QStringLiteral("master-port"),
                                        QStringLiteral("--master-host: the port the workers connect to (default 5557, Locust's)."),
                                        QStringLiteral("P")};
    const QCommandLineOption locustFiles{QStringLiteral("locust-files"),
                                         QStringLiteral("--master-host: where knee writes the locustfile, run-worker.sh and locust-workers.yaml "
                                                        "(default ./knee-locust)."),
                                         QStringLiteral("DIR")};

    std::vector<const QCommandLineOption*> all() const
    {
        return {&target,         &loadGenerator,  &workers, &locustSpool, &locustWait, &masterHost, &masterPort, &locustFiles, &openai,         &stream,  &header,         &bodyTemplate,  &prompt,        &model, &maxTokens,
                &apiKeyEnv,      &apiKeyKeychain, &timeout, &requestTimeout, &connectTimeout, &maxConnections,
                &scrape,         &metricsUrl,     &metric};
    }
    void addTo(QCommandLineParser& parser) const
    {
        for (const QCommandLineOption* o : all())
            parser.addOption(*o);
        dataset.addTo(parser);
    }
    bool anySet(const QCommandLineParser& parser) const
    {
        for (const QCommandLineOption* o : all())
            if (parser.isSet(*o))
                return true;
        return dataset.anySet(parser);
    }

    std::optional<net::HttpTarget> read(const QCommandLineParser& parser, QTextStream& err) const
    {
        net::HttpTarget t;
        t.url = QUrl(parser.value(target));
        t.kind = parser.isSet(openai) ? net::HttpTarget::Kind::OpenAI : net::HttpTarget::Kind::Generic;
        t.stream = parser.isSet(stream);
        for (const QString& h : parser.values(header)) {
            QString error;
            const auto parsed = net::parseHeader(h, error);
            if (!error.isEmpty()) {
                err << "knee sweep: --header: " << error << "\n";
                return std::nullopt;
            }
            t.headers.append(parsed);
        }
        if (parser.isSet(bodyTemplate)) {
            const io::UserFileRead read = io::readUserFile(QFile::encodeName(parser.value(bodyTemplate)).toStdString(), io::kBodyTemplateFile);
            if (!read.ok()) {
                err << "knee sweep: --body-template " << parser.value(bodyTemplate) << ": " << QString::fromStdString(read.error) << "\n";
                return std::nullopt;
            }
            t.bodyTemplate = QByteArray::fromStdString(read.bytes);
        }
        if (parser.isSet(prompt))
            t.prompt = parser.value(prompt);
        if (parser.isSet(model))
            t.model = parser.value(model);
        auto integer = [&](const QCommandLineOption& o, int& into) {
            bool ok = false;
            into = parser.value(o).toInt(&ok);
            if (!ok)
                err << "knee sweep: --" << o.names().first() << " expects a whole number, got '" << parser.value(o) << "'\n";
            return ok;
        };
        if ((parser.isSet(maxTokens) && !integer(maxTokens, t.maxTokens)) || (parser.isSet(timeout) && !integer(timeout, t.responseTimeoutMs))
            || (parser.isSet(connectTimeout) && !integer(connectTimeout, t.connectTimeoutMs))
            || (parser.isSet(requestTimeout) && !integer(requestTimeout, t.requestTimeoutMs))
            || (parser.isSet(maxConnections) && !integer(maxConnections, t.maxConnections)))
            return std::nullopt;
        if (parser.isSet(apiKeyEnv) && parser.isSet(apiKeyKeychain)) {
            err << "knee sweep: give the API key through --api-key-env or --api-key-keychain, not both\n";
            return std::nullopt;
        }
        if (QString e; !dataset.read(parser, t, e)) {
            err << "knee sweep: " << e << "\n";
            return std::nullopt;
        }
        if (parser.isSet(apiKeyEnv))
            t.apiKeySource = QStringLiteral("env:") + parser.value(apiKeyEnv);
        if (parser.isSet(apiKeyKeychain))
            t.apiKeySource = QStringLiteral("keychain:") + parser.value(apiKeyKeychain);
        if (const QString e = t.validate(); !e.isEmpty()) {
            for (const QString& line : e.split(QLatin1Char('\n')))
                err << "knee sweep: " << line << "\n";
            return std::nullopt;
        }
        return t;
    }

    // --scrape, --metrics-url, --metric: the scraper's options (none when not asked for).
    std::optional<net::ScraperOptions> scraper(const QCommandLineParser& parser, const net::HttpTarget& t) const
    {
        if (!parser.isSet(scrape) && !parser.isSet(metricsUrl) && !parser.isSet(metric))
            return std::nullopt;
        return net::scraperFor(t, parser.isSet(metricsUrl) ? QUrl(parser.value(metricsUrl)) : QUrl(), parser.values(metric));
    }
};

} // namespace

// The recommendation's lines, closed loop or rates alike.
static void printRecommendation(QTextStream& out, const Recommendation& rec, const QString& nothingMeasured)
{
    out << "Recommended concurrency_target: " << (rec.concurrencyTarget > 0 ? QString::number(rec.concurrencyTarget) : QStringLiteral("none"))
        << " ("
        << (rec.concurrencyTarget <= 0 && !nothingMeasured.isEmpty() ? QStringLiteral("no level completed a request")
                                                                     : QString::fromStdString(rec.concurrencyTargetRule))
        << ")\n";
    out << "Recommended predict_concurrency: " << rec.predictConcurrency << " (" << QString::fromStdString(rec.predictConcurrencyRule) << ")\n";
    if (rec.replicas)
        out << "min_replicas = " << QString::fromStdString(rec.replicas->minRule) << "; max_replicas = " << QString::fromStdString(rec.replicas->maxRule) << "\n";
    out.flush();
}

// A rate sweep's table and analysis: the rate asked beside the rate sent, what was served, the
// latencies, the requests in flight (Little's law); then the knee, the capacity and the recommendation.
static void printRateSweep(QTextStream& out, const SweepResult& r, const SweepOptions& options, const QString& nothingMeasured)
{
    const bool goodput = options.sloMs > 0 || options.ttftSloMs > 0 || options.itlSloMs > 0;
    out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7").arg("asked/s", 10).arg("sent/s", 10).arg("served/s", 10).arg("p50 ms", 10).arg("p95 ms", 10)
               .arg("p99 ms", 10).arg("in flight", 10);
    if (options.repeats > 1)
        out << QStringLiteral(" %1 %2").arg("p95 95% interval", 19).arg("req/s 95% interval", 21);
    if (goodput)
        out << QStringLiteral(" %1").arg("goodput", 8);
    out << "\n";
    for (const SweepLevel& l : r.levels) {
        out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
                   .arg(l.rateRps, 10, 'g', 5)
                   .arg(l.sentRps, 10, 'f', 1)
                   .arg(l.throughputRps, 10, 'f', 1)
                   .arg(l.latency.p50, 10, 'f', 1)
                   .arg(l.latency.p95, 10, 'f', 1)
                   .arg(l.latency.p99, 10, 'f', 1)
                   .arg(l.inFlightMean, 10, 'f', 2);
        if (options.repeats > 1 && l.repeats)
            out << QStringLiteral(" %1 %2")
                       .arg(QStringLiteral("%1-%2").arg(l.repeats->p95.lo, 0, 'f', 1).arg(l.repeats->p95.hi, 0, 'f', 1), 19)
                       .arg(QStringLiteral("%1-%2").arg(l.repeats->throughput.lo, 0, 'f', 1).arg(l.repeats->throughput.hi, 0, 'f', 1), 21);
        if (goodput)
            out << QStringLiteral(" %1").arg(QStringLiteral("%1 %").arg(100 * l.goodShare(), 0, 'f', 1), 8);
        QStringList notes;
        if (l.failed || l.rejected)
            notes << QStringLiteral("errors");
        if (!l.keptUp(options.tolerance) && l.completed > 0)
            notes << QStringLiteral("not served in full");
        if (l.behind)
            notes << (l.endpoint ? QStringLiteral("client fell behind (raise --max-connections?)") : QStringLiteral("load generator fell behind"));
        if (!l.stable)
            notes << QStringLiteral("did not stabilise");
        out << (notes.isEmpty() ? QString() : QStringLiteral("  ") + notes.join(QStringLiteral(", "))) << "\n";
    }
    if (r.search)
        out << "SLO search: " << QString::fromStdString(r.search->rule)
            << (r.search->stop.empty() ? QString() : QStringLiteral(" (") + QString::fromStdString(r.search->stop) + QStringLiteral(")")) << "\n";
    const Recommendation& rec = r.recommendation;
    if (r.rateAnalysis) {
        const RateAnalysis& a = *r.rateAnalysis;
        if (!a.extendedRates.empty()) {
            QStringList added;
            for (double x : a.extendedRates)
                added << QString::number(x);
            out << "Rates added to find the capacity (every rate was still served): " << added.join(QStringLiteral(", ")) << "\n";
        }
        out << "Knee (p95): " << QString::fromStdString(a.kneeNote) << "\n";
        out << "Capacity: " << QString::fromStdString(a.capacityNote) << "\n";
    }
    out << "Recommended rate per replica: "
        << (rec.ratePerReplicaRps > 0 ? QString::fromStdString(formatRate(rec.ratePerReplicaRps)) : QStringLiteral("none")) << "\n";
    printRecommendation(out, rec, nothingMeasured);
}

int runSweep(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::Scenario, QStringLiteral(
        "Run Baseten's benchmarking process on one replica: closed-loop levels 1, 2, 4, 8, ..., each warmed up and measured "
        "until consecutive windows agree; find the knee and recommend settings."));
    const QCommandLineOption virtualTime(QStringLiteral("virtual"),
                                         QStringLiteral("Run in virtual time (seconds of wall time). Without it the sweep runs live, in real "
                                                        "time: warm-up plus windows per level, minutes in all."));
    const QCommandLineOption warmup(QStringLiteral("warmup-s"), QStringLiteral("Warm-up per level (default 10)."), QStringLiteral("S"));
    const QCommandLineOption window(QStringLiteral("window-s"), QStringLiteral("Shortest measurement window (default 10)."), QStringLiteral("S"));
    const QCommandLineOption cap(QStringLiteral("cap-s"), QStringLiteral("Most measuring per level, live and endpoint sweeps (default 300; virtual sweeps: 30 windows of >= 200 responses)."),
                                  QStringLiteral("S"));
    const QCommandLineOption levelsOpt(QStringLiteral("levels"), QStringLiteral("Concurrency levels (default 1,2,4,...,128)."), QStringLiteral("LIST"));
    const QCommandLineOption slo(QStringLiteral("slo-ms"), QStringLiteral("Latency SLO on p95, ms."), QStringLiteral("MS"));
    const QCommandLineOption ttftSlo(QStringLiteral("ttft-slo-ms"), QStringLiteral("Streaming models: SLO on p95 time to first token, ms."),
                                     QStringLiteral("MS"));
    const QCommandLineOption itlSlo(QStringLiteral("itl-slo-ms"), QStringLiteral("Streaming models: SLO on p95 inter-token latency, ms."),
                                    QStringLiteral("MS"));
    const QCommandLineOption saturationTolerance(
        QStringLiteral("saturation-tolerance"),
        QStringLiteral("Saturation: the smallest level within this many percent of peak throughput (default 5)."), QStringLiteral("PCT"));
    const QCommandLineOption baseline(QStringLiteral("baseline-rps"), QStringLiteral("Baseline traffic, for min replicas."), QStringLiteral("B"));
    const QCommandLineOption peak(QStringLiteral("peak-rps"), QStringLiteral("Peak traffic, for max replicas."), QStringLiteral("P"));
    const QCommandLineOption outOpt(QStringLiteral("out"), QStringLiteral("Write the session (JSON) here."), QStringLiteral("SESSION"));
    const QCommandLineOption exportOpt(QStringLiteral("export"),
                                       QStringLiteral("Write runtime.predict_concurrency into this Truss config.yaml (created if missing)."),
                                       QStringLiteral("CONFIG"));
    const QCommandLineOption exportAutoscaling(QStringLiteral("export-autoscaling"),
                                               QStringLiteral("Write Baseten's autoscaling settings (API JSON) here."), QStringLiteral("FILE"));
    const QCommandLineOption exportKnative(QStringLiteral("export-knative"), QStringLiteral("Write a Knative Service manifest here."),
                                           QStringLiteral("FILE"));
    const QCommandLineOption csv(QStringLiteral("csv"), QStringLiteral("Write the sweep points as CSV here."), QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    const QCommandLineOption fitOpt(QStringLiteral("fit"), QStringLiteral("After the sweep, fit a twin of the endpoint and write it here (knee fit)."),
                                    QStringLiteral("TWIN.yaml"));
    const QCommandLineOption grid(QStringLiteral("grid"),
                                  QStringLiteral("Also measure a predict_concurrency x concurrency target grid: these predict_concurrency "
                                                 "values against the levels as targets; each predict_concurrency's own target (the sweep's rule on its row), "
                                                 "and the best of those cells, set the concurrency target and predict_concurrency."),
                                  QStringLiteral("LIST"));
    const QCommandLineOption repeatsOpt(QStringLiteral("repeats"),
                                        QStringLiteral("Measure each level N times (1-20; in virtual time each with its own seed): merged "
                                                       "figures, a 95 % interval over the repeats on each, and a stability verdict."),
                                        QStringLiteral("N"));
    const QCommandLineOption startsOpt(QStringLiteral("starts"),
                                       QStringLiteral("Measure each closed-loop level of 2 users or more from N starts (1-3: all users at once; two "
                                                      "groups half a round trip apart; one by one), and report the slowest when they disagree: "
                                                      "dynamic batching can settle in more than one steady state. Default: 3 for virtual sweeps "
                                                      "with dynamic batching, else 1."),
                                       QStringLiteral("N"));
    const QCommandLineOption searchOpt(QStringLiteral("search"),
                                       QStringLiteral("slo: find the largest concurrency meeting every SLO (--slo-ms, --ttft-slo-ms, "
                                                      "--itl-slo-ms): the levels stop at the first that misses, then bisection."),
                                       QStringLiteral("slo"));
    const QCommandLineOption ratesOpt(QStringLiteral("rates"),
                                      QStringLiteral("An open-loop rate sweep instead of closed-loop levels: these request rates (req/s), "
                                                     "each a level; latency counts from each request's scheduled time."),
                                      QStringLiteral("LIST"));
    const QCommandLineOption arrivalOpt(QStringLiteral("arrival"),
                                        QStringLiteral("Rate sweeps: poisson (default) or constant (evenly spaced) arrivals."),
                                        QStringLiteral("KIND"));
    const QCommandLineOption gpuTelemetry = gpuTelemetryOption(
        QStringLiteral("live sweeps: sample every GPU through NVML this often; each level keeps its GPUs' figures"), 500);
    parser.addOptions({ratesOpt, arrivalOpt, gpuTelemetry, grid, repeatsOpt, startsOpt, searchOpt, virtualTime, warmup, window, cap, levelsOpt, slo, ttftSlo, itlSlo, saturationTolerance, baseline, peak, outOpt, exportOpt, exportAutoscaling, exportKnative, csv, json, fitOpt});
    const EndpointFlags endpointFlags;
    endpointFlags.addTo(parser);
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const bool endpoint = parser.isSet(endpointFlags.target);
    if (endpoint ? positional.size() > 1 : positional.size() != 1) {
        err << (endpoint ? "knee sweep: with --target, at most one scenario file (for its name and predict_concurrency)\n"
                         : "knee sweep: expected exactly one scenario file (or --target URL to sweep an endpoint)\n");
        return kBadInput;
    }
    if (endpoint && (parser.isSet(grid) || parser.isSet(virtualTime))) {
        err << "knee sweep: --grid and --virtual measure the built-in engine; an endpoint (--target) is measured live\n";
        return kBadInput;
    }
    if (!endpoint && endpointFlags.anySet(parser)) {
        err << "knee sweep: --openai, --stream, --header, --body-template, --api-key-env, --timeout-ms and the like need --target URL\n";
        return kBadInput;
    }
    SweepOptions options;
    auto number = [&](const QCommandLineOption& o, double lo, double hi, double& into) {
        QString error;
        const auto v = numberOption(parser, o, lo, hi, error);
        if (!v)
            err << "knee sweep: " << error << "\n";
        into = v.value_or(into);
        return v.has_value();
    };
    auto percent = [&](const QCommandLineOption& o, double lo, double hi, double& share) { // a flag in percent, kept as a share
        double value = 0;
        if (!number(o, lo, hi, value))
            return false;
        share = value / 100;
        return true;
    };
    if ((parser.isSet(slo) && !number(slo, 1e-6, 1e9, options.sloMs)) || (parser.isSet(ttftSlo) && !number(ttftSlo, 1e-6, 1e9, options.ttftSloMs))
        || (parser.isSet(itlSlo) && !number(itlSlo, 1e-6, 1e9, options.itlSloMs)) || (parser.isSet(baseline) && !number(baseline, 0, 1e7, options.baselineRps))
        || (parser.isSet(peak) && !number(peak, 0, 1e7, options.peakRps))
        || (parser.isSet(warmup) && !number(warmup, 0, 3600, options.warmupS))
        || (parser.isSet(window) && !number(window, 0.01, 3600, options.windowS))
        || (parser.isSet(cap) && !number(cap, 0.01, 86400, options.capS))
        || (parser.isSet(saturationTolerance) && !percent(saturationTolerance, 0.1, 50, options.saturationTolerance)))
        return kBadInput;
    if (parser.isSet(gpuTelemetry) && (parser.isSet(virtualTime) || endpoint)) {
        err << "knee sweep: --gpu-telemetry-ms samples the GPUs of a live sweep of the built-in engine\n";
        return kBadInput;
    }
    const std::optional<int> gpuTelemetryMs = gpuTelemetryMsOrReport(parser, gpuTelemetry, 500, "knee sweep");
    if (!gpuTelemetryMs)
        return kBadInput;
    // A whole number from 1 to `hi` (--repeats, --starts).
    auto wholeNumber = [&](const QCommandLineOption& o, int hi, int& into) {
        double v = 0;
        if (!number(o, 1, hi, v))
            return false;
        if (v != std::floor(v)) {
            err << "knee sweep: --" << o.names().first() << " expects a whole number from 1 to " << hi << "\n";
            return false;
        }
        into = int(v);
        return true;
    };
    if (parser.isSet(repeatsOpt) && !wholeNumber(repeatsOpt, kMaxRepeats, options.repeats))
        return kBadInput;
    if (parser.isSet(startsOpt)) {
        if (!wholeNumber(startsOpt, kMaxStarts, options.starts))
            return kBadInput;
        if (endpoint) {
            err << "knee sweep: --starts acts on the built-in engine's levels; an endpoint's clients start as they do\n";
            return kBadInput;
        }
        // Starts are a closed loop's, and a level measured once (sweep.h, SweepOptions::starts).
        if (options.repeats > 1 || parser.isSet(ratesOpt)) {
            err << "knee sweep: --starts measures closed-loop levels once each from several starts: run it without "
                << (parser.isSet(ratesOpt) ? "--rates" : "--repeats") << "\n";
            return kBadInput;
        }
    }
    if (parser.isSet(searchOpt)) {
        if (parser.value(searchOpt) != QLatin1String("slo")) {
            err << "knee sweep: --search knows 'slo' (the largest concurrency meeting the SLOs), not '" << parser.value(searchOpt) << "'\n";
            return kBadInput;
        }
        if (!parser.isSet(slo) && !parser.isSet(ttftSlo) && !parser.isSet(itlSlo)) {
            err << "knee sweep: --search slo needs an SLO: --slo-ms, --ttft-slo-ms or --itl-slo-ms\n";
            return kBadInput;
        }
        options.searchSlo = true;
    }
    if (parser.isSet(baseline) && parser.isSet(peak) && options.peakRps < options.baselineRps) { // as `knee plan` refuses it
        err << "knee sweep: the peak rate (" << options.peakRps << " req/s) is below the baseline (" << options.baselineRps << " req/s)\n";
        return kBadInput;
    }
    if (parser.isSet(levelsOpt)) {
        QString error;
        const auto levels = wholeNumbersOption(parser, levelsOpt, 1, 4096, error);
        if (!levels) {
            err << "knee sweep: " << error << "\n";
            return kBadInput;
        }
        options.levels = *levels;
        if (options.levels.size() > 32) {
            err << "knee sweep: at most 32 levels\n";
            return kBadInput;
        }
    }

    if (parser.isSet(ratesOpt)) {
        if (parser.isSet(levelsOpt) || parser.isSet(grid) || parser.isSet(fitOpt)) {
            err << "knee sweep: --rates sweeps request rates (open loop); --levels, --grid and --fit work on closed-loop levels of users\n";
            return kBadInput;
        }
        QString error;
        const auto rates = positiveNumbersOption(parser, ratesOpt, kMinSweepRateRps, limits::kMaxRateRps, error);
        if (!rates) {
            err << "knee sweep: " << error << "\n";
            return kBadInput;
        }
        if (rates->size() > 32) {
            err << "knee sweep: at most 32 rates\n";
            return kBadInput;
        }
        options.rates = *rates;
    }
    if (parser.isSet(arrivalOpt)) {
        const QString kind = parser.value(arrivalOpt);
        if (!parser.isSet(ratesOpt) || (kind != QLatin1String("poisson") && kind != QLatin1String("constant"))) {
            err << "knee sweep: --arrival is poisson or constant, for a rate sweep (--rates)\n";
            return kBadInput;
        }
        options.constantArrivals = kind == QLatin1String("constant");
    }

    std::optional<Scenario> read;
    std::string scenarioText; // kept verbatim in the session
    if (!positional.isEmpty()) {
        read = readScenarioOrReport(positional.first(), &scenarioText);
        if (!read)
            return kBadInput;
    } else { // an endpoint without a scenario: the defaults feed the analysis (predict_concurrency 1)
        read = net::endpointScenario(parser.value(endpointFlags.target));
    }
    const Scenario& scenario = *read;
    std::optional<net::HttpTarget> target;
    if (endpoint && !(target = endpointFlags.read(parser, err)))
        return kBadInput;
    // --load-generator locust (issue 18): Locust's master and local workers send the load.
    std::optional<net::LocustOptions> locust;
    if (parser.isSet(endpointFlags.loadGenerator) && parser.value(endpointFlags.loadGenerator) != QLatin1String("knee")) {
        if (parser.value(endpointFlags.loadGenerator) != QLatin1String("locust")) {
            err << "knee sweep: --load-generator is knee or locust, not '" << parser.value(endpointFlags.loadGenerator) << "'\n";
            return kBadInput;
        }
        locust.emplace();
        if (const QString bin = qEnvironmentVariable("KNEE_LOCUST_BIN"); !bin.isEmpty()) // tests, or another install
            locust->locust = bin;
        // A whole-number flag in [lo, hi] into `out` when set; false (said on stderr) when it is not one.
        auto wholeFlag = [&](const QCommandLineOption& flag, int lo, int hi, const char* what, int& out) {
            if (!parser.isSet(flag))
                return true;
            bool ok = false;
            const int v = parser.value(flag).toInt(&ok);
            if (!ok || v < lo || v > hi) {
                err << "knee sweep: --" << flag.names().first() << " expects " << what << " from " << lo << " to " << hi << ", got '"
                    << parser.value(flag) << "'\n";
                return false;
            }
            out = v;
            return true;
        };
        if (!wholeFlag(endpointFlags.workers, 1, 256, "a whole number", locust->workers)
            || !wholeFlag(endpointFlags.locustWait, 1, 3600, "whole seconds", locust->connectWaitS))
            return kBadInput;
        if (parser.isSet(endpointFlags.masterHost)) {
            QString error;
            locust->masterHost = parser.value(endpointFlags.masterHost);
            locust->masterBind = net::masterBindAddress(locust->masterHost, error);
            if (locust->masterBind.isEmpty()) {
                err << "knee sweep: " << error << "\n";
                return kBadInput;
            }
            int port = locust->masterPort;
            if (!wholeFlag(endpointFlags.masterPort, 1, 65535, "a port", port))
                return kBadInput;
            locust->masterPort = quint16(port);
            locust->filesDir = parser.isSet(endpointFlags.locustFiles) ? parser.value(endpointFlags.locustFiles) : QStringLiteral("knee-locust");
            if (QFileInfo(locust->filesDir).exists() && !QFileInfo(locust->filesDir).isDir()) {
                err << "knee sweep: --locust-files " << locust->filesDir << " is not a directory\n";
                return kBadInput;
            }
            if (!parser.isSet(endpointFlags.locustWait))
                locust->connectWaitS = 600; // people start the workers by hand
            // The workers keep their own records where they run (run-worker.sh says how): no spool here.
            if (parser.isSet(endpointFlags.locustSpool)) {
                err << "knee sweep: --locust-spool is for local workers; workers elsewhere keep their records with KNEE_LOCUST_SPOOL=FILE "
                       "(run-worker.sh says how)\n";
                return kBadInput;
            }
            locust->announce = [](const QString& text) {
                QTextStream e(stderr);
                e << text;
                e.flush();
            };
        } else if (parser.isSet(endpointFlags.masterPort) || parser.isSet(endpointFlags.locustFiles)) {
            err << "knee sweep: --master-port and --locust-files are for --master-host\n";
            return kBadInput;
        }
        if (parser.isSet(endpointFlags.locustSpool)) {
            // Checked here, created once everything else is (nothing is left behind for a refused sweep). A spool
            // that already holds a sweep's records is refused: the workers append, and an import would mix sweeps.
            locust->spoolDir = parser.value(endpointFlags.locustSpool);
            if (const QString why = net::checkLocustSpool(locust->spoolDir); !why.isEmpty()) {
                err << "knee sweep: --locust-spool " << why << "\n";
                return kBadInput;
            }
        }
        if (parser.isSet(endpointFlags.maxConnections)) {
            err << "knee sweep: --max-connections limits knee's own client; with locust, each user holds one connection\n";
            return kBadInput;
        }
        if (!QFileInfo(locust->locust).isExecutable()) {
            err << "knee sweep: --load-generator locust needs " << locust->locust << " (install python3-locust)\n";
            return kBadInput;
        }
    } else if (parser.isSet(endpointFlags.workers) || parser.isSet(endpointFlags.locustSpool) || parser.isSet(endpointFlags.locustWait)
               || parser.isSet(endpointFlags.masterHost) || parser.isSet(endpointFlags.masterPort) || parser.isSet(endpointFlags.locustFiles)) {
        err << "knee sweep: --workers, --locust-spool, --locust-wait-s, --master-host, --master-port and --locust-files are for "
               "--load-generator locust\n";
        return kBadInput;
    }
    std::optional<GridOptions> gridOptions;
    if (parser.isSet(grid)) {
        QString error;
        const auto pcs = wholeNumbersOption(parser, grid, 1, 4096, error);
        if (!pcs) {
            err << "knee sweep: " << error << "\n";
            return kBadInput;
        }
        if (options.repeats > 1 || options.searchSlo) { // the grid measures each cell once, at the listed targets
            err << "knee sweep: --grid measures each cell once at the listed levels: run --repeats and --search without it\n";
            return kBadInput;
        }
        gridOptions.emplace();
        gridOptions->predictConcurrency = *pcs;
        gridOptions->targets = options.levels;
        gridOptions->level = options;
    }
    if (parser.isSet(fitOpt) && !checkOutputFile(parser.value(fitOpt)).isEmpty()) { // checked before minutes of measuring
        err << "knee sweep: --fit " << parser.value(fitOpt) << ": " << checkOutputFile(parser.value(fitOpt)) << "\n";
        return kBadInput;
    }
    const SweepOutputs outputs{parser.value(outOpt), parser.value(csv), parser.value(exportOpt), parser.value(exportAutoscaling),
                               parser.value(exportKnative)};
    if (const QStringList problems = checkSweepOutputs(outputs); !problems.isEmpty()) {
        for (const QString& p : problems)
            err << "knee sweep: " << p << "\n";
        err << "knee sweep: nothing was run\n";
        return kBadInput;
    }
    SweepRequest request{scenario, options, !parser.isSet(virtualTime), target, {}, gridOptions, [] { return &sharedPredictBackend(); }, {}, nullptr, {}};
    if (target) {
        const net::ApiKey key = net::resolveApiKey(target->apiKeySource);
        if (!key.error.isEmpty()) {
            err << "knee sweep: " << key.error << "\n";
            return kBadInput;
        }
        request.apiKey = key.key;
        request.scrape = endpointFlags.scraper(parser, *target);
        request.locust = locust;
    }
    if (const QString why = checkSweepRequest(request); !why.isEmpty()) {
        err << "knee sweep: " << why << "\n";
        return kBadInput;
    }
    if (request.locust && !request.locust->spoolDir.isEmpty() && !QDir().mkpath(request.locust->spoolDir)) {
        err << "knee sweep: --locust-spool " << request.locust->spoolDir << ": cannot create the directory\n";
        return kBadInput;
    }
    // A live sweep of the built-in engine: the GPUs as NVML sees them, per level (none without a driver).
    const std::unique_ptr<telemetry::GpuSampler> gpus = request.live && !target ? startGpuSampler(*gpuTelemetryMs) : nullptr;
    request.gpus = gpus.get();
    const SweepRun run = runSweepRequest(request);
    if (!run.error.isEmpty()) { // Locust's processes failed (they are stopped and reaped by now)
        err << "knee sweep: " << run.error << "; nothing written\n";
        return kFailure;
    }
    const SweepResult& r = run.sweep.result;
    // Not one request completed in any level: nothing to recommend from. Said plainly, with its own exit status.
    const QString nothingMeasured = net::nothingMeasured(r);
    QJsonObject result = sweepRecord(run.sweep); // the shape a session keeps
    result.insert("nothing_measured", !nothingMeasured.isEmpty());
    if (run.grid)
        result.insert("grid", gridRecord(*run.grid));

    // Every output asked for; one that cannot be written is named and the others still go.
    Session session;
    if (!outputs.session.isEmpty()) {
        if (!positional.isEmpty()) {
            session.scenarioYaml = QString::fromStdString(scenarioText);
            session.scenarioSource = positional.first();
        } else {
            session.scenarioYaml = QString::fromStdString(writeScenarioYaml(scenario));
            session.scenarioSource = target->url.toString(QUrl::RemoveUserInfo);
        }
        if (target) // where the key came from, for whoever reopens it; never the key
            session.notes = QStringLiteral("Endpoint sweep: %1 (%2%3)%4")
                                .arg(target->url.toString(QUrl::RemoveUserInfo), QString::fromLatin1(net::HttpTarget::kindName(target->kind)),
                                     target->stream ? QStringLiteral(", streaming") : QString(),
                                     target->apiKeySource.isEmpty() ? QString() : QStringLiteral("; API key from ") + target->apiKeySource);
        session.sweeps.push_back(run.sweep);
        if (run.grid) {
            session.grids.push_back(*run.grid);
            session.grids.back().sweep = 0;
        }
    }
    QJsonObject exports;
    int status = writeSweepOutputs(outputs, r, scenario, session, exports, err);
    const Recommendation& rec = r.recommendation;
    result.insert("exports", exports);
    if (!nothingMeasured.isEmpty()) {
        err << "knee sweep: " << nothingMeasured << "\n";
        status = kNothingMeasured;
    }

    // --fit: a twin of what was measured (knee fit), after every other output; its report goes into the
    // JSON, or is printed after the sweep's; a refused fit exits 4 when all else went right.
    auto fitTwinAfterSweep = [&](FitOutput output) {
        if (!parser.isSet(fitOpt) || !nothingMeasured.isEmpty())
            return;
        QJsonObject report;
        const int fitStatus = fitAndWrite(r, twinFitOptions(r, parser.value(outOpt), QDateTime::currentDateTimeUtc()), parser.value(fitOpt), output, report);
        result.insert("twin", report);
        status = status == kOk ? fitStatus : status;
    };
    if (parser.isSet(json)) {
        fitTwinAfterSweep(FitOutput::Quiet);
        out << QJsonDocument(result).toJson(QJsonDocument::Compact) << "\n";
        return status;
    }
    const QString loop = options.rateSweep()
        ? QStringLiteral("open loop, %1 arrivals").arg(options.constantArrivals ? QStringLiteral("evenly spaced") : QStringLiteral("Poisson"))
        : QStringLiteral("closed loop");
    if (target)
        out << "Sweep of the endpoint " << target->url.toString(QUrl::RemoveUserInfo) << " (" << loop << ", wall time):\n";
    else
        out << twinText(scenario) << "Sweep of " << QString::fromStdString(scenario.name) << " (" << QString::fromStdString(r.mode)
            << " time, one replica, " << loop << "):\n";
    if (options.rateSweep()) {
        printRateSweep(out, r, options, nothingMeasured);
        return status;
    }
    const bool goodput = options.sloMs > 0 || options.ttftSloMs > 0 || options.itlSloMs > 0;
    const bool repeated = options.repeats > 1;
    out << QStringLiteral("%1 %2 %3 %4 %5").arg("users", 6).arg("p50 ms", 10).arg("p95 ms", 10).arg("p99 ms", 10).arg("req/s", 10);
    if (repeated)
        out << QStringLiteral(" %1 %2").arg("p95 95% interval", 19).arg("req/s 95% interval", 21);
    if (goodput)
        out << QStringLiteral(" %1").arg("goodput", 8);
    out << "\n";
    for (const SweepLevel& l : r.levels) {
        QString failures; // by kind, for endpoints: "timeout=3 http_5xx=2"
        for (const auto& [kind, count] : l.failuresByKind)
            if (count > 0) // an endpoint's record lists every kind; the text names those that happened
                failures += QStringLiteral("%1=%2 ").arg(QString::fromStdString(kind)).arg(count);
        out << QStringLiteral("%1 %2 %3 %4 %5")
                   .arg(l.concurrency, 6)
                   .arg(l.latency.p50, 10, 'f', 1)
                   .arg(l.latency.p95, 10, 'f', 1)
                   .arg(l.latency.p99, 10, 'f', 1)
                   .arg(l.throughputRps, 10, 'f', 1);
        if (repeated && l.repeats)
            out << QStringLiteral(" %1 %2")
                       .arg(QStringLiteral("%1-%2").arg(l.repeats->p95.lo, 0, 'f', 1).arg(l.repeats->p95.hi, 0, 'f', 1), 19)
                       .arg(QStringLiteral("%1-%2").arg(l.repeats->throughput.lo, 0, 'f', 1).arg(l.repeats->throughput.hi, 0, 'f', 1), 21);
        if (goodput)
            out << QStringLiteral(" %1").arg(QStringLiteral("%1 %").arg(100 * l.goodShare(), 0, 'f', 1), 8);
        const QString notes = ((l.failed || l.rejected ? QStringLiteral("errors ") : QString()) + failures
                               + (l.stable ? QString() : QStringLiteral("did not stabilise "))
                               + (l.repeats && l.repeats->verdict == "noisy" ? QStringLiteral("noisy (repeats disagree) ") : QString())
                               + (l.states && l.states->several ? severalStatesNote(*l.states) + QStringLiteral(" ") : QString())
                               + (l.generatorBehind() ? QStringLiteral("load generator fell behind (%1)").arg(QString::fromStdString(l.generator->why)) : QString()))
                                  .trimmed();
        out << (notes.isEmpty() ? QString() : QStringLiteral("  ") + notes) << "\n";
    }
    for (const SweepLevel& l : r.levels) // the GPUs during a live level (NVML)
        for (const GpuLevelFigures& g : l.gpus) {
            auto figure = [](const std::optional<double>& v, double scale, int decimals) {
                return v ? QString::number(*v * scale, 'f', decimals) : QStringLiteral("n/a");
            };
            out << QStringLiteral("GPU %1 at %2 users: utilisation %3 % mean (max %4), power %5 W mean, memory used %6 GiB max, SM clock %7 MHz; %8 samples\n")
                       .arg(g.index)
                       .arg(l.concurrency)
                       .arg(figure(g.utilizationMeanPct, 1, 0), figure(g.utilizationMaxPct, 1, 0), figure(g.powerMeanW, 1, 0),
                            figure(g.memoryUsedMaxBytes, 1.0 / double(1 << 30), 2), figure(g.smClockMeanMHz, 1, 0))
                       .arg(g.samples);
        }
    if (gpus && !gpus->available())
        out << "GPU telemetry: " << QString::fromStdString(gpus->notice()) << "\n";
    for (const SweepLevel& l : r.levels) { // what the server said of itself (--scrape)
        if (!l.server)
            continue;
        QStringList said;
        for (const auto& [name, m] : l.server->metrics)
            said << QStringLiteral("%1 %2 (%3)").arg(QString::fromStdString(name)).arg(m.mean, 0, 'g', 4).arg(QString::fromStdString(m.source));
        out << QStringLiteral("server at %1 users: ").arg(l.concurrency)
            << (said.isEmpty() ? QStringLiteral("no metric it knows") : said.join(QStringLiteral(", ")))
            << QStringLiteral("; %1 scrapes").arg(l.server->scrapes)
            << (l.server->failures ? QStringLiteral(", %1 failed (%2)").arg(l.server->failures).arg(QString::fromStdString(l.server->lastError))
                                   : QString())
            << "\n";
    }
    if (r.search)
        out << "SLO search: " << QString::fromStdString(r.search->rule)
            << (r.search->stop.empty() ? QString() : QStringLiteral(" (") + QString::fromStdString(r.search->stop) + QStringLiteral(")")) << "\n";
    const KneeAnalysis& a = r.analysis;
    if (!r.extendedLevels.empty()) {
        QStringList added;
        for (int l : r.extendedLevels)
            added << QString::number(l);
        out << "Levels added to reach saturation (throughput still rose): " << added.join(QStringLiteral(", ")) << "\n";
    }
    out << "Knee (p95): " << QString::fromStdString(a.kneeNote) << "\n";
    out << "Throughput: ";
    if (a.saturation)
        out << "saturates at " << *a.saturation << " (within " << 100 * a.saturationTolerance << " % of the peak "
            << QString::fromStdString(formatThroughput(a.peakThroughputRps)) << " at " << a.peakThroughput.value_or(0) << ")";
    else if (a.stillRising)
        out << "not saturated: still rising at the largest usable level";
    else
        out << "no usable level";
    out << "; knee: " << QString::fromStdString(a.throughputKneeNote) << "\n";
    printRecommendation(out, rec, nothingMeasured);
    fitTwinAfterSweep(FitOutput::Text);
    return status;
}

} // namespace knee::cli
