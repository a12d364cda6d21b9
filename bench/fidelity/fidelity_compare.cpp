// The fidelity table: live against virtual, cell by cell (throughput and p95; time to first token and
// inter-token time for continuous batching), summarised as the median and worst |live ÷ virtual − 1|
// overall and by profile, batching mode, replicas and load; then whether the knee and the best
// predict_concurrency agree. Cells whose live window holds fewer than kMinCompleted responses are
// counted apart (too few to compare a p95). With a live run of two passes (`live --repeats 2`) and a
// virtual run with another seed (`--floor`), it ends with each group's error beside those two floors, and
// beside the model's error against both passes averaged (the best live estimate).
#include "fidelity.h"

#include "study/knee.h"
#include "telemetry/host_contention.h"

#include <QFile>
#include <QJsonArray>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

namespace fidelity {

using namespace knee;

namespace {

constexpr int kMinCompleted = 50;
constexpr double kDisturbedStealPct = telemetry::HostContention::kDisturbedStealPct;

struct Cell {
    QJsonObject live, virt;
    double thr = 0, p95 = 0, ttft = 0, itl = 0; // live ÷ virtual − 1
};

double ratioErr(double live, double virt) { return virt > 0 ? live / virt - 1 : (live > 0 ? INFINITY : 0); }

struct Stat {
    std::vector<double> thr, p95;
    void add(const Cell& c)
    {
        thr.push_back(std::abs(c.thr));
        p95.push_back(std::abs(c.p95));
    }
    static double median(std::vector<double> v)
    {
        if (v.empty())
            return 0;
        std::sort(v.begin(), v.end());
        return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    }
    static double worst(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }
};

QString pct(double v) { return std::isfinite(v) ? QString::number(100 * v, 'f', 1) + " %" : QString("∞"); }

KneeAnalysis curveOf(const std::vector<QJsonObject>& rows)
{
    std::vector<CurvePoint> points;
    for (const QJsonObject& r : rows)
        points.push_back(CurvePoint{int(r["level"].toDouble()), r["p95_ms"].toDouble(), 0, 0, r["throughput_rps"].toDouble(), true});
    std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.concurrency < b.concurrency; });
    return analyzeCurve(points, 0.0);
}

// The smallest predict_concurrency whose throughput is within 5 % of the best at this level.
int bestPc(const std::map<int, double>& byPc)
{
    double best = 0;
    for (const auto& [pc, thr] : byPc)
        best = std::max(best, thr);
    for (const auto& [pc, thr] : byPc)
        if (thr >= 0.95 * best)
            return pc;
    return 0;
}

// What one comparison found: its groups' errors and how often the two runs' decisions agreed.
struct Summary {
    std::size_t cells = 0;
    std::map<QString, Stat> groups;
    int configurations = 0, kneesAgree = 0, saturationAgrees = 0;
    int pcGroups = 0, pcAgree = 0;
};

// A cell's identity in every run of the matrix: configuration, load and level.
QString cellKey(const QJsonObject& r)
{
    return r["config"].toString() + "|" + r["load"].toString() + "|" + QString::number(r["level"].toDouble(), 'g', 10);
}

