#!/usr/bin/env bash
# On the GPU machine (after bench/predict/bundle_cli.sh): two end-to-end checks of the real predict stage.
# 1. `knee serve` of a continuous-batching model on the GPU, swept over HTTP by `knee sweep --target`
#    (OpenAI streaming): the whole chain — HTTP, engine, decode steps as forward passes on the GPU.
# 2. Device errors: more replicas of the xl model (4 GiB each) than the GPU's memory holds, run by
#    `knee simulate --live`: the replicas that cannot start leave with the device's message, the others
#    serve, every request is accounted for.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/out}
mkdir -p "$out"
export LD_LIBRARY_PATH=$PWD/devrun/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
knee=$PWD/devrun/knee
cat > "$out/serve.yaml" <<'YAML'
name: served LLM-like model on the GPU
deployment: {replicas: {min: 1, max: 1}, concurrency_target: 64, predict_concurrency: 64}
model:
  profile: medium
  preprocess: 0
  predict: 1
  batching: {mode: continuous, max_sequences: 64, output_tokens: {dist: constant, mean: 32}}
  postprocess: 0
workload: {arrival: {kind: poisson, rate_rps: 1}, requests: 1}
YAML
"$knee" serve "$out/serve.yaml" --port 0 --json > "$out/serve.jsonl" 2> "$out/serve.err" &
server=$!
for _ in $(seq 50); do grep -q listening "$out/serve.jsonl" 2>/dev/null && break; sleep 0.2; done
port=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['port'])" "$out/serve.jsonl")
head -1 "$out/serve.jsonl"
"$knee" sweep --target "http://127.0.0.1:$port/v1/chat/completions" --openai --stream --max-tokens 32 \
  --levels 1,4,16,64 --warmup-s 1 --window-s 1 --cap-s 6 --json > "$out/sweep_target.json" 2> "$out/sweep_target.err"
kill -INT $server; wait $server
tail -1 "$out/serve.jsonl"
python3 - "$out/sweep_target.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("endpoint sweep, medium model, continuous batching, 32 tokens per response:")
for l in d["levels"]:
    print(f"  users {l['concurrency']:3d}: {l['throughput_rps']:8.1f} req/s, p95 {l['p95_ms']:7.2f} ms, "
          f"ttft p50 {l.get('ttft_p50_ms', 0):6.2f} ms, itl p50 {l.get('itl_p50_ms', 0):6.3f} ms, "
          f"tokens/s {l.get('tokens_per_s', 0):9.0f}, failed {l['failed']}")
print("  knee:", d["knee"].get("concurrency"), "|", d["knee"].get("rule"))
PY
cat > "$out/oom.yaml" <<'YAML'
name: more xl replicas than the GPU holds
deployment: {replicas: {min: 40, max: 40}, concurrency_target: 4, predict_concurrency: 1}
model: {profile: xl, predict: 1}
workload: {arrival: {kind: closed, users: 64}, requests: 20000}
YAML
"$knee" simulate "$out/oom.yaml" --live --max-wall-s 240 --json > "$out/oom.json" 2> "$out/oom.err"
python3 - "$out/oom.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("xl x 40 replicas:", d["predict_stage"])
print(f"  replica start failures {d['replica_start_failures']}, failed calls {d['predict_errors']}")
print(f"  last error: {d['last_predict_error']}")
print(f"  arrived {d['arrived']} = completed {d['completed']} + failed {d['failed']} + rejected {d['rejected']} + in flight {d['in_flight']}")
print(f"  peak replicas {d['replicas']['peak']}, throughput {d['throughput_rps']:.0f} req/s, p50 {d['latency_ms']['p50']:.2f} ms")
PY
