// `knee serve`'s GET /metrics: the Prometheus text exposition format (version 0.0.4), built with
// prometheus-cpp's core library (Debian's prometheus-cpp-dev) rather than by hand: its metrics are
// thread-safe (the engine thread observes latencies while the server thread answers scrapes) and its
// serializer escapes label values and writes +Inf and the cumulative buckets as the format wants.
//
// Families (every name knee_…, base units in the name, counters end in _total and only grow):
//   knee_http_requests_total{handler,code}      answers by endpoint and HTTP status
//   knee_http_requests_in_flight                requests handed to the engine, not yet answered
//   knee_http_open_connections, knee_http_connections_total, knee_http_malformed_requests_total,
//   knee_http_request_timeouts_total            the HTTP layer (HttpServerStats)
//   knee_requests_total{outcome}                what the engine did: completed, failed, rejected
//   knee_deployment_queue_requests              requests waiting in the deployment queue
//   knee_requests_held                          requests on replicas (routed, not yet answered)
//   knee_request_duration_seconds               histogram, end to end (intended send → response), completed
//   knee_stage_duration_seconds{stage}          histogram per stage: queue, preprocess, predict_wait,
//                                               predict, postprocess (completed requests)
//   knee_replicas{state}                        cold_starting, ready, draining
//   knee_predict_calls_total, knee_predict_errors_total, knee_replica_start_failures_total
//   knee_predict_busy_seconds_total             time replicas spent with a request in predict, summed over
//                                               replicas: rate(…) / knee_replicas{state="ready"} is the busy share
//   knee_predict_busy_ratio                     mean over provisioned replicas of their busy share since ready
//   knee_gpu_telemetry_up                       1 when NVML answers, else 0
//   knee_gpu_utilization_ratio{gpu,name}, knee_gpu_memory_used_bytes, knee_gpu_memory_total_bytes,
//   knee_gpu_power_watts, knee_gpu_sm_clock_hertz   per GPU, from the telemetry sampler (NVML)
#pragma once
#include "sim/engine.h"
#include "telemetry/gpu_telemetry.h"

#include <QByteArray>

#include <memory>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
} // namespace prometheus

namespace knee::net {

struct HttpServerStats;

class ServeMetrics {
public:
    enum class Handler { Predict, ChatCompletions, Health, Metrics, Other };
    // Latency buckets, in seconds: a 1-2.5-5 series from 0.5 ms to 250 s. The stages knee serves run from
    // sub-millisecond (a tiny model's preprocess) to minutes (a long LLM generation); a bound every ×2-2.5
    // keeps histogram_quantile's linear interpolation within one such step over all 5.7 decades, with
    // 18 buckets a series (6 series: a scrape stays a few KiB). Finer buckets would not buy accuracy a
    // dashboard needs; knee's own sweeps measure quantiles exactly (LatencyHistogram), not from these.
    static const std::vector<double>& latencyBuckets();

    ServeMetrics();
    ~ServeMetrics();
    ServeMetrics(const ServeMetrics&) = delete;
    ServeMetrics& operator=(const ServeMetrics&) = delete;

    // Server thread.
    void countAnswer(Handler handler, int status);
    void countOutcome(Outcome outcome);
    void setHttp(int inFlight, int openConnections, const HttpServerStats& stats);
    void setGpus(bool telemetryUp, const std::vector<telemetry::GpuSample>& gpus);
    // Engine thread: a request ended (only completed ones are timed); the engine's state at a scrape.
    void observe(const Request& r);
    void setEngine(const EngineSnapshot& s);
    // Any thread: the exposition text.
    QByteArray render() const;
    static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    std::unique_ptr<prometheus::Registry> m_registry;
    prometheus::Family<prometheus::Counter>* m_requests;
    prometheus::Family<prometheus::Gauge>* m_gpuUtilization;
    prometheus::Family<prometheus::Gauge>* m_gpuMemoryUsed;
    prometheus::Family<prometheus::Gauge>* m_gpuMemoryTotal;
    prometheus::Family<prometheus::Gauge>* m_gpuPower;
    prometheus::Family<prometheus::Gauge>* m_gpuClock;
    prometheus::Counter *m_completed, *m_failed, *m_rejected;
    prometheus::Counter *m_connections, *m_malformed, *m_timeouts;
    prometheus::Counter *m_predictCalls, *m_predictErrors, *m_startFailures, *m_busySeconds;
    prometheus::Gauge *m_inFlight, *m_openConnections, *m_queued, *m_held, *m_busyRatio, *m_gpuUp;
    prometheus::Gauge *m_coldStarting, *m_ready, *m_draining;
    prometheus::Histogram* m_duration;
    prometheus::Histogram* m_stages[5];
};

} // namespace knee::net
