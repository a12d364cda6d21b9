#include "plan_command.h"

#include "commands.h"
#include "summary_format.h"

#include "study/plan_check.h"

#include <QCommandLineParser>
#include <QJsonDocument>
#include <QTextStream>

#include <cmath>
#include <optional>

namespace knee::cli {

int runPlan(const QStringList& args)
{
    QTextStream out(stdout), err(stderr);
    QCommandLineParser parser;
    describeCommand(parser, Positional::Scenario, QStringLiteral(
        "Compute min and max replicas from the throughput of one replica at its concurrency target (Baseten's rule: "
        "min = ceil(baseline / throughput) + 1, max = ceil(peak / throughput) + buffer), then check the plan by "
        "simulating a day of traffic with the autoscaler on."));
    const QCommandLineOption baseline(QStringLiteral("baseline-rps"), QStringLiteral("Baseline traffic, requests/s."), QStringLiteral("B"));
    const QCommandLineOption peak(QStringLiteral("peak-rps"), QStringLiteral("Peak traffic, requests/s."), QStringLiteral("P"));
    const QCommandLineOption throughput(QStringLiteral("throughput-rps"),
                                        QStringLiteral("Throughput of one replica at its target (default: measured by simulation)."),
                                        QStringLiteral("T"));
    const QCommandLineOption buffer(QStringLiteral("buffer"), QStringLiteral("Replicas above peak (default 2)."), QStringLiteral("N"),
                                    QStringLiteral("2"));
    const QCommandLineOption hours(QStringLiteral("hours"), QStringLiteral("Length of the checked traffic cycle (default 24)."),
                                   QStringLiteral("H"), QStringLiteral("24"));
    const QCommandLineOption slo(QStringLiteral("slo-ms"), QStringLiteral("Latency SLO: report the share of requests over it."),
                                 QStringLiteral("MS"));
    const QCommandLineOption cost(QStringLiteral("cost-per-hour"), QStringLiteral("$ per replica (GPU) hour."), QStringLiteral("USD"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print one JSON object on stdout."));
    parser.addOptions({baseline, peak, throughput, buffer, hours, slo, cost, json});
    if (const auto done = parseCommandLine(parser, args))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || !parser.isSet(baseline) || !parser.isSet(peak)) {
        err << "knee plan: expected one scenario file, --baseline-rps and --peak-rps\n"
            << "usage: knee plan SCENARIO.yaml --baseline-rps B --peak-rps P [--throughput-rps T] [--buffer N] [--hours H] "
               "[--slo-ms MS] [--cost-per-hour USD] [--json]\n";
        return kBadInput;
    }
    QString error;
    auto fail = [&] {
        err << "knee plan: " << error << "\n";
        return int(kBadInput);
    };
    const auto b = numberOption(parser, baseline, 0, limits::kMaxRateRps, error);
    if (!b)
        return fail();
    const auto p = numberOption(parser, peak, 0, limits::kMaxRateRps, error);
    if (!p)
        return fail();
    const auto buf = numberOption(parser, buffer, 0, 1000, error);
    if (!buf)
        return fail();
    if (std::floor(*buf) != *buf) {
        error = QStringLiteral("--buffer expects a whole number of replicas");
        return fail();
    }
    const auto h = numberOption(parser, hours, 0.01, 24 * 365, error);
    if (!h)
        return fail();
    std::optional<double> t, sloMs, usd;
    if (parser.isSet(throughput) && !(t = numberOption(parser, throughput, 1e-9, 1e9, error)))
        return fail();
    if (parser.isSet(slo) && !(sloMs = numberOption(parser, slo, 1e-6, 1e9, error)))
        return fail();
    if (parser.isSet(cost) && !(usd = numberOption(parser, cost, 0, 1e6, error)))
        return fail();

    const std::optional<Scenario> read = readScenarioOrReport(positional.first());
    if (!read)
        return kBadInput;
    const Scenario& scenario = *read;

    std::optional<ThroughputMeasurement> measured;
    if (!t) {
        measured = measureThroughputPerReplica(scenario);
        t = measured->throughputRps;
    }
    const ReplicaPlan plan = planReplicas({*t, *b, *p, int(*buf), 1});
    if (!plan.error.empty()) {
        err << "knee plan: " << QString::fromStdString(plan.error) << "\n";
        return kBadInput;
    }
    PlanCheckOptions options{*b, *p, *h, sloMs.value_or(0), usd.value_or(-1)};
    const PlanCheck check = checkPlan(scenario, plan, options);
    const RunSummary& s = check.summary;

    if (parser.isSet(json)) {
        QJsonObject throughputJson{{"rps", *t}, {"source", measured ? "measured" : "given"}};
        if (measured)
            throughputJson.insert("measurement", QJsonObject{{"concurrency", measured->concurrency},
                                                             {"requests", qint64(measured->requests)},
                                                             {"p50_ms", measured->p50Ms},
                                                             {"p99_ms", measured->p99Ms},
                                                             {"method", "one replica, closed loop at the concurrency target, first 10% left out"}});
        QJsonObject checkJson{{"traffic", QString::fromStdString(check.traffic)},
                              {"autoscaler", QString::fromStdString(s.autoscalerPolicy)},
                              {"requests", qint64(s.arrived)},
                              {"completed", qint64(s.completed)},
                              {"failed", qint64(s.failed)},
                              {"rejected", qint64(s.rejected)},
                              {"latency_ms", toJson(s)["latency_ms"]},
                              {"queue_wait_ms", QJsonObject{{"mean", s.parts[0].mean}, {"p50", s.parts[0].p50}, {"p99", s.parts[0].p99}}},
                              {"replicas", toJson(s)["replicas"]},
                              {"wall_s", s.wallS}};
        if (sloMs) {
            checkJson.insert("slo_ms", *sloMs);
            checkJson.insert("share_over_slo", check.shareOverSlo);
        }
        QJsonObject o{{"scenario", QString::fromStdString(scenario.name)},
                      {"min_replicas", plan.minReplicas},
                      {"max_replicas", plan.maxReplicas},
                      {"rules", QJsonObject{{"min_replicas", QString::fromStdString(plan.minRule)},
                                            {"max_replicas", QString::fromStdString(plan.maxRule)},
                                            {"rounding", "each quotient rounded up, then the redundancy (1) or buffer added"}}},
                      {"baseline_rps", *b},
                      {"peak_rps", *p},
                      {"buffer", int(*buf)},
                      {"throughput_per_replica", throughputJson},
                      {"check", checkJson}};
        insertTwin(o, scenario);
        out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
        return kOk;
    }
    out << twinText(scenario);
    out << "Throughput per replica at concurrency target " << scenario.deployment.concurrencyTarget << ": "
        << QString::number(*t, 'f', 2) << " req/s (" << (measured ? "measured by simulation" : "given") << ")\n";
    out << "min_replicas = " << QString::fromStdString(plan.minRule) << "\n";
    out << "max_replicas = " << QString::fromStdString(plan.maxRule) << "\n";
    out << "(each quotient rounded up, then the redundancy or buffer added)\n\n";
    out << "Check: " << QString::fromStdString(check.traffic) << ", autoscaler " << QString::fromStdString(s.autoscalerPolicy) << "\n";
    if (sloMs)
        out << "Share of requests over " << *sloMs << " ms: " << QString::number(check.shareOverSlo * 100, 'f', 3) << " %\n";
    out << QString::fromStdString(formatSummary(s));
    return kOk;
}

} // namespace knee::cli
