#!/usr/bin/env bash
# GPU check of knee's telemetry (NVML loaded at run time), for a machine with an NVIDIA driver: builds the
# Qt-free telemetry module and its probe on their own (CMake and a C++20 compiler suffice), samples every GPU
# for a few seconds, and compares what knee read with nvidia-smi's own reading of the same GPUs:
#   bench/telemetry/run_gpu_check.sh [OUT_DIR]
# Passes when every GPU nvidia-smi lists was sampled, with the same name and total memory, memory used
# within 5 % (+256 MiB) of nvidia-smi's, and utilisation, power and SM clock present. Load on the GPU
# (e.g. a `knee simulate --live` of a model profile in another shell) shows as utilisation and power.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
build="$out/build-telemetry"
cmake -S "$root/engine/telemetry" -B "$build" -DCMAKE_BUILD_TYPE=Release >"$out/configure.log"
cmake --build "$build" -j >"$out/build.log"
"$build/knee-gpu-probe" --seconds "${KNEE_PROBE_SECONDS:-3}" --period-ms 200 >"$out/probe.jsonl" 2>"$out/probe.err" || {
  cat "$out/probe.err" >&2
  echo "run_gpu_check: the probe sampled no GPU" >&2
  exit 1
}
cat "$out/probe.err" "$out/probe.jsonl"
if ! command -v nvidia-smi >/dev/null; then
  echo "run_gpu_check: nvidia-smi is absent: nothing to compare with (the probe's figures are above)"
  exit 0
fi
nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu,power.draw,clocks.sm \
  --format=csv,noheader,nounits >"$out/nvidia-smi.csv"
cat "$out/nvidia-smi.csv"
py=/usr/bin/python3
[ -x "$py" ] || py=python3 # GPU images may carry only their own python3
"$py" - "$out/probe.jsonl" "$out/nvidia-smi.csv" <<'EOF'
import csv, json, sys
probe = {g["gpu"]: g for g in map(json.loads, open(sys.argv[1]))}
problems = []
rows = list(csv.reader(open(sys.argv[2]), skipinitialspace=True))
for index, name, total_mib, used_mib, *_ in rows:
    g = probe.get(int(index))
    if g is None:
        problems.append(f"GPU {index} ({name}) was not sampled")
        continue
    if g["name"] != name:
        problems.append(f"GPU {index}: name {g['name']!r}, nvidia-smi says {name!r}")
    if abs(g["memory_total_bytes"] / 2**20 - float(total_mib)) > 1:
        problems.append(f"GPU {index}: total memory {g['memory_total_bytes'] / 2**20:.0f} MiB, nvidia-smi {total_mib} MiB")
    used = g["memory_used_bytes"]["last"] / 2**20 if g["memory_used_bytes"] else None
    if used is None or abs(used - float(used_mib)) > 0.05 * float(total_mib) + 256:
        problems.append(f"GPU {index}: memory used {used} MiB, nvidia-smi {used_mib} MiB")
    for field in ("utilization_pct", "power_w", "sm_clock_mhz"):
        if not g[field]:
            problems.append(f"GPU {index}: no {field} (NVML reported it unsupported)")
    if g["samples"] < 2:
        problems.append(f"GPU {index}: only {g['samples']} samples")
print("\n".join(problems) if problems else f"run_gpu_check: {len(rows)} GPU(s) agree with nvidia-smi")
sys.exit(1 if problems else 0)
EOF
