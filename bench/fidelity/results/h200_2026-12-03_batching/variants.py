#!/usr/bin/env python3
"""Sensitivity replays (local, CPU): A = medium overhead_ms 0.0248 -> 0.0086 (run 11's value);
B = A + idle extra_ms raised by +0.014 ms at gaps >= 0.1 ms (the live dynamic u=1 median mean - p50, both profiles)."""
import json, os, re, statistics as st, subprocess, sys
D = os.path.abspath('.'); BIN = '/work/main/build/bench/fidelity/knee-bench-fidelity'
M = ['--profiles', 'small,medium', '--batching', 'none,dynamic', '--pc', '1', '--replicas', '1', '--users', '1,4', '--loads', '0.5', '--window-s', '1']
def variant(name, raise_ms):
    d = f'{D}/tables_{name}'; os.makedirs(d, exist_ok=True)
    for p in ['small', 'medium']:
        y = open(f'{D}/tables/{p}.yaml').read()
        if p == 'medium': y = y.replace('overhead_ms: 0.0248', 'overhead_ms: 0.0086')
        g = json.loads(re.search(r'gap_ms: (\[.*?\])', y).group(1)); e = json.loads(re.search(r'extra_ms: (\[.*?\])', y).group(1))
        e2 = [round(x + (raise_ms if gg >= 0.1 else 0), 4) for gg, x in zip(g, e)]
        y = y.replace('extra_ms: ' + re.search(r'extra_ms: (\[.*?\])', y).group(1), 'extra_ms: ' + json.dumps(e2).replace(',', ', '))
        open(f'{d}/{p}.yaml', 'w').write(y)
    sg = {}
    for c in ['sleep', 'margin', 'spin']:
        for r in [1, 2]:
            F = f'{D}/{c}_{r}.jsonl'; V = f'{D}/{c}_{r}.v_{name}.jsonl'
            subprocess.run([BIN, 'virtual', '--tables', d, '--live', F, '--out', V] + M, capture_output=True, check=True)
            vv = {(x['config'], x['load'], round(x['level'], 6)): x for x in map(json.loads, open(V)) if x}
            for x in map(json.loads, open(F)):
                v = vv.get((x['config'], x['load'], round(x['level'], 6)))
                if x['load'] == 'closed' and v: sg.setdefault((c, x['profile'], x['batching']), []).append(x['throughput_rps'] / v['throughput_rps'] - 1)
    print(f'### variant {name}'); print('| profile/batching | sleep | margin | spin |'); print('|---|---|---|---|')
    for p in ['small', 'medium']:
        for b in ['none', 'dynamic']:
            print(f'| {p}/{b} | ' + ' | '.join(f"{st.median(sg[(c, p, b)]):+.1%}" for c in ['sleep', 'margin', 'spin']) + ' |')
variant('A', 0.0); variant('B', 0.014)