// `live` against `virt` (the other run: virtual, or a live run's first pass); `lname` and `vname` name them in the text.
Summary compareSets(const std::vector<QJsonObject>& live, const std::vector<QJsonObject>& virt, const char* lname, const char* vname,
                        const QString& csvPath)
{
    std::map<QString, QJsonObject> virtByKey;
    for (const auto& r : virt)
        virtByKey[cellKey(r)] = r;
    std::vector<Cell> cells;
    int thin = 0, missing = 0;
    for (const auto& l : live) {
        const auto it = virtByKey.find(cellKey(l));
        if (it == virtByKey.end()) {
            ++missing;
            continue;
        }
        if (l["completed"].toInt() < kMinCompleted || it->second["completed"].toInt() < kMinCompleted) {
            ++thin;
            continue;
        }
        Cell c{l, it->second};
        c.thr = ratioErr(l["throughput_rps"].toDouble(), c.virt["throughput_rps"].toDouble());
        c.p95 = ratioErr(l["p95_ms"].toDouble(), c.virt["p95_ms"].toDouble());
        c.ttft = ratioErr(l["ttft_p95_ms"].toDouble(), c.virt["ttft_p95_ms"].toDouble());
        c.itl = ratioErr(l["itl_p50_ms"].toDouble(), c.virt["itl_p50_ms"].toDouble());
        cells.push_back(c);
    }
    std::map<QString, Stat> groups;
    std::vector<double> ttft, itl;
    for (const Cell& c : cells) {
        groups["all"].add(c);
        groups["profile " + c.live["profile"].toString()].add(c);
        groups["batching " + c.live["batching"].toString()].add(c);
        groups["replicas " + QString::number(c.live["replicas"].toInt())].add(c);
        groups["load " + c.live["load"].toString()].add(c);
        if (c.live.contains("share")) // Poisson near capacity is where p95 is least certain (see the floor below)
            groups[QString("load poisson at %1 % of capacity").arg(qRound(100 * c.live["share"].toDouble()))].add(c);
        groups["predict_concurrency " + QString::number(c.live["pc"].toInt())].add(c);
        if (c.live["batching"].toString() == "continuous") {
            ttft.push_back(std::abs(c.ttft));
            itl.push_back(std::abs(c.itl));
        }
        // Windows with the host's conditions (run 16 on): those in which the hypervisor took at least
        // kDisturbedStealPct of the CPUs apart, since the callback's hop doubled in them whatever the cell.
        const QJsonObject conditions = c.live["conditions"].toObject();
        if (conditions.contains("steal_pct"))
            groups[conditions["steal_pct"].toDouble() >= kDisturbedStealPct
                       ? QString("host disturbed (steal ≥ %1 %)").arg(kDisturbedStealPct)
                       : QString("host quiet (steal < %1 %)").arg(kDisturbedStealPct)]
                .add(c);
    }
    std::printf("cells compared: %zu (live cells without a %s one: %d; fewer than %d responses in a window: %d)\n\n", cells.size(),
                vname, missing, kMinCompleted, thin);
    std::printf("| cells | n | throughput median | throughput worst | p95 median | p95 worst |\n|---|---:|---:|---:|---:|---:|\n");
    for (const auto& [name, st] : groups)
        std::printf("| %s | %zu | %s | %s | %s | %s |\n", qPrintable(name), st.thr.size(), qPrintable(pct(Stat::median(st.thr))),
                    qPrintable(pct(Stat::worst(st.thr))), qPrintable(pct(Stat::median(st.p95))), qPrintable(pct(Stat::worst(st.p95))));
    if (!ttft.empty())
        std::printf("\ncontinuous batching: time to first token p95 median %s worst %s; inter-token p50 median %s worst %s (%zu cells)\n",
                    qPrintable(pct(Stat::median(ttft))), qPrintable(pct(Stat::worst(ttft))), qPrintable(pct(Stat::median(itl))),
                    qPrintable(pct(Stat::worst(itl))), ttft.size());

    // The worst cells, for the eye.
    std::vector<const Cell*> byErr;
    for (const Cell& c : cells)
        byErr.push_back(&c);
    std::sort(byErr.begin(), byErr.end(), [](const Cell* a, const Cell* b) {
        return std::max(std::abs(a->thr), std::abs(a->p95)) > std::max(std::abs(b->thr), std::abs(b->p95));
    });
    std::printf("\nworst cells (%s / %s):\n| cell | load | throughput | p95 ms |\n|---|---|---|---|\n", lname, vname);
    for (std::size_t i = 0; i < std::min<std::size_t>(12, byErr.size()); ++i) {
        const Cell& c = *byErr[i];
        std::printf("| %s | %s %g | %.0f / %.0f (%s) | %.3f / %.3f (%s) |\n", qPrintable(c.live["config"].toString()),
                    qPrintable(c.live["load"].toString()), c.live["level"].toDouble(), c.live["throughput_rps"].toDouble(),
                    c.virt["throughput_rps"].toDouble(), qPrintable(pct(c.thr)), c.live["p95_ms"].toDouble(), c.virt["p95_ms"].toDouble(),
                    qPrintable(pct(c.p95)));
    }

    // Knees of the closed-loop curves, and the best predict_concurrency at each users level.
    std::map<QString, std::vector<QJsonObject>> liveCurves, virtCurves;
    std::map<QString, std::map<int, double>> livePc, virtPc; // profile/batching/replicas/users -> pc -> throughput
    for (const Cell& c : cells) {
        if (c.live["load"].toString() != "closed")
            continue;
        liveCurves[c.live["config"].toString()].push_back(c.live);
        virtCurves[c.live["config"].toString()].push_back(c.virt);
        const QString group = QString("%1/%2/r%3/users %4").arg(c.live["profile"].toString(), c.live["batching"].toString())
                                  .arg(c.live["replicas"].toInt()).arg(c.live["level"].toDouble());
        livePc[group][c.live["pc"].toInt()] = c.live["throughput_rps"].toDouble();
        virtPc[group][c.live["pc"].toInt()] = c.virt["throughput_rps"].toDouble();
    }
    int kneesAgree = 0, kneesNear = 0, saturationAgrees = 0, saturationNear = 0;
    std::vector<QString> kneeMisses, saturationMisses;
    for (const auto& [config, rows] : liveCurves) {
        const KneeAnalysis ours = curveOf(rows), other = curveOf(virtCurves[config]);
        // Saturation (the smallest level within 5 % of peak throughput) is what a sweep's concurrency
        // target comes from; the p95 knee is the curve's shape. Both are held to agree.
        const auto sa = ours.saturation, sb = other.saturation;
        if (sa == sb)
            ++saturationAgrees;
        else
            saturationMisses.push_back(QString("%1 (%2 %3, %4 %5)").arg(config, lname, sa ? QString::number(*sa) : "none", vname,
                                                                      sb ? QString::number(*sb) : "none"));
        if (sa == sb || (sa && sb && std::max(*sa, *sb) <= 2 * std::min(*sa, *sb)))
            ++saturationNear;
        const auto a = ours.knee, b = other.knee;
        if (a == b)
            ++kneesAgree;
        else
            kneeMisses.push_back(QString("%1 (%2 %3, %4 %5)").arg(config, lname, a ? QString::number(*a) : "none", vname, b ? QString::number(*b) : "none"));
        // Neighbours on the doubling levels (1, 2, 4, …): the two knees differ by one level at most.
        if (a == b || (a && b && std::max(*a, *b) <= 2 * std::min(*a, *b)))
            ++kneesNear;
    }
    std::printf("\nknee (Kneedle on p95 over users): agrees in %d of %zu configurations (%d within one level)\n", kneesAgree,
                liveCurves.size(), kneesNear);
    for (const QString& m : kneeMisses)
        std::printf("  differs: %s\n", qPrintable(m));
    std::printf("saturation (smallest users level within 5 %% of peak throughput: the concurrency target's source): agrees in %d of %zu "
                "configurations (%d within one level)\n",
                saturationAgrees, liveCurves.size(), saturationNear);
    for (const QString& m : saturationMisses)
        std::printf("  differs: %s\n", qPrintable(m));
    int pcAgree = 0;
    std::vector<QString> pcMisses;
    // What following the other run's pick costs in live throughput: 1 − live(pick) ÷ live's best. A pick
    // that differs only because two predict_concurrency values are within noise of each other costs little.
    std::vector<double> pickCost;
    for (const auto& [group, byPc] : livePc) {
        if (byPc.size() < 2)
            continue;
        const int a = bestPc(byPc), b = bestPc(virtPc[group]);
        double best = 0;
        for (const auto& [pc, thr] : byPc)
            best = std::max(best, thr);
        const auto picked = byPc.find(b);
        const double cost = best > 0 && picked != byPc.end() ? 1 - picked->second / best : 1;
        pickCost.push_back(cost);
        if (a == b)
            ++pcAgree;
        else
            pcMisses.push_back(QString("%1 (%2 %3, %4 %5: %6 of the %2 best)").arg(group, lname).arg(a).arg(vname).arg(b).arg(pct(1 - cost)));
    }
    const auto near = std::count_if(pickCost.begin(), pickCost.end(), [](double c) { return c <= 0.05; });
    std::printf("best predict_concurrency (smallest within 5 %% of the best throughput): agrees in %d of %d; the %s pick is within 5 %% "
                "of the %s best throughput in %d (its cost: median %s, worst %s)\n",
                pcAgree, int(pickCost.size()), vname, lname, int(near), qPrintable(pct(Stat::median(pickCost))), qPrintable(pct(Stat::worst(pickCost))));
    for (const QString& m : pcMisses)
        std::printf("  differs: %s\n", qPrintable(m));

    if (!csvPath.isEmpty()) {
        QFile f(csvPath);
        if (f.open(QIODevice::WriteOnly)) {
            f.write("config,load,level,live_throughput_rps,virtual_throughput_rps,live_p50_ms,virtual_p50_ms,live_p95_ms,virtual_p95_ms,"
                    "live_ttft_p95_ms,virtual_ttft_p95_ms,live_itl_p50_ms,virtual_itl_p50_ms\n");
            for (const Cell& c : cells)
                f.write(QString("%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13\n")
                            .arg(c.live["config"].toString(), c.live["load"].toString())
                            .arg(c.live["level"].toDouble())
                            .arg(c.live["throughput_rps"].toDouble()).arg(c.virt["throughput_rps"].toDouble())
                            .arg(c.live["p50_ms"].toDouble()).arg(c.virt["p50_ms"].toDouble())
                            .arg(c.live["p95_ms"].toDouble()).arg(c.virt["p95_ms"].toDouble())
                            .arg(c.live["ttft_p95_ms"].toDouble()).arg(c.virt["ttft_p95_ms"].toDouble())
                            .arg(c.live["itl_p50_ms"].toDouble()).arg(c.virt["itl_p50_ms"].toDouble())
                            .toUtf8());
        }
    }
    Summary summary;
    summary.cells = cells.size();
    summary.groups = std::move(groups);
    summary.configurations = int(liveCurves.size());
    summary.kneesAgree = kneesAgree;
    summary.saturationAgrees = saturationAgrees;
    summary.pcGroups = int(pickCost.size());
    summary.pcAgree = pcAgree;
    return summary;
}

