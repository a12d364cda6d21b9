"""Requests that found the server idle (none in flight as the client saw it), by how long it had been idle:
latency quantiles per gap bin, for each trace given (measured or a twin's knee simulate --requests).
    python3 lone_by_gap.py TRACE.csv[.gz] ...
"""
import csv,gzip,sys,bisect,statistics as st
opn=lambda p: gzip.open(p,"rt") if p.endswith(".gz") else open(p)
for path in sys.argv[1:]:
    rows=sorted(csv.DictReader(opn(path)),key=lambda r:float(r['intended_ms']))
    ends=sorted(float(r['ended_ms']) for r in rows); starts=sorted(float(r['intended_ms']) for r in rows)
    bins={}
    for r in rows:
        if r['measured']!='1': continue
        t=float(r['intended_ms'])
        n=bisect.bisect_left(starts,t)-bisect.bisect_left(ends,t)
        if n!=0: continue
        i=bisect.bisect_left(ends,t)-1
        if i<0: continue
        gap=t-ends[i]
        b=[0.05,0.1,0.2,0.5,1,2,5,100]
        k=next((x for x in b if gap<x),float('inf'))
        bins.setdefault(k,[]).append(float(r['latency_ms']))
    print(path)
    for k in sorted(bins):
        v=sorted(bins[k]); print(f"  gap< {k:>5} ms: n {len(v):5} mean {st.fmean(v):.3f} p50 {v[len(v)//2]:.3f} p90 {v[int(len(v)*.9)]:.3f} p95 {v[int(len(v)*.95)]:.3f}")
