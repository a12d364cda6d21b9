#!/usr/bin/python3
"""Replays a GPU session's cells in virtual time, here, with the per-call variation derived again from the
raw calibration samples (`knee calibrate --json`'s host_ms_samples), and compares each with its live run.

    bench/gpu_session/replay.py RESULTS_DIR [--knee build/app/knee] [--method k1|pooled ...]

pooled: every point's ratios, k calls in flight included (what `knee calibrate` writes); k1: the ratios
of calls alone on the device (one call in flight) only, pooled over batch sizes.
Needs no GPU: the live side is the session's files, the virtual side is deterministic.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]  # ServiceTable::kVariationQuantiles


def median(v):
    s = sorted(v)
    return s[len(s) // 2]  # as engine/predict/calibration.cpp: the upper median


def variation(samples, method):
    ratios = []
    for k_index, by_batch in enumerate(samples):
        if method == "k1" and k_index > 0:
            continue
        for calls in by_batch:
            m = median(calls)
            ratios += [c / m for c in calls if m > 0]
    ratios.sort()
    if len(ratios) < 100:
        return None
    q = [round(ratios[min(len(ratios) - 1, int(p * len(ratios)))], 4) for p in QUANTILES]
    mid = len(q) // 2
    q[mid] = min(max(1.0, q[mid - 1]), q[mid + 1])
    return q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--knee", default="build/app/knee")
    ap.add_argument("--method", action="append", choices=["k1", "pooled"])
    a = ap.parse_args()
    d = pathlib.Path(a.results)
    cal = json.loads((d / "calibrate.json").read_text())
    samples = cal.get("host_ms_samples")
    if not samples:
        sys.exit(f"{d}/calibrate.json has no host_ms_samples (a knee older than 2026-12-02 measured it)")
    print("cell method variation_mean virtual_rps live_rps live/virtual p50_v p50_l p95_v p95_l")
    for method in a.method or ["pooled", "k1"]:
        q = variation(samples, method)
        if q is None:
            print(f"{method}: fewer than 100 timed calls, no variation (the table's as written)")
        mean = 1.0 if q is None else sum((q[i] + q[i + 1]) / 2 * (QUANTILES[i + 1] - QUANTILES[i]) for i in range(len(q) - 1)) + q[0] * 0.01 + q[-1] * 0.01
        for cell in sorted(d.glob("cell_*_*.yaml")):
            live = json.loads((d / (cell.stem + "_live.json")).read_text())
            text = cell.read_text()
            text = re.sub(r"variation: \[[^\]]*\]", "variation: [" + ", ".join(str(x) for x in q) + "]", text) if q else text
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                f.write(text)
            v = json.loads(subprocess.run([a.knee, "simulate", f.name, "--json"], capture_output=True, check=True, text=True).stdout)
            pathlib.Path(f.name).unlink()
            print(cell.stem, method, round(mean, 3), round(v["throughput_rps"]), round(live["throughput_rps"]),
                  round(live["throughput_rps"] / v["throughput_rps"], 3), round(v["latency_ms"]["p50"], 3), round(live["latency_ms"]["p50"], 3),
                  round(v["latency_ms"]["p95"], 3), round(live["latency_ms"]["p95"], 3))


if __name__ == "__main__":
    main()