// The model's error beside the two floors under it, group by group: a live ÷ virtual error no larger than
// the live run's disagreement with itself (pass 2 ÷ pass 1) or than sampling alone (seed 2 ÷ seed 1) says
// nothing against the model. Second figure: the model against both passes averaged, whose own noise is
// about half the first floor. Medians of |error|.
void printAgainstFloors(const Summary& model, const Summary* averaged, const Summary* livePass, const Summary* sampling)
{
    const auto median = [](const Summary* s, const QString& group, bool p95) -> QString {
        if (!s)
            return "–";
        const auto it = s->groups.find(group);
        if (it == s->groups.end())
            return "–";
        return pct(Stat::median(p95 ? it->second.p95 : it->second.thr));
    };
    std::printf("\n## Against the floors (medians of |error|: live ÷ virtual · both live passes averaged ÷ virtual · live pass 2 ÷ pass 1 · "
                "virtual seed 2 ÷ seed 1)\n\n");
    std::printf("| cells | n | throughput | p95 |\n|---|---:|---|---|\n");
    const auto four = [&](const QString& name, bool p95) {
        return QString("%1 · %2 · %3 · %4")
            .arg(median(&model, name, p95), median(averaged, name, p95), median(livePass, name, p95), median(sampling, name, p95));
    };
    for (const auto& [name, st] : model.groups)
        std::printf("| %s | %zu | %s | %s |\n", qPrintable(name), st.thr.size(), qPrintable(four(name, false)), qPrintable(four(name, true)));
    // Two passes of the same noise σ around the truth: pass 2 ÷ pass 1 spreads by about √2 σ, one pass
    // against an exact model by σ, their average by σ / √2 — half the floor printed here.
    if (livePass)
        std::printf("\nWhere the passes' noise is independent, one pass meets an exact model at about 0.7× pass 2 ÷ pass 1, and their "
                    "average at about 0.5×.\n");
    const auto agreed = [](const Summary* s, int Summary::*count, int Summary::*total) -> QString {
        return s ? QString("%1 of %2").arg(s->*count).arg(s->*total) : QString("–");
    };
    std::printf("\n| agrees | live ÷ virtual | passes averaged ÷ virtual | pass 2 ÷ pass 1 | seed 2 ÷ seed 1 |\n|---|---|---|---|---|\n");
    const auto row = [&](const char* decision, int Summary::*count, int Summary::*total) {
        std::printf("| %s | %s | %s | %s | %s |\n", decision, qPrintable(agreed(&model, count, total)), qPrintable(agreed(averaged, count, total)),
                    qPrintable(agreed(livePass, count, total)), qPrintable(agreed(sampling, count, total)));
    };
    row("knee", &Summary::kneesAgree, &Summary::configurations);
    row("saturation", &Summary::saturationAgrees, &Summary::configurations);
    row("best predict_concurrency", &Summary::pcAgree, &Summary::pcGroups);
}

