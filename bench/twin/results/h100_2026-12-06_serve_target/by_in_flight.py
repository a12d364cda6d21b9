"""A measured Poisson trace (knee-bench-twin --trace) against a twin's requests on the same arrivals
(knee simulate --requests, the trace's intended_ms as an arrival trace), request by request, grouped by how
many requests were in flight when each was due (the trace's intended_ms to its ended_ms).
    python3 by_in_flight.py MEASURED.csv[.gz] TWIN_REQUESTS.csv[.gz]
"""
import csv,gzip,sys,bisect,statistics as st
opn=lambda p: gzip.open(p,"rt") if p.endswith(".gz") else open(p)
meas=sorted(csv.DictReader(opn(sys.argv[1])),key=lambda r:float(r['intended_ms']))
twin=sorted(csv.DictReader(opn(sys.argv[2])),key=lambda r:int(r['id']))
assert len(meas)==len(twin),(len(meas),len(twin))
def inflight(rows,key_start,key_end):
    s=sorted(float(r[key_start]) for r in rows); e=sorted(float(r[key_end]) for r in rows)
    return lambda t: bisect.bisect_right(s,t)-bisect.bisect_right(e,t)
fm=inflight(meas,'intended_ms','ended_ms')
t0=float(meas[0]['intended_ms'])
by={}
pairs=[]
for m,t in zip(meas,twin):
    if m['measured']!='1': continue
    lm=float(m['latency_ms']); lt=float(t['latency_ms'])
    n=fm(float(m['intended_ms'])-1e-9)  # others in flight when it arrived (measured)
    by.setdefault(min(n,12),[]).append((lm,lt))
    pairs.append((lm,lt))
print("n_in_flight  count  meas_mean twin_mean  meas_p50 twin_p50  meas_p95 twin_p95")
for n in sorted(by):
    v=by[n]; a=sorted(x for x,_ in v); b=sorted(y for _,y in v)
    q=lambda s,p: s[min(len(s)-1,int(p*(len(s)-1)))]
    print(f"{n:>3}{'+' if n==12 else ' '} {len(v):>7} {st.fmean(a):9.3f} {st.fmean(b):9.3f} {q(a,.5):9.3f} {q(b,.5):8.3f} {q(a,.95):9.3f} {q(b,.95):8.3f}")
d=[x-y for x,y in pairs]
print("diff meas-twin: mean %.3f p5 %.3f p50 %.3f p95 %.3f; corr %.3f"%(st.fmean(d),sorted(d)[len(d)//20],st.median(d),sorted(d)[len(d)*19//20],st.correlation([x for x,_ in pairs],[y for _,y in pairs])))
