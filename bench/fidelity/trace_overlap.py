#!/usr/bin/env python3
"""How live calls overlapped on their device, and what processor sharing would have charged them.

Reads the per-call traces of `knee-bench-fidelity live --trace DIR` (one CSV per window: each call's start
and end on the host's steady clock, its device and batch) and the profile's calibration JSON (`knee calibrate
--json`: T(1, k) by calls in flight). For each window, the calls on each device are replayed through the
engine's device model with the same start times: processor sharing, each of k calls in flight advancing at
S(k) / k of its solo speed, S(k) = k T(1, 1) / T(1, k), saturated beyond the table's last k. A call's solo work
is the window's own median of the calls that ran alone (so the device's draw of the moment cancels out); what
is left is how sharing cost the calls that overlapped, measured against modelled.

    python3 bench/fidelity/trace_overlap.py --live live.jsonl --traces DIR --calibration tables/medium.json [--load poisson]

Why by hand: the replay is a few lines of event-driven arithmetic over recorded starts, and the machines that
read these traces have Debian's python3 but not necessarily numpy.
"""
import argparse
import bisect
import csv
import json
import os
import statistics
import sys


def speedup_curve(calibration):
    t = calibration["predict_table"]
    ks = t["concurrency"]
    t1k = [row[0] for row in t["ms_by_concurrency"]]  # batch 1
    return ks, t1k


def speed_per_call(k, ks, t1k):
    """S(k) / k: the share of its solo speed each of k calls in flight gets (linear between measured k)."""
    def s(kk):
        if kk <= ks[0]:
            return 1.0
        if kk >= ks[-1]:
            return ks[-1] * t1k[0] / t1k[-1]  # saturated: no more speed beyond the last row
        i = bisect.bisect_left(ks, kk)
        s0, s1 = ks[i - 1] * t1k[0] / t1k[i - 1], ks[i] * t1k[0] / t1k[i]
        return s0 + (s1 - s0) * (kk - ks[i - 1]) / (ks[i] - ks[i - 1])
    return s(k) / k


def replay(calls, solo_ms, ks, t1k):
    """Processor sharing over the recorded starts: each call's modelled duration (same order as calls)."""
    order = sorted(range(len(calls)), key=lambda i: calls[i][0])
    remaining = {}  # index -> solo work left (ms)
    modelled = [0.0] * len(calls)
    now = 0.0
    nxt = 0
    while nxt < len(order) or remaining:
        k = len(remaining)
        rate = speed_per_call(k, ks, t1k) if k else 0.0
        finish_in = min(remaining.values()) / rate if k else float("inf")
        start_at = calls[order[nxt]][0] if nxt < len(order) else float("inf")
        step = min(finish_in, start_at - now) if k else start_at - now
        if k:
            for i in remaining:
                remaining[i] -= rate * step
        now += step
        for i in [i for i, w in remaining.items() if w <= 1e-9]:
            modelled[i] = now - calls[i][0]
            del remaining[i]
        while nxt < len(order) and calls[order[nxt]][0] <= now + 1e-12:
            remaining[order[nxt]] = solo_ms
            nxt += 1
    return modelled


def peak_overlap(calls):
    """For each call, the most calls (itself included) in flight on its device at any moment of it."""
    events = sorted([(s, 1, i) for i, (s, e) in enumerate(calls)] + [(e, -1, i) for i, (s, e) in enumerate(calls)],
                    key=lambda x: (x[0], x[1]))
    active, peak = set(), [1] * len(calls)
    for _, kind, i in events:
        if kind == 1:
            active.add(i)
            for j in active:
                peak[j] = max(peak[j], len(active))
        else:
            active.discard(i)
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--live", required=True)
    ap.add_argument("--traces", required=True)
    ap.add_argument("--calibration", required=True, help="knee calibrate --json output for the profile")
    ap.add_argument("--load", default="poisson", choices=["poisson", "closed", "all"])
    a = ap.parse_args()
    with open(a.calibration) as f:
        ks, t1k = speedup_curve(json.load(f))
    print("| cell | calls | alone | alone median (ms) | overlapped: measured / processor sharing (ms) | ratio | peak 2 | peak 3+ |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    pooled = {2: [0.0, 0.0], 3: [0.0, 0.0]}
    with open(a.live) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for r in rows:
        if "trace" not in r or (a.load != "all" and r["load"] != a.load):
            continue
        path = os.path.join(a.traces, r["trace"])
        by_device = {}
        with open(path) as f:
            for c in csv.DictReader(f):
                if int(c["batch"]) != 1:
                    continue  # the curve is batch 1's
                by_device.setdefault(c["gpu"], []).append((float(c["start_ms"]), float(c["end_ms"])))
        measured_all, modelled_all, peaks_all = [], [], []
        alone_all = []
        for calls in by_device.values():
            peaks = peak_overlap(calls)
            alone = [e - s for (s, e), p in zip(calls, peaks) if p == 1]
            if len(alone) < 20:
                continue
            solo = statistics.median(alone)
            modelled = replay(calls, solo, ks, t1k)
            measured_all += [e - s for s, e in calls]
            modelled_all += modelled
            peaks_all += peaks
            alone_all += alone
        if not measured_all:
            continue
        over = [(m, p, k) for m, p, k in zip(measured_all, modelled_all, peaks_all) if k > 1]
        by_peak = {}
        for m, p, k in over:
            key = 2 if k == 2 else 3
            by_peak.setdefault(key, []).append(m / p if p > 0 else 1)
            pooled[key][0] += m
            pooled[key][1] += p
        mean_m = statistics.mean(m for m, _, _ in over) if over else 0
        mean_p = statistics.mean(p for _, p, _ in over) if over else 0
        cell = f"{r['config']} {r['load']} {r['level']:.0f} (pass {r.get('rep', 0) + 1})"
        share = len(alone_all) / len(measured_all)
        ratio = f"{mean_m / mean_p:.3f}" if mean_p else "–"
        def med(key):
            return f"{statistics.median(by_peak[key]):.3f}" if key in by_peak else "–"
        print(f"| {cell} | {len(measured_all)} | {100 * share:.0f} % | {statistics.median(alone_all):.4f} | "
              f"{mean_m:.4f} / {mean_p:.4f} | {ratio} | {med(2)} | {med(3)} |")
    for key, (m, p) in pooled.items():
        if p > 0:
            print(f"\npooled, calls whose peak was {'2' if key == 2 else '3 or more'}: measured ÷ processor sharing {m / p:.3f}",
                  end="")
    print()


if __name__ == "__main__":
    sys.exit(main())