// A third floor, over the run's length: at one closed-loop user every configuration of a profile and
// batching mode runs the same experiment (one request at a time on one replica; predict_concurrency and
// replicas make no difference), minutes apart. How far those cells stray from their median is how much the
// live engine moves over the run, which one calibration cannot follow; the model's error on the same cells
// is beside it. Why: on the H200 (run 27) `medium`'s sixteen dynamic-batching cells at one user spread
// from 0.58 to 1.01 ms in p95 (BENCHMARKS.md "Fidelity", twenty-third session).
void printOverTheRun(const std::vector<QJsonObject>& live, const std::vector<QJsonObject>& virt)
{
    std::map<QString, QJsonObject> virtByKey;
    for (const QJsonObject& r : virt)
        virtByKey[cellKey(r)] = r;
    std::map<QString, std::vector<QJsonObject>> groups; // "profile/batching"
    for (const QJsonObject& r : live)
        if (r["load"].toString() == "closed" && r["level"].toDouble() == 1 && r["completed"].toInt() >= kMinCompleted)
            groups[r["profile"].toString() + "/" + r["batching"].toString()].push_back(r);
    bool header = false;
    for (const auto& [name, rows] : groups) {
        if (rows.size() < 3)
            continue;
        if (!header) {
            std::printf("\n## The live run over its length: one user, the same experiment in every configuration (medians of |error|: "
                        "each cell ÷ their median · live ÷ virtual on the same cells)\n\n");
            std::printf("| cells | n | throughput | p95 | p95 from – to (ms) |\n|---|---:|---|---|---|\n");
            header = true;
        }
        const auto spread = [&](const char* key) {
            std::vector<double> v;
            for (const QJsonObject& r : rows)
                v.push_back(r[key].toDouble());
            const double m = Stat::median(v);
            std::vector<double> dev, model;
            for (const QJsonObject& r : rows) {
                dev.push_back(std::abs(ratioErr(r[key].toDouble(), m)));
                if (const auto it = virtByKey.find(cellKey(r)); it != virtByKey.end())
                    model.push_back(std::abs(ratioErr(r[key].toDouble(), it->second[key].toDouble())));
            }
            return pct(Stat::median(dev)) + " · " + (model.empty() ? QString("–") : pct(Stat::median(model)));
        };
        double lo = INFINITY, hi = 0;
        for (const QJsonObject& r : rows) {
            lo = std::min(lo, r["p95_ms"].toDouble());
            hi = std::max(hi, r["p95_ms"].toDouble());
        }
        std::printf("| %s | %zu | %s | %s | %.3f – %.3f |\n", qPrintable(name), rows.size(), qPrintable(spread("throughput_rps")),
                    qPrintable(spread("p95_ms")), lo, hi);
    }
}

