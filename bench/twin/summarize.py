#!/usr/bin/python3
"""Summarises bench/twin/run_reference.sh's output directory (BENCHMARKS.md "Twins"): per run, the fit's own
replay and cross-validation errors (from each fit's report), then, per server kind, replica count and load,
the twin's error against the measurement: the median and the worst over the runs, for throughput, p50, p95
and (streams) TTFT p50 and inter-token p50. Standard library only.

  /usr/bin/python3 bench/twin/summarize.py /tmp/twin-reference
"""
import glob
import json
import os
import re
import statistics
import sys


def pct(m, t):
    return 100.0 * (t - m) / m if m else 0.0


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/twin-reference"
    print("| fit | replay within | cross-validation within |")
    print("| --- | ---: | ---: |")
    for path in sorted(glob.glob(os.path.join(out, "*.fit.txt"))):
        text = open(path, encoding="utf-8").read()
        replay = re.search(r"replays them within ([0-9.]+) %", text)
        cv = re.search(r"predicts left-out levels within ([0-9.]+) %", text)
        name = os.path.basename(path)[: -len(".fit.txt")]
        print(f"| {name} | {replay.group(1) + ' %' if replay else 'no twin'} | {cv.group(1) + ' %' if cv else '—'} |")
    rows = [json.loads(line) for line in open(os.path.join(out, "rows.jsonl"), encoding="utf-8") if line.strip()]
    groups = {}
    for r in rows:
        kind = r["label"].split("-run")[0]
        load = "poisson 80 %" if r["load"].startswith("poisson") else "closed %d/replica" % (int(r["load"].split()[1]) // r["replicas"])
        groups.setdefault((kind, r["replicas"], load), []).append(r)
    cols = [("throughput_rps", "req/s"), ("p50_ms", "p50"), ("p95_ms", "p95"), ("ttft_p50_ms", "TTFT p50"), ("itl_p50_ms", "ITL p50")]
    print()
    print("| server | replicas | load | runs | " + " | ".join(f"{c} median / worst" for _, c in cols) + " |")
    print("| --- | ---: | --- | ---: | " + " | ".join("---:" for _ in cols) + " |")
    order = lambda k: (k[0], k[1], 0 if k[2].startswith("closed") else 1, int(re.sub(r"\D", "", k[2]) or 0))
    for key in sorted(groups, key=order):
        cells = []
        for field, _ in cols:
            errs = [abs(pct(r["measured"][field], r["twin"][field])) for r in groups[key] if field in r["measured"] and field in r["twin"]]
            cells.append(f"{statistics.median(errs):.1f} / {max(errs):.1f} %" if errs else "")
        print(f"| {key[0]} | {key[1]} | {key[2]} | {len(groups[key])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
