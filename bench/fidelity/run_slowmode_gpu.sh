#!/usr/bin/env bash
# On the GPU machine, from the repository root with devrun/ from bench/predict/bundle_cli.sh: the live engine's
# "slow mode" (issue 13). Runs 16 and 17 saw `small`'s calls go from ~0.12 to 0.2-0.5 ms for seconds at a time,
# the CUDA callback's hop to the dispatcher doubling with them, with the GPU at full clock and, in run 17, no
# hypervisor steal. This records where each thread ran in every window, the machine's NUMA layout and the
# GPU's node, and runs the same cells alternately unpinned and pinned (taskset) to the GPU's node.
#   OUT=/tmp/sm TABLES=bench/fidelity/results/h200_2026-12-03_run17/tables bash bench/fidelity/run_slowmode_gpu.sh
set -uo pipefail
source "$(dirname "$0")/../devrun_env.sh"
bench=$PWD/devrun/knee-bench-fidelity
bus=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader | head -n1 | tr 'A-F' 'a-f' | sed 's/^0000//')
node=$(cat "/sys/bus/pci/devices/0000$bus/numa_node" 2>/dev/null || cat "/sys/bus/pci/devices/$bus/numa_node" 2>/dev/null || echo -1)
{ nvidia-smi --query-gpu=name,pci.bus_id,clocks.sm,clocks.mem --format=csv,noheader; echo "gpu numa node: $node"; lscpu | grep -iE 'numa|socket|core|thread|model name'; nvidia-smi topo -m 2>/dev/null; } | tee "$out/topology.txt"
cpus=$( [ "$node" -ge 0 ] 2>/dev/null && cat "/sys/devices/system/node/node$node/cpulist" || echo 0-7)
echo "pinned runs: CPUs $cpus" | tee -a "$out/topology.txt"
A="--tables ${TABLES:?} --profiles small --batching none --pc 2,4 --replicas 1,2 --users 1,2,4,8,16,32,64 --loads 0.8"
for round in 1 2; do
  for how in free pinned; do
    t0=$(date +%s)
    if [ $how = pinned ]; then pre="taskset -c $cpus"; else pre=""; fi
    timeout 120 $pre "$bench" live $A --out "$out/live_${how}_$round.jsonl" 2>"$out/live_${how}_$round.log"
    echo "round $round $how: exit $? in $(( $(date +%s) - t0 )) s"
  done
done
