// `knee-bench-fidelity refit`: a stored calibration with a tail (ServiceTable::tailMs), its live engine's
// cost at each k fitted again as `knee calibrate` fits it (fitSharedOverhead, on the queue runs' live rates
// that the calibration's JSON kept), so that a what-if on a tail keeps the closed loops' measured rates:
//
//   knee-bench-fidelity refit --tables DIR --out DIR2 --tail-ms auto|device|MS [--profiles medium] [--call-idle-trace CSV]
//                             [--variation-by-k on]
//
// --variation-by-k on: the variation of calls that start beside others by k (ServiceTable::variationShared), from the
// calibration's host samples (host_ms_samples) as calibrate now sets it. For a calibration made before it did.
//
// `device`: no fixed tail; the calibration's device times by k and batch (its JSON's device_ms, CUDA events) go
// into the table (ServiceTable::deviceMs): each call's device work shares at the device's own pace. calibrate
// keeps them in its JSON only (docs/DESIGN.md "The device" says why); this is their what-if. `auto` or a time
// replaces any device times the table had with that tail.
//
// --device-axis on-device (with --tail-ms device): calibrate's point at k callers held fewer than k calls on the
// device where the host staggered them (its JSON's device_in_flight, n(b, k)); the device times are read again on
// that axis: D(b, k) for the table's k is D at n = k, linear between the measured (n, D) points and, beyond the last,
// the device saturated there (D_last · k / n_last), as the table reads beyond its last row.
//
// --call-idle-trace: one window's trace of `live --trace` at predict_concurrency 1 (a Poisson window: calls after
// idle gaps): the call curve set from it as calibrate sets it from its open-loop run (callIdleBins,
// setCallIdleCurve, at the calibration's queue cycle), before the fits. For a calibration made before calibrate
// measured the curve itself.
//
// `auto`: the calibration's host time minus its device time (CUDA events) for one call of batch 1 alone, the
// part of a call that the device's clock does not see. Why a refit: a tail lets calls that overlap only there
// run unslowed, so with the old overheads a virtual queue of k calls completes more than the live one did.
#include "fidelity.h"

#include "io/scenario_reader.h"
#include "live/calibration_run.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace knee;