// Dynamic batching's closed loops at a few users per replica have more than one steady state: the users' requests
// batched together, or taking turns (one call each). Timing noise picks one when a level starts and it holds, so two
// live passes, or live and virtual, can measure different states of the same cell (BENCHMARKS.md "Fidelity",
// thirty-seventh session: `large` pc4/r1 at 2 users, 2,050 then 1,358 req/s). Requests per call says which state a
// window was in; the cells where the runs' states differ by more than a quarter are listed, not left out.
void printBatchStates(const std::map<int, std::vector<QJsonObject>>& passes, const std::vector<QJsonObject>& virt)
{
    const auto perCall = [](const QJsonObject& r) { // runs before predict_calls: a live run's host_calls
        const double calls = (r.contains("predict_calls") ? r["predict_calls"] : r["host_calls"]).toDouble();
        return calls > 0 ? r["completed"].toDouble() / calls : 0.0;
    };
    std::map<QString, std::vector<double>> states; // cell -> requests per call: pass 1, pass 2, …
    for (const auto& [rep, rows] : passes)
        for (const QJsonObject& r : rows)
            if (r["batching"].toString() == "dynamic" && r["load"].toString() == "closed" && r["completed"].toInt() >= kMinCompleted)
                states[cellKey(r)].push_back(perCall(r));
    std::map<QString, double> virtState;
    for (const QJsonObject& r : virt)
        virtState[cellKey(r)] = perCall(r);
    int cells = 0, livePassesDiffer = 0, virtualDiffers = 0;
    QStringList lines;
    const auto apart = [](double a, double b) { return a > 0 && b > 0 && std::max(a, b) / std::min(a, b) > 1.25; };
    for (const auto& [key, live] : states) {
        const auto v = virtState.find(key);
        // A cell measured in every pass, with calls counted in each (rows before host_calls have none).
        if (v == virtState.end() || v->second <= 0 || live.size() != passes.size()
            || *std::min_element(live.begin(), live.end()) <= 0)
            continue;
        ++cells;
        const bool passesApart = apart(*std::min_element(live.begin(), live.end()), *std::max_element(live.begin(), live.end()));
        bool virtApart = true;
        for (double a : live)
            virtApart = virtApart && apart(a, v->second);
        livePassesDiffer += passesApart;
        virtualDiffers += virtApart;
        if (passesApart || virtApart) {
            QStringList perPass;
            for (double a : live)
                perPass << QString::number(a, 'f', 2);
            lines << QString("| %1 | %2 | %3 |").arg(QString(key).replace('|', ' '), perPass.join(" / "), QString::number(v->second, 'f', 2));
        }
    }
    if (cells == 0)
        return;
    std::printf("\n## Dynamic batching's closed loops: requests per call (their steady state)\n\n");
    std::printf("cells: %d; the live passes in different states: %d; virtual in a state no live pass was in: %d\n", cells,
                livePassesDiffer, virtualDiffers);
    if (!lines.isEmpty())
        std::printf("\n| cell | live, pass by pass | virtual |\n|---|---|---|\n%s\n", qPrintable(lines.join('\n')));
}

} // namespace

