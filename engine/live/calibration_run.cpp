#include "calibration_run.h"

#include "backend_executor.h"
#include "live_run.h"

#include "io/scenario_reader.h"

// The predict headers name a member `slots`: knee_live builds with QT_NO_KEYWORDS.
#include "predict/backend.h"
#include "predict/model.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace knee {

std::string CalibrationResult::yaml() const
{
    return "# Paste under model: in a scenario (or keep beside it).\nprofile: " + profile + "\npredict_table: "
        + writePredictTableYaml(table) + "\n";
}

namespace {

// The live engine at one closed-loop user, predict only, on this profile: what a call costs the engine
// beyond the backend's own host time (the completion's hand-off to the engine thread, the event loop's
// turn). A few hundred requests, sent once the replica has started (runLive waits for its cold start).
double liveMedianMs(const std::string& profile, const PredictBackendInfo& backend, double soloMs, std::string& error)
{
    Scenario s;
    s.name = "calibrate: live engine cost per call";
    s.deployment.concurrencyTarget = 1;
    s.deployment.predictConcurrency = 1;
    s.model.predict = Distribution::constant(soloMs);
    s.model.profile = profile;
    s.workload.arrival = ArrivalConfig::closed(1);
    s.workload.requests = 400;
    s.workload.durationS = 120;
    try {
        const LiveRunResult r = runLive(s, 150.0, &backend);
        if (r.predictErrors > 0 || r.replicaStartFailures > 0) {
            error = "the live engine's calls failed: " + r.lastPredictError;
            return 0;
        }
        if (r.summary.latency.count < 100) {
            error = "the live engine completed too few calls to measure its cost";
            return 0;
        }
        return r.summary.latency.p50;
    } catch (const std::exception& e) {
        error = e.what();
        return 0;
    }
}

} // namespace

CalibrationResult calibrateProfile(const CalibrationRequest& request, const PredictBackendInfo& backend)
{
    CalibrationResult out;
    out.profile = request.profile;
    const auto profile = predict::findProfile(request.profile);
    if (!profile) {
        out.error = "unknown profile '" + request.profile + "'";
        return out;
    }
    std::shared_ptr<const predict::Model> model;
    try {
        model = predict::Model::generate(*profile);
    } catch (const std::exception& e) {
        out.error = "cannot build the " + profile->name + " model: " + e.what();
        return out;
    }
    const predict::SharingOptions& o = request.sharing;
    predict::ReplicaConfig config;
    config.slots = *std::max_element(o.concurrency.begin(), o.concurrency.end());
    config.maxBatch = *std::max_element(o.batches.begin(), o.batches.end());
    config.warmBatches = o.batches;
    predict::CreatedReplica created = backend.backend->createReplica(model, config);
    if (!created.status.ok()) {
        out.error = created.status.error;
        return out;
    }
    const predict::ReplicaInfo& info = created.replica->info();
    out.backendKind = predict::toString(info.kind);
    out.deviceName = info.deviceName;
    out.gpu = info.kind == predict::BackendKind::Cuda;
    out.parameterBytes = model->parameterBytes();
    out.coldStartMs = info.coldStartMs;
    out.weightUploadMs = info.weightUploadMs;

    predict::SharingMeasurement m;
    if (const predict::Status st = predict::measureSharing(*created.replica, model->hidden(), o, m); !st.ok()) {
        out.error = st.error;
        return out;
    }
    created.replica.reset(); // its device memory back before the live run starts its own replica
    ServiceTable& t = out.table;
    t.batch = m.batches;
    t.ms = m.hostMs[0];
    t.concurrency.assign(m.concurrency.begin() + 1, m.concurrency.end());
    t.msShared.assign(m.hostMs.begin() + 1, m.hostMs.end());
    out.deviceMs = m.deviceMs;
    out.hostSamples = m.hostSamples;
    // The per-call variation: the pooled ratios (host time over its point's median) at the table's quantiles.
    if (m.ratios.size() >= 100) {
        for (double q : ServiceTable::kVariationQuantiles) {
            const double v = m.ratios[std::min(m.ratios.size() - 1, std::size_t(q * double(m.ratios.size())))];
            t.variation.push_back(std::round(v * 1e4) / 1e4);
        }
        const std::size_t mid = std::size(ServiceTable::kVariationQuantiles) / 2; // the median, 1 by construction
        t.variation[mid] = std::clamp(1.0, t.variation[mid - 1], t.variation[mid + 1]);
    }
    for (std::size_t i = 0; i < m.idleGapMs.size(); ++i) {
        t.idleGapMs.push_back(std::round(m.idleGapMs[i] * 1e4) / 1e4);
        t.idleExtraMs.push_back(std::round(m.idleExtraMs[i] * 1e4) / 1e4);
    }
    if (request.measureOverhead) {
        std::string error;
        out.liveP50Ms = liveMedianMs(request.profile, backend, t.msAt(1), error);
        if (!error.empty()) {
            out.error = "measuring the live engine's cost per call: " + error;
            return out;
        }
        // What the engine waits for beyond the backend's host time; never negative (noise on a quick call).
        t.overheadMs = std::round(std::max(0.0, out.liveP50Ms - t.msAt(1)) * 1e4) / 1e4; // to 0.1 µs: below the clock's noise
    }
    char detail[400];
    std::snprintf(detail, sizeof detail, " (H=%d, L=%d) on %s, %s, median host time per call of %d, calls in flight 1..%d%s",
                  profile->hidden, profile->layers, out.deviceName.empty() ? out.backendKind.c_str() : out.deviceName.c_str(),
                  QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString().c_str(), o.repeats, config.slots,
                  request.measureOverhead ? "; overhead: live engine p50 at one user minus T(1, 1)" : "");
    t.source = "knee calibrate: " + profile->name + detail;
    return out;
}

} // namespace knee