namespace fidelity {

namespace {
// --device-axis on-device: grid[j][b] (D at the table's k_j callers) re-read at n = k_j on the axis of the calls that
// were on the device, inFlight[j][b] (a running maximum: the axis rises). False where a count is missing or not > 0.
bool onDeviceAxis(const QJsonArray& inFlight, const ServiceTable& t, std::vector<std::vector<double>>& grid)
{
    if (std::size_t(inFlight.size()) != grid.size())
        return false;
    std::vector<std::vector<double>> n(grid.size());
    for (std::size_t j = 0; j < grid.size(); ++j) {
        for (const QJsonValue& v : inFlight.at(qsizetype(j)).toArray())
            n[j].push_back(v.toDouble());
        if (n[j].size() != t.batch.size())
            return false;
    }
    const std::vector<std::vector<double>> measured = grid;
    for (std::size_t b = 0; b < t.batch.size(); ++b) {
        for (std::size_t j = 0; j < grid.size(); ++j) {
            if (!(n[j][b] > 0))
                return false;
            // A plateau measured with noise (3.97 then 3.90 on the device) stays a plateau: the axis must rise.
            n[j][b] = std::max(n[j][b], j > 0 ? n[j - 1][b] : 1.0);
        }
        for (std::size_t j = 1; j < grid.size(); ++j) { // k = 1 stays: one call is alone on the device
            const double k = t.concurrency[j - 1];
            std::size_t i = 1;
            while (i + 1 < grid.size() && n[i][b] < k)
                ++i;
            if (k >= n.back()[b])
                grid[j][b] = measured.back()[b] * k / n.back()[b];
            else {
                const double n0 = n[i - 1][b], n1 = n[i][b];
                grid[j][b] = n1 > n0 ? measured[i - 1][b] + (measured[i][b] - measured[i - 1][b]) * (k - n0) / (n1 - n0) : measured[i][b];
            }
        }
    }
    return true;
}
} // namespace

int runRefit(const Options& o)
{
    if (o.tablesDir.isEmpty() || o.out.isEmpty() || o.tailMs.isEmpty()) {
        std::fprintf(stderr, "knee-bench-fidelity: refit needs --tables, --out and --tail-ms auto|device|MS\n");
        return 2;
    }
    if (!QDir().mkpath(o.out)) {
        std::fprintf(stderr, "refit: cannot make %s\n", qPrintable(o.out));
        return 2;
    }
    if (o.deviceOnDeviceAxis && o.tailMs != "device") {
        std::fprintf(stderr, "refit: --device-axis on-device reads the device times again: it needs --tail-ms device\n");
        return 2;
    }
    if (!o.callIdleTrace.isEmpty() && o.profiles.size() != 1) { // one window's calls are one profile's
        std::fprintf(stderr, "refit: --call-idle-trace takes one profile (--profiles NAME)\n");
        return 2;
    }
    int refitted = 0;
    for (const QString& profile : o.profiles) {
        QFile yamlFile(o.tablesDir + "/" + profile + ".yaml"), jsonFile(o.tablesDir + "/" + profile + ".json");
        if (!yamlFile.open(QIODevice::ReadOnly))
            continue;
        if (!jsonFile.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "refit: %s has no %s (the live queue rates)\n", qPrintable(yamlFile.fileName()), qPrintable(jsonFile.fileName()));
            return 2;
        }
        // The table as a scenario reads it (indented under model:).
        std::string model;
        for (const QByteArray& line : yamlFile.readAll().split('\n'))
            if (!line.startsWith('#') && !line.trimmed().isEmpty())
                model += "  " + line.toStdString() + "\n";
        const ScenarioReadResult parsed = readScenarioText("name: refit\ndeployment: {replicas: {min: 1, max: 1}, concurrency_target: 1}\nmodel:\n  predict: 1\n" + model
                                                               + "workload: {arrival: {kind: closed, users: 1}, duration_s: 1}\n",
                                                           profile.toStdString());
        if (!parsed.ok()) {
            for (const ScenarioError& e : parsed.errors)
                std::fprintf(stderr, "refit: %s: %s\n", qPrintable(yamlFile.fileName()), e.toString().c_str());
            return 2;
        }
        ServiceTable t = parsed.scenario->model.predictTable;
        QJsonParseError parseError;
        const QJsonObject cal = QJsonDocument::fromJson(jsonFile.readAll(), &parseError).object();
        if (parseError.error != QJsonParseError::NoError || !cal["live_queue"].isArray()) {
            std::fprintf(stderr, "refit: %s is not a calibration with its live queue runs (knee calibrate --json)\n",
                         qPrintable(jsonFile.fileName()));
            return 2;
        }
        if (!t.hasConcurrency() || t.overheadSharedMs.size() != t.concurrency.size()) {
            std::fprintf(stderr, "refit: %s has no live engine's cost by calls in flight to fit again\n", qPrintable(yamlFile.fileName()));
            return 2;
        }
        double tail = 0;
        if (o.tailMs != "device") { // a tail says what is off the device instead
            t.deviceMs.clear();
            t.deviceMsShared.clear();
        }
        if (o.tailMs == "device") {
            // The calibration's device times by k and batch (CUDA events), in the table's shape.
            const QJsonArray rows = cal["device_ms"].toArray();
            std::vector<std::vector<double>> grid;
            for (const QJsonValue& row : rows) {
                grid.emplace_back();
                for (const QJsonValue& v : row.toArray())
                    grid.back().push_back(std::round(v.toDouble() * 1e6) / 1e6); // CUDA events are floats: 1 ns is their grain
            }
            const bool shaped = grid.size() == t.concurrency.size() + 1
                && std::all_of(grid.begin(), grid.end(), [&](const std::vector<double>& r) {
                       return r.size() == t.batch.size() && std::all_of(r.begin(), r.end(), [](double v) { return v > 0; });
                   });
            if (!shaped) {
                std::fprintf(stderr, "refit: %s has no device time for every point of the table\n", qPrintable(jsonFile.fileName()));
                return 2;
            }
            if (o.deviceOnDeviceAxis && !onDeviceAxis(cal["device_in_flight"].toArray(), t, grid)) {
                std::fprintf(stderr, "refit: %s has no calls on the device (device_in_flight) for every point of the table\n", qPrintable(jsonFile.fileName()));
                return 2;
            }
            t.tailMs = 0;
            t.deviceMs = grid.front();
            t.deviceMsShared.assign(grid.begin() + 1, grid.end());
        } else if (o.tailMs == "auto") {
            const double host = cal["predict_table"].toObject()["ms"].toArray().at(0).toDouble();
            const double device = cal["device_ms"].toArray().at(0).toArray().at(0).toDouble();
            if (!(host > device && device > 0)) {
                std::fprintf(stderr, "refit: %s has no device time to take a tail from\n", qPrintable(jsonFile.fileName()));
                return 2;
            }
            tail = host - device;
        } else {
            bool ok = false;
            tail = o.tailMs.toDouble(&ok);
            if (!ok || !(tail >= 0)) {
                std::fprintf(stderr, "refit: --tail-ms takes auto, device or a time in ms\n");
                return 2;
            }
        }
        // A tail is part of every call (ServiceTable::validate): below every batch's time alone.
        if (!t.hasDeviceTimes() && tail >= *std::min_element(t.ms.begin(), t.ms.end())) {
            std::fprintf(stderr, "refit: a tail of %.4f ms is not below every time of %s's table\n", tail, qPrintable(profile));
            return 2;
        }
        if (!t.hasDeviceTimes())
            t.tailMs = std::round(tail * 1e4) / 1e4;
        if (!o.callIdleTrace.isEmpty()) {
            QFile traceFile(o.callIdleTrace);
            if (!traceFile.open(QIODevice::ReadOnly)) {
                std::fprintf(stderr, "refit: cannot read %s\n", qPrintable(o.callIdleTrace));
                return 2;
            }
            std::vector<BackendExecutor::TracedCall> trace;
            const QList<QByteArray> lines = traceFile.readAll().split('\n');
            for (qsizetype i = 1; i < lines.size(); ++i) { // after the header: start_ms,end_ms,device_ms,gpu,replica,batch
                const QList<QByteArray> f = lines[i].trimmed().split(',');
                if (f.size() < 6)
                    continue;
                BackendExecutor::TracedCall c;
                c.startNs = std::llround(f[0].toDouble() * 1e6);
                c.endNs = std::llround(f[1].toDouble() * 1e6);
                c.deviceMs = f[2].toDouble();
                c.device = f[3].toInt();
                c.replicaId = f[4].toInt();
                c.batch = f[5].toInt();
                trace.push_back(c);
            }
            const std::vector<LiveOpenPoint::CallIdleBin> bins = callIdleBins(trace, 0);
            if (!setCallIdleCurve(t, bins, cal["live_cycle_ms"].toDouble())) {
                std::fprintf(stderr, "refit: %s has no calls back to back and after a gap beyond the queue run's (%zu bins)\n",
                             qPrintable(o.callIdleTrace), bins.size());
                return 2;
            }
            std::printf("%s: call curve from %zu bins of %zu calls:", qPrintable(profile), bins.size(), trace.size());
            for (std::size_t i = 0; i < t.callIdleGapMs.size(); ++i)
                std::printf(" %.4f@%.4f", t.callIdleExtraMs[i], t.callIdleGapMs[i]);
            std::printf("\n");
        }
        if (o.variationByK) {
            if (t.variation.empty()) { // the rows stand beside the pooled variation (ServiceTable::validate)
                std::fprintf(stderr, "refit: %s has no variation for rows by k to stand beside\n", qPrintable(yamlFile.fileName()));
                return 2;
            }
            std::vector<std::vector<std::vector<double>>> samples;
            for (const QJsonValue& k : cal["host_ms_samples"].toArray()) {
                samples.emplace_back();
                for (const QJsonValue& b : k.toArray()) {
                    samples.back().emplace_back();
                    for (const QJsonValue& v : b.toArray())
                        samples.back().back().push_back(v.toDouble());
                }
            }
            std::vector<std::vector<double>> medians { t.ms };
            medians.insert(medians.end(), t.msShared.begin(), t.msShared.end());
            t.variationShared = samples.size() == medians.size() ? variationByConcurrency(samples, medians) : std::vector<std::vector<double>>{};
            if (t.variationShared.empty()) {
                std::fprintf(stderr, "refit: %s has no host samples by k (100 calls or more at each) to take the variation from\n",
                             qPrintable(jsonFile.fileName()));
                return 2;
            }
            std::printf("%s: variation by k, p5..p95:", qPrintable(profile));
            for (std::size_t j = 0; j < t.variationShared.size(); ++j)
                std::printf(" k=%d %.3f..%.3f", t.concurrency[j], t.variationShared[j][1], t.variationShared[j][7]);
            std::printf("\n");
        }
        // calibrate's own run lengths (CalibrationRun: 0.3 s per ms of T(1, 1), 2 to 120 s), rows in order.
        const double measureS = std::clamp(0.3 * t.msAt(1), 2.0, 120.0);
        if (t.hasDeviceTimes())
            std::printf("%s: device times, D(%d, k) %.4f..%.4f ms; overhead_ms by concurrency", qPrintable(profile), t.batch.front(), t.deviceMs.front(),
                        t.deviceMsShared.empty() ? t.deviceMs.front() : t.deviceMsShared.back().front());
        else
            std::printf("%s: tail_ms %.4f; overhead_ms by concurrency", qPrintable(profile), t.tailMs);
        int fitted = 0;
        for (const QJsonValue& v : cal["live_queue"].toArray()) {
            const QJsonObject q = v.toObject();
            const auto it = std::find(t.concurrency.begin(), t.concurrency.end(), q["concurrency"].toInt());
            if (it == t.concurrency.end() || !(q["throughput_rps"].toDouble() > 0)) {
                std::fprintf(stderr, "\nrefit: %s: a live queue run at %d calls in flight that the table has no row for\n",
                             qPrintable(jsonFile.fileName()), q["concurrency"].toInt());
                return 2;
            }
            ++fitted;
            const std::size_t j = std::size_t(it - t.concurrency.begin());
            const double before = t.overheadSharedMs[j];
            double virtualRps = 0;
            t.overheadSharedMs[j] = fitSharedOverhead(profile.toStdString(), t, j, q["throughput_rps"].toDouble(), 0.5,
                                                      0.5 + kSharedOverheadFitWindows * measureS, virtualRps);
            std::printf("  k=%d %.4f -> %.4f (live %.0f, virtual %.0f calls/s)", t.concurrency[j], before, t.overheadSharedMs[j],
                        q["throughput_rps"].toDouble(), virtualRps);
        }
        std::printf("\n");
        const int above1 = int(std::count_if(t.concurrency.begin(), t.concurrency.end(), [](int k) { return k > 1; }));
        if (fitted < above1) { // every k above 1 has its queue run (calibrate --shared-cost)
            std::fprintf(stderr, "refit: %s has queue runs for %d of the table's %d calls-in-flight above 1\n", qPrintable(jsonFile.fileName()),
                         fitted, above1);
            return 2;
        }
        QFile outFile(o.out + "/" + profile + ".yaml");
        if (!outFile.open(QIODevice::WriteOnly)) {
            std::fprintf(stderr, "refit: cannot write %s\n", qPrintable(outFile.fileName()));
            return 2;
        }
        outFile.write(("profile: " + profile.toStdString() + "\npredict_table: " + writePredictTableYaml(t) + "\n").c_str());
        ++refitted;
    }
    if (refitted == 0) {
        std::fprintf(stderr, "refit: no <profile>.yaml of --profiles in %s\n", qPrintable(o.tablesDir));
        return 2;
    }
    return 0;
}

} // namespace fidelity
