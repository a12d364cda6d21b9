#include "serve_metrics.h"

#include "http_server.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

namespace knee::net {

namespace {

constexpr const char* kStageNames[] = {"queue", "preprocess", "predict_wait", "predict", "postprocess"};

const char* handlerName(ServeMetrics::Handler h)
{
    switch (h) {
    case ServeMetrics::Handler::Predict: return "/predict";
    case ServeMetrics::Handler::ChatCompletions: return "/v1/chat/completions";
    case ServeMetrics::Handler::Health: return "/health";
    case ServeMetrics::Handler::Metrics: return "/metrics";
    case ServeMetrics::Handler::Other: break;
    }
    return "other"; // never the raw path: a client must not be able to grow the label set
}

// A counter that mirrors a total kept elsewhere (monotonic there): moved up to it, never down.
void advance(prometheus::Counter& c, double total)
{
    if (const double now = c.Value(); total > now)
        c.Increment(total - now);
}

double seconds(Nanos ns) { return double(ns) / 1e9; }

} // namespace

const std::vector<double>& ServeMetrics::latencyBuckets()
{
    static const std::vector<double> buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,    1,     2.5,    5,     10,   25,    50,   100,  250};
    return buckets;
}

ServeMetrics::ServeMetrics()
    : m_registry(std::make_unique<prometheus::Registry>())
{
    using namespace prometheus;
    Registry& r = *m_registry;
    m_requests = &BuildCounter().Name("knee_http_requests_total").Help("HTTP requests answered, by endpoint and status code.").Register(r);
    auto& outcomes = BuildCounter().Name("knee_requests_total").Help("Requests the engine ended, by outcome.").Register(r);
    m_completed = &outcomes.Add({{"outcome", "completed"}});
    m_failed = &outcomes.Add({{"outcome", "failed"}});
    m_rejected = &outcomes.Add({{"outcome", "rejected"}});
    auto counter = [&](const char* name, const char* help) -> Counter& { return BuildCounter().Name(name).Help(help).Register(r).Add({}); };
    auto gauge = [&](const char* name, const char* help) -> Gauge& { return BuildGauge().Name(name).Help(help).Register(r).Add({}); };
    m_connections = &counter("knee_http_connections_total", "TCP connections accepted.");
    m_malformed = &counter("knee_http_malformed_requests_total", "Requests the HTTP layer refused as malformed or too large (400, 413, 431, 501, 505).");
    m_timeouts = &counter("knee_http_request_timeouts_total", "Requests whose head or body did not arrive in time (408).");
    m_predictCalls = &counter("knee_predict_calls_total", "Predict calls started (one per request, batch or decode step).");
    m_predictErrors = &counter("knee_predict_errors_total", "Predict calls that failed on the device.");
    m_startFailures = &counter("knee_replica_start_failures_total", "Replicas that could not start on the predict stage.");
    m_busySeconds = &counter("knee_predict_busy_seconds_total",
                             "Time replicas spent with at least one request in predict, summed over replicas.");
    m_inFlight = &gauge("knee_http_requests_in_flight", "Requests handed to the engine and not yet answered.");
    m_openConnections = &gauge("knee_http_open_connections", "Open client connections.");
    m_queued = &gauge("knee_deployment_queue_requests", "Requests waiting in the deployment queue.");
    m_held = &gauge("knee_requests_held", "Requests held by replicas (routed, not yet answered).");
    m_busyRatio = &gauge("knee_predict_busy_ratio", "Mean over provisioned replicas of the share of their life spent with a request in predict.");
    m_gpuUp = &gauge("knee_gpu_telemetry_up", "1 when GPU telemetry (NVML) answers, else 0.");
    auto& replicas = BuildGauge().Name("knee_replicas").Help("Provisioned replicas by state.").Register(r);
    m_coldStarting = &replicas.Add({{"state", "cold_starting"}});
    m_ready = &replicas.Add({{"state", "ready"}});
    m_draining = &replicas.Add({{"state", "draining"}});
    m_duration = &BuildHistogram()
                      .Name("knee_request_duration_seconds")
                      .Help("Completed requests, from when they were meant to be sent to their response.")
                      .Register(r)
                      .Add({}, latencyBuckets());
    auto& stages = BuildHistogram().Name("knee_stage_duration_seconds").Help("Completed requests: time in each stage.").Register(r);
    for (std::size_t i = 0; i < std::size(kStageNames); ++i)
        m_stages[i] = &stages.Add({{"stage", kStageNames[i]}}, latencyBuckets());
    auto gpuFamily = [&](const char* name, const char* help) { return &BuildGauge().Name(name).Help(help).Register(r); };
    m_gpuUtilization = gpuFamily("knee_gpu_utilization_ratio", "Share of the last NVML sample period in which a kernel ran on the GPU.");
    m_gpuMemoryUsed = gpuFamily("knee_gpu_memory_used_bytes", "GPU memory in use (all processes).");
    m_gpuMemoryTotal = gpuFamily("knee_gpu_memory_total_bytes", "GPU memory in all.");
    m_gpuPower = gpuFamily("knee_gpu_power_watts", "GPU board power draw.");
    m_gpuClock = gpuFamily("knee_gpu_sm_clock_hertz", "Current SM clock of the GPU.");
}

