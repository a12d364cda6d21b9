// Export of the recommendation: runtime.predict_concurrency written into a Truss config.yaml
// (new, or the user's own, keeping every other key, comment and the order untouched), and the
// autoscaling settings in the forms platforms take: Baseten's API body and a Knative Service.
#pragma once
#include "sim/scenario.h"

#include <optional>
#include <string>
#include <vector>

namespace knee {

struct TrussExport {
    std::string text;                 // the config to write (the input unchanged when nothing was set)
    bool predictConcurrencyWritten = false;
    std::string error;                // non-empty: nothing to write; says why
    std::vector<std::string> notes;   // e.g. "this config runs a custom server: ..."
};

// `existing` empty: a new config for `modelName`. Otherwise the user's file: it must parse; a
// config for a custom server (docker_server) or a TensorRT-LLM engine (trt_llm) gets no
// predict_concurrency (it exists only for Python Truss models) and a note saying so. The edit is
// made on the text, line by line, so comments and layout survive; the result is parsed again and
// checked: predict_concurrency reads back and every other key is as before.
TrussExport exportTrussConfig(const std::string& existing, int predictConcurrency, const std::string& modelName);

struct AutoscalingSettings {
    int minReplicas = 0, maxReplicas = 1;
    int concurrencyTarget = 1;
    double targetUtilizationPercent = 70;
    double autoscalingWindowS = 60, scaleDownDelayS = 900;
};
// The settings to export: the recommended target and replica bounds (or the deployment's own bounds
// when none were planned), with the deployment's autoscaler settings.
AutoscalingSettings autoscalingSettings(const DeploymentConfig& deployment, int concurrencyTarget, std::optional<int> minReplicas,
                                        std::optional<int> maxReplicas);

// The body of Baseten's PATCH …/autoscaling_settings (min_replica, max_replica, autoscaling_window,
// scale_down_delay, concurrency_target, target_utilization_percentage).
std::string basetenAutoscalingJson(const AutoscalingSettings& s);
// A Knative Service manifest with the matching autoscaling annotations (KPA, concurrency metric).
std::string knativeServiceYaml(const AutoscalingSettings& s, const std::string& serviceName);

} // namespace knee
