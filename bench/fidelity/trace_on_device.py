#!/usr/bin/env python3
"""How many calls were really on the device, window by window, against how many the engine had in flight.

Reads the per-call traces of `knee-bench-fidelity live --trace DIR` whose rows carry the device spans
(device_start_ms, device_end_ms: each call's first and last CUDA event on the host's clock, written since the
thirty-sixth session) and, per window and device:

- in flight (host): the calls' host time (submit to completion) over the window's span: the engine's calls in
  flight on average, what the device model counts as k;
- on the device: the calls' device time over the union of their device spans: the calls that shared the device
  while it held any (what calibrate reports as device_in_flight for its steady loads);
- busy: that union over the window's span;
- host part: the median of host time minus device time per call (launch, wait, hand-off), beside the median
  device time.

    python3 bench/fidelity/trace_on_device.py --live live.jsonl --traces DIR [--load closed|poisson|all]

Why by hand: a few sums over sorted spans; the machines that read these traces have Debian's python3 but not
necessarily numpy.
"""
import argparse
import csv
import json
import os
import statistics
import sys


def union_ms(spans):
    """The length of the union of (start, end) spans."""
    total, lo, hi = 0.0, None, None
    for s, e in sorted(spans):
        if hi is None or s > hi:
            if hi is not None:
                total += hi - lo
            lo, hi = s, e
        else:
            hi = max(hi, e)
    return total + (hi - lo if hi is not None else 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--live", required=True)
    ap.add_argument("--traces", required=True)
    ap.add_argument("--load", default="all", choices=["poisson", "closed", "all"])
    a = ap.parse_args()
    with open(a.live) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    print("| cell | device | calls | in flight (host) | on the device | busy | device median (ms) | host part median (ms) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    shown = 0
    for r in rows:
        if "trace" not in r or (a.load != "all" and r["load"] != a.load):
            continue
        path = os.path.join(a.traces, r["trace"])
        if not os.path.exists(path):
            continue
        cell = f"{r['config']} {r['load']} {r['level']:.0f} (pass {r.get('rep', 0) + 1})"
        by_device = {}
        with open(path) as f:
            for c in csv.DictReader(f):
                if not c.get("device_start_ms"):
                    continue
                by_device.setdefault(c["gpu"], []).append(
                    (float(c["start_ms"]), float(c["end_ms"]), float(c["device_start_ms"]), float(c["device_end_ms"])))
        if not by_device:
            print(f"| {cell} | | skipped: no device spans in the trace | | | | | |")
            continue
        for gpu, calls in sorted(by_device.items()):
            calls = [c for c in calls if c[0] >= 0]  # calls begun before the trace saw overlaps it does not hold
            if len(calls) < 20:
                continue
            span = max(c[1] for c in calls) - min(c[0] for c in calls)
            host = sum(c[1] - c[0] for c in calls)
            device = [c[3] - c[2] for c in calls]
            busy = union_ms([(c[2], c[3]) for c in calls])
            part = [(c[1] - c[0]) - (c[3] - c[2]) for c in calls]
            print(f"| {cell} | {gpu} | {len(calls)} | {host / span:.2f} | {sum(device) / busy:.2f} | {100 * busy / span:.0f} % "
                  f"| {statistics.median(device):.4f} | {statistics.median(part):.4f} |")
            shown += 1
    if shown == 0:
        sys.exit("trace_on_device: no window with device spans (traces written before device_start_ms existed?)")


if __name__ == "__main__":
    main()
