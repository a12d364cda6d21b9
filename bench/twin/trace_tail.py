#!/usr/bin/env python3
"""Takes the tail of an open-loop run apart (knee-bench-twin --trace FILE; issue 15's Poisson p95).

    python3 bench/twin/trace_tail.py poisson.csv[.gz] [--bin-ms 100] [--top 10]

Prints, over the measured requests: the latency's quantiles; how late the client sent (sent - intended),
which the latency includes; whether the arrivals bunch (the gaps' coefficient of variation: 1 for Poisson);
and the latency in time, by bins: the slowest bins, the share of the run's slowest 5 % that fall in its
slowest tenth of bins (bursts of arrivals concentrate them there at high load too, so compare with a virtual
run on the same arrivals: an arrival trace of the `intended_ms` column, `arrival: {kind: trace}`), and the
strongest period in the bins' p95 (a timer that stalls the server every second shows at 1000 ms).
Standard library only, like the rest of bench/twin.
"""
import argparse
import csv
import gzip
import statistics
import sys


def quantile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--bin-ms", type=float, default=100.0)
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    rows = []
    failed = 0
    # The results folders keep traces gzipped; read either.
    opener = gzip.open if a.trace.endswith(".gz") else open
    with opener(a.trace, "rt", newline="") as f:
        for r in csv.DictReader(f):
            if r["measured"] != "1":
                continue
            if r["ok"] != "1":
                failed += 1
                continue
            rows.append({k: float(r[k]) for k in ("intended_ms", "sent_ms", "ended_ms", "latency_ms")})
    if len(rows) < 100:
        sys.exit(f"{a.trace}: {len(rows)} measured requests that succeeded: too few to say anything")
    rows.sort(key=lambda r: r["intended_ms"])
    lat = sorted(r["latency_ms"] for r in rows)
    late = sorted(r["sent_ms"] - r["intended_ms"] for r in rows)
    print(f"{len(rows)} measured requests over {(rows[-1]['intended_ms'] - rows[0]['intended_ms']) / 1000:.1f} s; "
          f"{failed} failed, left out (requests unfinished at the drain's end are not in a trace)")
    print("latency ms:      " + "  ".join(f"p{int(q * 100)} {quantile(lat, q):.3f}" for q in (0.5, 0.9, 0.95, 0.99)) + f"  max {lat[-1]:.3f}")
    print("client late ms:  " + "  ".join(f"p{int(q * 100)} {quantile(late, q):.3f}" for q in (0.5, 0.9, 0.95, 0.99)) + f"  max {late[-1]:.3f}")
    for name, key in (("intended", "intended_ms"), ("sent", "sent_ms")):
        times = sorted(r[key] for r in rows)
        gaps = [b - a_ for a_, b in zip(times, times[1:])]
        mean = statistics.fmean(gaps)
        print(f"{name} gaps: mean {mean:.4f} ms, cv {statistics.pstdev(gaps) / mean:.3f}, "
              f"share under 10 us {sum(g < 0.01 for g in gaps) / len(gaps):.3f}")
    # Latency in time.
    t0 = rows[0]["intended_ms"]
    bins = {}
    for r in rows:
        bins.setdefault(int((r["intended_ms"] - t0) // a.bin_ms), []).append(r["latency_ms"])
    full = {b: sorted(v) for b, v in bins.items() if len(v) >= 20}
    p95s = {b: quantile(v, 0.95) for b, v in full.items()}
    print(f"bins of {a.bin_ms:g} ms with 20 requests or more: {len(full)}; their p95: "
          + "  ".join(f"p{int(q * 100)} {quantile(sorted(p95s.values()), q):.3f}" for q in (0.1, 0.5, 0.9)))
    slow = sorted(p95s, key=lambda b: -p95s[b])
    if not full:
        return
    print(f"slowest bins (start s from the trace's zero: p95 ms, requests): "
          + ", ".join(f"{(t0 + b * a.bin_ms) / 1000:.1f}: {p95s[b]:.2f} ({len(full[b])})" for b in slow[: a.top]))
    cut = quantile(lat, 0.95)
    worst_tenth = set(slow[: max(1, len(slow) // 10)])
    tail = [r for r in rows if r["latency_ms"] >= cut]
    in_worst = sum(int((r["intended_ms"] - t0) // a.bin_ms) in worst_tenth for r in tail)
    print(f"the slowest 5 % (>= {cut:.3f} ms): {in_worst / len(tail):.2f} of them in the slowest tenth of bins")
    # The strongest period in the bins' p95: the highest autocorrelation at a lag past its first fall below
    # zero (a tail that comes in slow waves correlates at every short lag without being periodic).
    keys = sorted(p95s)
    series = [p95s.get(b) for b in range(keys[0], keys[-1] + 1)]
    known = [v for v in series if v is not None]
    mu = statistics.fmean(known)
    var = statistics.fmean([(v - mu) ** 2 for v in known])
    best = None
    crossed = False
    for lag in range(1, len(series) // 2):
        pairs = [(x, y) for x, y in zip(series, series[lag:]) if x is not None and y is not None]
        if len(pairs) < 10 or var <= 0:
            continue
        r = statistics.fmean([(x - mu) * (y - mu) for x, y in pairs]) / var
        crossed = crossed or r < 0
        if crossed and (best is None or r > best[1]):
            best = (lag, r)
    if best:
        print(f"strongest period in the bins' p95: {best[0] * a.bin_ms:g} ms (autocorrelation {best[1]:.2f}; below 0.3: none to speak of)")


if __name__ == "__main__":
    main()
