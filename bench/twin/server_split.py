#!/usr/bin/env python3
"""Where a request's time goes: inside `knee serve` or outside it (HTTP, kernel, the load generator).

run_serve_gpu.sh with METRICS=1 scrapes the server's /metrics before and after each check
(metrics-runN-REPLICAS-WHAT-0.prom / -1.prom). The difference of the histograms' _sum and _count over one
check is the server's own mean time per completed request, in all and per stage. Beside it, the client's mean
for the same check: from the Poisson trace (trace-runN-REPLICAS-SHARE.csv[.gz], all rows, warm-up included, as
the counters include it), or for a closed loop of U users (CLOSED1) from Little's law (U / throughput of its row; warm-up left out).

    python3 bench/twin/server_split.py DIR            # DIR: run_serve_gpu.sh's twin-serve folder
"""
import csv, glob, gzip, json, os, re, sys

LINE = re.compile(r'^(knee_[a-z_]+)(\{[^}]*\})?\s+([0-9.eE+-]+|NaN|[+-]Inf)\s*$')


def read_prom(path):
    values = {}
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                values[(m.group(1), m.group(2) or '')] = float(m.group(3))
    return values


def delta(a, b, name, labels=''):
    return b.get((name, labels), 0.0) - a.get((name, labels), 0.0)


def client_mean(folder, what):
    """Mean ms the client saw for a check: its trace when it has one."""
    for path in (f'{folder}/trace-{what}.csv', f'{folder}/trace-{what}.csv.gz'):
        if os.path.exists(path):
            opener = gzip.open if path.endswith('.gz') else open
            with opener(path, 'rt') as f:
                rows = [float(r['latency_ms']) for r in csv.DictReader(f) if r['ok'] == '1']
            return sum(rows) / len(rows) if rows else None, 'trace'
    m = re.fullmatch(r'run(\d+)-(\d+)-closed(\d+)', what)
    if m and os.path.exists(f'{folder}/rows.jsonl'):  # one closed level: Little's law on its row
        run, n, users = m.groups()
        with open(f'{folder}/rows.jsonl') as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for r in reversed(rows):
            if r.get('label', '').endswith(f'-run{run}') and r.get('replicas') == int(n) and r.get('load') == f'closed {users}':
                rps = r['measured'].get('throughput_rps', 0)
                return (1e3 * int(users) / rps if rps > 0 else None), 'little'
    return None, ''


def main(folder):
    stages = ['queue', 'preprocess', 'predict_wait', 'predict', 'postprocess']
    print('| check | requests | server mean ms | ' + ' | '.join(stages) + ' | client mean ms | outside the server ms |')
    print('| --- | ---: | ---: | ' + ' | '.join('---:' for _ in stages) + ' | ---: | ---: |')
    for before in sorted(glob.glob(f'{folder}/metrics-*-0.prom')):
        after = before[:-len('-0.prom')] + '-1.prom'
        if not os.path.exists(after):
            continue
        what = os.path.basename(before)[len('metrics-'):-len('-0.prom')]
        a, b = read_prom(before), read_prom(after)
        # A scrape cut short (timeout) or an error page has no histogram: its deltas would be the server's totals.
        need = [('knee_request_duration_seconds_count', ''), ('knee_request_duration_seconds_sum', '')]
        if not all(k in a and k in b for k in need):
            print(f'| {what} | scrape incomplete | | ' + ' | '.join('' for _ in stages) + ' | | |')
            continue
        n = delta(a, b, 'knee_request_duration_seconds_count')
        if n <= 0:
            print(f'| {what} | 0 | | ' + ' | '.join('' for _ in stages) + ' | | |')
            continue
        server = 1e3 * delta(a, b, 'knee_request_duration_seconds_sum') / n
        cells = []
        for s in stages:
            lab = f'{{stage="{s}"}}'
            c = delta(a, b, 'knee_stage_duration_seconds_count', lab)
            cells.append(f'{1e3 * delta(a, b, "knee_stage_duration_seconds_sum", lab) / c:.3f}' if c > 0 else '')
        client, _ = client_mean(folder, what)
        outside = f'{client - server:.3f}' if client is not None else ''
        client_s = f'{client:.3f}' if client is not None else ''
        print(f'| {what} | {int(n)} | {server:.3f} | ' + ' | '.join(cells) + f' | {client_s} | {outside} |')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
