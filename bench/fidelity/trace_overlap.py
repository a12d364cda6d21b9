#!/usr/bin/env python3
"""How live calls overlapped on their device, and what processor sharing would have charged them.

Reads the per-call traces of `knee-bench-fidelity live --trace DIR` (one CSV per window: each call's start
and end on the host's steady clock, its device and batch) and the profile's calibration JSON (`knee calibrate
--json`: T(1, k) by calls in flight). For each window, the calls on each device are replayed through the
engine's device model with the same start times: processor sharing, each of k calls in flight advancing at
S(k) / k of its solo speed, T(1, k) read as ServiceTable::msAt reads it (linear in k, saturated beyond the last row), with the table's
tail if it has one. A call's solo time is the window's own median of the calls that ran alone (so the device's
draw of the moment cancels out; calls alone include those after an idle gap, which the median mostly is not);
what is left is how sharing cost the calls that overlapped, measured against modelled. Calls are grouped by
their modelled peak (grouping by the measured one would pick the long calls).

--rates device models what the engine does with a table that has device times (ServiceTable::deviceMs): each
call's device work is D(1, 1) (the calibration's CUDA-event time alone), shared at D(1, 1) / D(1, k), and the
rest of its solo time (launch, wait, hand-off) runs off the device; --device-cap N lets at most N calls into their
device work at once, the rest waiting in start order. --rates host (the default for a calibration without
device_ms) shares the whole call, or all but --tail-ms, at rates from the host's T(1, k).

    python3 bench/fidelity/trace_overlap.py --live live.jsonl --traces DIR --calibration tables/medium.json [--load poisson] [--rates host|device]

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


def table_curve(calibration):
    """T(1, k) by calls in flight (k = 1 first) and the tail, from `knee calibrate --json`."""
    t = calibration["predict_table"]
    return t["concurrency"], [row[0] for row in t["ms_by_concurrency"]], t.get("tail_ms", 0.0)


def t_at(k, ks, t1k):
    """T(1, k) as ServiceTable::msAt reads it: linear in k between rows, saturated beyond the last."""
    if k <= ks[0]:
        return t1k[0]
    if k >= ks[-1]:
        return t1k[-1] * k / ks[-1]
    i = bisect.bisect_left(ks, k)
    return t1k[i - 1] + (t1k[i] - t1k[i - 1]) * (k - ks[i - 1]) / (ks[i] - ks[i - 1])


def rate(k, ks, t1k, tail):
    """The share of its solo speed each of k calls in flight gets on its device work (docs/DESIGN.md "The device")."""
    return (t1k[0] - tail) / (t_at(k, ks, t1k) - tail)


def replay(calls, solo_ms, ks, t1k, tail):
    """Processor sharing over the recorded starts: each call's modelled duration and the most calls it shared
    the device with (same order as calls). A call is solo_ms - tail of shared device work, then tail alone."""
    return replay_with(calls, solo_ms - tail, solo_ms, lambda k: rate(k, ks, t1k, tail))


def replay_with(calls, work_ms, solo_ms, rate_of, cap=None):
    """Processor sharing over the recorded starts: each call work_ms of device work, each of k calls in their
    device work at rate_of(k) of its solo speed, then solo_ms - work_ms off the device. With a cap, at most that
    many calls are in their device work; the others wait for a place in start order (the wait counts in the
    call's time)."""
    order = sorted(range(len(calls)), key=lambda i: calls[i][0])
    tail = max(solo_ms - work_ms, 0.0)
    work = max(work_ms, 1e-9)
    remaining = {}  # index -> device work left (ms)
    waiting = []    # started, no place on the device yet (cap)
    modelled, peak = [0.0] * len(calls), [1] * len(calls)
    now, nxt = 0.0, 0
    while nxt < len(order) or remaining or waiting:
        k = len(remaining)
        start_at = calls[order[nxt]][0] if nxt < len(order) else float("inf")
        if k:
            r = rate_of(k)
            step = min(min(remaining.values()) / r, start_at - now)
            for i in remaining:
                remaining[i] -= r * step
            now += step
            for i in [i for i, w in remaining.items() if w <= 1e-9]:
                modelled[i] = now + tail - calls[i][0]
                del remaining[i]
        else:
            now = start_at
        while nxt < len(order) and calls[order[nxt]][0] <= now + 1e-12:
            waiting.append(order[nxt])
            nxt += 1
        while waiting and (cap is None or len(remaining) < cap):
            remaining[waiting.pop(0)] = work
        for i in remaining:
            peak[i] = max(peak[i], len(remaining))
    return modelled, peak


def measured_peak(calls):
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
    ap.add_argument("--tail-ms", type=float, default=None, help="a tail to model (default: the table's, else 0)")
    ap.add_argument("--device-cap", type=int, default=None,
                    help="with --rates device: at most this many calls in their device work, the others waiting in start order")
    ap.add_argument("--rates", choices=["host", "device"], default=None,
                    help="rates from the host's T(1, k) or the device's D(1, k) (default: device where the calibration has device_ms)")
    a = ap.parse_args()
    with open(a.calibration) as f:
        calibration = json.load(f)
    ks, t1k, tail = table_curve(calibration)
    d1k = [row[0] for row in calibration.get("device_ms", [])]
    if a.rates is None:
        a.rates = "device" if len(d1k) == len(ks) and all(d > 0 for d in d1k) else "host"
    if a.rates == "device" and not (len(d1k) == len(ks) and all(d > 0 for d in d1k)):
        sys.exit("trace_overlap: --rates device needs the calibration's device_ms for every k")
    if a.tail_ms is not None:
        tail = a.tail_ms
    if a.rates == "device":
        cap = f"; at most {a.device_cap} calls in their device work, the others waiting" if a.device_cap else ""
        print(f"D(1, k) at k = {ks}: {[round(x, 4) for x in d1k]} ms (device times: each call D(1, 1) of device work, the rest of its solo time off the device{cap})\n")
    else:
        print(f"T(1, k) at k = {ks}: {[round(x, 4) for x in t1k]} ms; tail {tail} ms\n")
    print("| cell | calls | alone (measured) | alone median (ms) | all: measured ÷ modelled | modelled peak 2: measured ÷ modelled | peak 3+ |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    pooled = {"all": [0.0, 0.0], 2: [0.0, 0.0], 3: [0.0, 0.0]}
    with open(a.live) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    for r in rows:
        if "trace" not in r or (a.load != "all" and r["load"] != a.load):
            continue
        cell = f"{r['config']} {r['load']} {r['level']:.0f} (pass {r.get('rep', 0) + 1})"
        if r.get("trace_dropped", 0) > 0:
            print(f"| {cell} | skipped: {r['trace_dropped']} calls beyond the trace's bound | | | | | |")
            continue
        by_device = {}
        batches = set()
        with open(os.path.join(a.traces, r["trace"])) as f:
            for c in csv.DictReader(f):
                batches.add(int(c["batch"]))
                by_device.setdefault(c["gpu"], []).append((float(c["start_ms"]), float(c["end_ms"])))
        if batches - {1}:
            print(f"| {cell} | skipped: batches of {sorted(batches)} (the curve here is batch 1's) | | | | | |")
            continue
        sums = {"all": [0.0, 0.0], 2: [0.0, 0.0], 3: [0.0, 0.0]}
        n, alone_n, alone_ms = 0, 0, []
        for calls in by_device.values():
            peaks = measured_peak(calls)
            alone = [e - s for (s, e), p in zip(calls, peaks) if p == 1 and s >= 0]
            if len(alone) < 20:
                continue
            solo = statistics.median(alone)
            if a.rates == "device":
                modelled, mpeak = replay_with(calls, min(d1k[0], solo), solo, lambda k: d1k[0] / t_at(k, ks, d1k), a.device_cap)
            else:
                modelled, mpeak = replay(calls, solo, ks, t1k, tail)
            last = max(e for _, e in calls)
            for (s, e), m, mp, p in zip(calls, modelled, mpeak, peaks):
                # Calls that began before the trace, or that ended near its end (the ones still running at
                # its end were not recorded), saw overlaps the trace does not hold: context only.
                if s < 0 or e > last - 3 * solo:
                    continue
                n += 1
                alone_n += p == 1
                for key in ("all", 2 if mp == 2 else 3 if mp > 2 else None):
                    if key is not None:
                        sums[key][0] += e - s
                        sums[key][1] += m
            alone_ms += alone
        if n == 0:
            print(f"| {cell} | skipped: fewer than 20 calls alone on a device | | | | | |")
            continue
        def ratio(key):
            m, p = sums[key]
            pooled[key][0] += m
            pooled[key][1] += p
            return f"{m / p:.3f}" if p > 0 else "–"
        print(f"| {cell} | {n} | {100 * alone_n / n:.0f} % | {statistics.median(alone_ms):.4f} | {ratio('all')} | {ratio(2)} | {ratio(3)} |")
    for key, (m, p) in pooled.items():
        if p > 0:
            what = "every call" if key == "all" else f"calls modelled with a peak of {'2' if key == 2 else '3 or more'}"
            print(f"\npooled, {what}: measured ÷ modelled {m / p:.3f}", end="")
    print()


if __name__ == "__main__":
    sys.exit(main())