int runCompare(const Options& o)
{
    if (!o.floorPath.isEmpty() && !QFile::exists(o.floorPath)) {
        std::fprintf(stderr, "knee-bench-fidelity: --floor: no file \"%s\"\n", qPrintable(o.floorPath));
        return 2;
    }
    for (const QString& path : {o.livePath, o.virtualPath})
        if (path.isEmpty() || !QFile::exists(path)) {
            std::fprintf(stderr, "knee-bench-fidelity: compare needs --live FILE and --virtual FILE (missing: \"%s\")\n", qPrintable(path));
            return 2;
        }
    const auto live = readRows(o.livePath), virt = readRows(o.virtualPath);
    std::map<int, std::vector<QJsonObject>> passes; // rep -> rows (rows without "rep" are pass 0)
    for (const QJsonObject& r : live)
        passes[r["rep"].toInt(0)].push_back(r);
    const Summary model = compareSets(passes[0], virt, "live", "virtual", o.out);
    std::optional<Summary> livePass, sampling;
    // The floor under the table above: the same cells measured again in the same engine, each later pass
    // against the first (it starts after the first pass's largest level, not after a cold start).
    for (const auto& [rep, rows] : passes) {
        if (rep == 0)
            continue;
        const std::string name = "pass " + std::to_string(rep + 1);
        std::printf("\n## The live run against itself: %s ÷ pass 1\n\n", name.c_str());
        const Summary s = compareSets(rows, passes[0], name.c_str(), "pass 1", {});
        if (rep == 1)
            livePass = s;
    }
    // The model against the best live estimate: each cell's two passes averaged (a mean of their p95s, not
    // the pooled p95; completed is the smaller pass's, for the thin-window rule; the host's steal the larger,
    // so a cell either pass saw disturbed counts as disturbed). Cells measured in one pass only are left out.
    std::optional<Summary> averaged;
    if (passes.count(1)) {
        std::map<QString, QJsonObject> second;
        for (const QJsonObject& r : passes[1])
            second[cellKey(r)] = r;
        std::vector<QJsonObject> mean;
        int unmatched = 0;
        for (QJsonObject r : passes[0]) {
            const auto it = second.find(cellKey(r));
            if (it == second.end()) {
                ++unmatched;
                continue;
            }
            const QJsonObject& other = it->second;
            for (const char* k : {"throughput_rps", "p50_ms", "p95_ms", "ttft_p95_ms", "itl_p50_ms"})
                r[k] = 0.5 * (r[k].toDouble() + other[k].toDouble());
            r["completed"] = std::min(r["completed"].toInt(), other["completed"].toInt());
            QJsonObject conditions = r["conditions"].toObject();
            const QJsonObject otherConditions = other["conditions"].toObject();
            if (conditions.contains("steal_pct") || otherConditions.contains("steal_pct")) {
                conditions["steal_pct"] = std::max(conditions["steal_pct"].toDouble(), otherConditions["steal_pct"].toDouble());
                r["conditions"] = conditions;
            }
            mean.push_back(r);
        }
        std::printf("\n## Both live passes averaged ÷ virtual\n\n");
        if (unmatched > 0)
            std::printf("cells of pass 1 without a pass 2 (left out here): %d\n\n", unmatched);
        averaged = compareSets(mean, virt, "passes averaged", "virtual", {});
    }
    // The floor that sampling alone sets: the same virtual cells with other arrivals and draws (a run with
    // another --seed). A live ÷ virtual error at that size says nothing about the model.
    if (!o.floorPath.isEmpty()) {
        const auto floor = readRows(o.floorPath);
        std::printf("\n## Sampling alone: the virtual run with another seed ÷ the virtual run\n\n");
        std::vector<QJsonObject> tagged = floor; // the live rows' shares, for the groups by share
        std::map<QString, double> share;
        for (const QJsonObject& r : passes[0])
            if (r.contains("share"))
                share[cellKey(r)] = r["share"].toDouble();
        for (QJsonObject& r : tagged)
            if (const auto it = share.find(cellKey(r)); it != share.end())
                r["share"] = it->second;
        sampling = compareSets(tagged, virt, "seed 2", "virtual", {});
    }
    if (livePass || sampling)
        printAgainstFloors(model, averaged ? &*averaged : nullptr, livePass ? &*livePass : nullptr, sampling ? &*sampling : nullptr);
    printOverTheRun(passes[0], virt);
    printBatchStates(passes, virt);
    return model.cells ? 0 : 1;
}

} // namespace fidelity
