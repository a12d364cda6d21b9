#!/usr/bin/env bash
# Here, after bench/sweep/run_states_gpu.sh: the same sweeps in virtual time on the tables calibrated there
# (`knee sweep --virtual --starts 3`), and per profile, predict_concurrency, level and start the live passes'
# throughput and requests per predict call against virtual's. RESULTS: run_states_gpu.sh's output folder.
# KNEE: the built knee.
set -euo pipefail
results=${1:?usage: states_compare.sh RESULTS}
here=$(cd "$(dirname "$0")" && pwd)
knee=${KNEE:-$here/../../build/app/knee}
sweep=${SWEEP:---warmup-s 0.3 --window-s 1 --cap-s 4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$results"/*/; do
  for s in "$d"scenario-pc*.yaml; do
    [ -e "$s" ] || continue
    pc=$(basename "$s" .yaml); pc=${pc#scenario-}
    for f in "$d"live-$pc-pass*.json.gz; do [ -e "$f" ] && zcat "$f" > "$tmp/$(basename "$d")-$(basename "$f" .gz)"; done
    "$knee" sweep "$s" --virtual --levels "${LEVELS:-1,2,4,8,16}" --starts 3 $sweep --out "$tmp/$(basename "$d")-virtual-$pc.json" >/dev/null
  done
done
python3 - "$tmp" <<'PY'
import glob, json, os, re, statistics, sys
tmp = sys.argv[1]
def levels(path):
    o = json.load(open(path))
    sweep = o["sweeps"][0] if "sweeps" in o else o
    return {l["concurrency"]: l for l in sweep["levels"]}
def starts(l):
    st = l.get("states")
    if not st:
        return {"together": (l["throughput_rps"], l["completed"] / max(l.get("predict_calls", 0), 1) if l.get("predict_calls") else 0)}
    return {s["start"]: (s["throughput_rps"], s["requests_per_call"]) for s in st["starts"]}
print("| profile | pc | users | start | live req/s (a call) by pass | virtual req/s (a call) | live ÷ virtual − 1 |")
print("| --- | ---: | ---: | --- | --- | --- | --- |")
errs, same, cells, chosen_errs = [], 0, 0, []
for vpath in sorted(glob.glob(os.path.join(tmp, "*-virtual-pc*.json"))):
    m = re.match(r"(.*)-virtual-(pc\d+)\.json", os.path.basename(vpath))
    profile, pc = m.group(1), m.group(2)
    virtual = levels(vpath)
    lives = [levels(p) for p in sorted(glob.glob(os.path.join(tmp, f"{profile}-live-{pc}-pass*.json")))]
    for users, vl in sorted(virtual.items()):
        if not all(users in l for l in lives) or not lives:
            continue
        vs = starts(vl)
        for start, (vt, vc) in vs.items():
            ls = [starts(l[users]).get(start) for l in lives]
            if any(x is None for x in ls):
                continue
            e = [lt / vt - 1 for lt, _ in ls]
            errs += [abs(x) for x in e]
            cells += 1
            same += all(abs(lc - vc) < 0.5 for _, lc in ls)
            print(f"| {profile} | {pc[2:]} | {users} | {start} | " + " / ".join(f"{lt:.0f} ({lc:.2f})" for lt, lc in ls)
                  + f" | {vt:.0f} ({vc:.2f}) | " + " / ".join(f"{100 * x:+.1f} %" for x in e) + " |")
        chosen_errs += [abs(l[users]["throughput_rps"] / vl["throughput_rps"] - 1) for l in lives]
if errs:
    print(f"\nper start: |live / virtual - 1| median {100 * statistics.median(errs):.1f} %, worst {100 * max(errs):.1f} % "
          f"over {len(errs)} passes; requests a call within 0.5 of virtual's in every pass: {same} of {cells} (level, start) cells")
    print(f"the levels' reported figures (the slowest start where they disagree): median {100 * statistics.median(chosen_errs):.1f} %, "
          f"worst {100 * max(chosen_errs):.1f} % over {len(chosen_errs)} passes")
PY