ServeMetrics::~ServeMetrics() = default;

void ServeMetrics::countAnswer(Handler handler, int status)
{
    m_requests->Add({{"handler", handlerName(handler)}, {"code", std::to_string(status)}}).Increment();
}

void ServeMetrics::countOutcome(Outcome outcome)
{
    switch (outcome) {
    case Outcome::Completed: m_completed->Increment(); break;
    case Outcome::Failed: m_failed->Increment(); break;
    case Outcome::Rejected: m_rejected->Increment(); break;
    case Outcome::InFlight: break;
    }
}

void ServeMetrics::setHttp(int inFlight, int openConnections, const HttpServerStats& stats)
{
    m_inFlight->Set(inFlight);
    m_openConnections->Set(openConnections);
    advance(*m_connections, double(stats.connections));
    advance(*m_malformed, double(stats.badRequests));
    advance(*m_timeouts, double(stats.timedOut));
}

void ServeMetrics::observe(const Request& r)
{
    if (r.outcome != Outcome::Completed)
        return;
    m_duration->Observe(seconds(r.latency()));
    // A stage a request skipped (no timestamp) is not observed: each stage's _count says how many passed it.
    const Nanos marks[] = {r.arrived, r.routed, r.preprocessDone, r.predictStart, r.predictDone, r.done};
    for (std::size_t i = 0; i < std::size(kStageNames); ++i)
        if (marks[i] >= 0 && marks[i + 1] >= marks[i])
            m_stages[i]->Observe(seconds(marks[i + 1] - marks[i]));
}

void ServeMetrics::setEngine(const EngineSnapshot& s)
{
    m_queued->Set(double(s.queued));
    m_held->Set(double(s.held));
    int cold = 0, ready = 0, draining = 0;
    double busyShare = 0;
    for (const ReplicaSnapshot& rep : s.replicas) {
        cold += rep.state == ReplicaState::ColdStarting;
        ready += rep.state == ReplicaState::Ready;
        draining += rep.state == ReplicaState::Draining;
        busyShare += rep.predictBusyShare;
    }
    m_coldStarting->Set(cold);
    m_ready->Set(ready);
    m_draining->Set(draining);
    m_busyRatio->Set(s.replicas.empty() ? 0.0 : busyShare / double(s.replicas.size()));
    advance(*m_predictCalls, double(s.predictCalls));
    advance(*m_predictErrors, double(s.predictErrors));
    advance(*m_startFailures, double(s.replicaStartFailures));
    advance(*m_busySeconds, seconds(s.predictBusyNs));
}

void ServeMetrics::setGpus(bool telemetryUp, const std::vector<telemetry::GpuSample>& gpus)
{
    m_gpuUp->Set(telemetryUp ? 1 : 0);
    for (const telemetry::GpuSample& g : gpus) {
        const prometheus::Labels labels{{"gpu", std::to_string(g.index)}, {"name", g.name}};
        if (g.utilizationPct)
            m_gpuUtilization->Add(labels).Set(*g.utilizationPct / 100.0);
        if (g.memoryUsedBytes)
            m_gpuMemoryUsed->Add(labels).Set(*g.memoryUsedBytes);
        if (g.memoryTotalBytes)
            m_gpuMemoryTotal->Add(labels).Set(*g.memoryTotalBytes);
        if (g.powerW)
            m_gpuPower->Add(labels).Set(*g.powerW);
        if (g.smClockMHz)
            m_gpuClock->Add(labels).Set(*g.smClockMHz * 1e6);
    }
}

QByteArray ServeMetrics::render() const
{
    return QByteArray::fromStdString(prometheus::TextSerializer().Serialize(m_registry->Collect()));
}

} // namespace knee::net
