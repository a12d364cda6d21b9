// Calibrating a model profile on this machine: the predict stage's time per call T(b, k) by batch size
// and calls in flight on one device (predict/calibration.h), and the live engine's own cost per call
// (the completion's hand-off to the engine thread and the next call's submit, measured by a short live
// run that keeps a queue at predict_concurrency 1): the
// predict_table virtual-time runs use, so that they predict what a live run does. One function for
// `knee calibrate` and the window's Model menu.
#pragma once
#include "sim/scenario.h"

#include "predict/calibration.h"

#include <string>
#include <vector>

namespace knee {

struct PredictBackendInfo;

struct CalibrationRequest {
    std::string profile = "small";
    predict::SharingOptions sharing;
    bool measureOverhead = true; // the live engine's own cost per call (two short live runs, about 3 s)
};

struct CalibrationResult {
    std::string error; // non-empty: nothing was measured (or it was cancelled)
    std::string profile;
    ServiceTable table;
    std::vector<std::vector<double>> deviceMs; // [k][batch]: the device's own time (layers and copies)
    std::vector<std::vector<std::vector<double>>> hostSamples; // [k][batch]: every timed call's host time
    std::vector<std::vector<double>> idleHostSamples;          // [idle gap]: every timed call's host time
    std::string backendKind, deviceName;
    bool gpu = false;
    std::size_t parameterBytes = 0;
    double coldStartMs = 0, weightUploadMs = 0;
    double liveP50Ms = 0;   // median latency of a lone predict-only request in the live engine
    double liveCycleMs = 0; // the live engine's time between completions at predict_concurrency 1 under a queue (the overhead's source)
    // Settling before the table (predict::SharingMeasurement): whether two blocks of calls in a row agreed,
    // the calls and their host time, and each block's median.
    bool settled = true;
    int settleCalls = 0;
    double settleMs = 0;
    std::vector<double> settleBlockMedianMs;
    std::string settleNotice() const; // one line: how the device settled, or that it did not
    // The scenario lines that carry the result: `profile: P` and `predict_table: {...}`.
    std::string yaml() const;
};

// The overhead_ms that makes virtual back-to-back calls at predict_concurrency 1 come every `cycleMs`
// (what the live engine measured): the cycle minus a call's mean time (T(1, 1) times the variation's
// mean) and minus the idle wake-up cost the table charges for the gap the overhead leaves. Never negative.
double overheadForCycle(const ServiceTable& table, double cycleMs);

// Blocks for the measurement (seconds to minutes): call it off the UI thread. Needs an event loop on
// the calling thread when measureOverhead is set (a QCoreApplication's main thread, or a QThread).
CalibrationResult calibrateProfile(const CalibrationRequest& request, const PredictBackendInfo& backend);

} // namespace knee
