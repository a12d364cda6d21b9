#!/usr/bin/env python3
"""Rewrites a stored calibration's predict_table as `knee calibrate` now writes it, from what its JSON kept, so
that a stored live run can be replayed on the table it would have had (BENCHMARKS.md "Fidelity", twenty-third
session). Costs by calls in flight need live queue runs the old JSONs lack; these two need only what they kept:
  split: variation (calls that start beside others) and variation_alone (a call alone), from host_ms_samples
  cap:   the waiting caller's idle curve scaled to the queue run's gap where it charged more than that gap
         (engine/live/calibration_run.cpp, capIdleCurveAtQueueGap), and overhead_ms at one call again
    python3 bench/fidelity/retable.py TABLE.json TABLE.yaml OUT.yaml split,cap
Written by hand rather than through knee: the rule is a few lines, and knee has no command that rereads a
calibration's JSON."""
import json,math,re,sys
q=[0.01,0.05,0.1,0.25,0.5,0.75,0.9,0.95,0.99]
def atq(x,p):
    pos=p*(len(x)-1); i=int(pos); f=pos-i
    return x[i] if i+1>=len(x) else x[i]*(1-f)+x[i+1]*f
def qs(r):
    r=sorted(r); o=[round(atq(r,p),4) for p in q]; o[4]=max(o[3],min(1.0,o[5])); return o
def vmean(v):
    m=q[0]*v[0]+(1-q[-1])*v[-1]
    for i in range(1,len(q)): m+=(q[i]-q[i-1])*(v[i]+v[i-1])/2
    return m
jpath,ypath,out,modes=sys.argv[1],sys.argv[2],sys.argv[3],sys.argv[4].split(',')
d=json.load(open(jpath)); t=d['predict_table']; y=open(ypath).read()
hm=t.get('ms_by_concurrency',[t['ms']]); s=d['host_ms_samples']
var=t.get('variation'); alone=t.get('variation_alone')
if 'split' in modes and len(s)>1:
    a=[v/hm[0][bi] for bi,pt in enumerate(s[0]) for v in pt]
    b=[v/hm[ki][bi] for ki,row in enumerate(s) if ki>0 for bi,pt in enumerate(row) for v in pt]
    var=qs(b); alone=qs(a)
    y=re.sub(r'variation: \[[^\]]*\]', 'variation: '+str(var)+', variation_alone: '+str(alone), y, count=1)
def curve(y):
    """The YAML table's idle curve: its gaps and extras, and ServiceTable::idleExtraAt over them."""
    gaps=list(map(float,re.search(r'gap_ms: \[([^\]]*)\]',y).group(1).split(',')))
    ex=list(map(float,re.search(r'extra_ms: \[([^\]]*)\]',y).group(1).split(',')))
    def at(x):
        if x<=0: return 0
        if x<=gaps[0]: return ex[0]*x/gaps[0]
        for i in range(1,len(gaps)):
            if x<=gaps[i]: return ex[i-1]+(ex[i]-ex[i-1])*(x-gaps[i-1])/(gaps[i]-gaps[i-1])
        return ex[-1]
    return gaps,ex,at
if 'idle' in t and ('split' in modes or 'cap' in modes):
    va=alone or var
    g=d['live_cycle_ms']-t['ms'][0]*vmean(va)  # the queue run's gap: its cycle less a mean call alone
    if 'cap' in modes:
        gaps,ex,at=curve(y)
        if g>0 and at(g)>g:
            first=min([p['gap_ms'] for p in d.get('live_idle',[])] or [1e9])
            below=round(first,4)-5e-5
            def scaled(sc): return [e*sc if gg<below else e for gg,e in zip(gaps,ex)]
            def charged(sc):
                y2=re.sub(r'extra_ms: \[[^\]]*\]','extra_ms: '+str(scaled(sc)),y,count=1)
                return curve(y2)[2](g)
            if charged(0)<=g:  # as capIdleCurveAtQueueGap: the scale solved for, the points rounded down
                lo,hi=0.0,1.0
                for _ in range(40):
                    mid=(lo+hi)/2
                    if charged(mid)>g: hi=mid
                    else: lo=mid
                ex=[math.floor(e*lo*1e4)/1e4 if gg<below else e for gg,e in zip(gaps,ex)]
                y=re.sub(r'extra_ms: \[[^\]]*\]','extra_ms: '+str(ex),y,count=1)
                print('capped', jpath, 'scale %.3f gap %.4f'%(lo,g), file=sys.stderr)
    # overhead_ms again on the table now (as calibrate's overheadForCycle): the queue's gap less the curve there
    gaps,ex,at=curve(y)
    o=round(max(0,max(0,g)-at(max(0,g))),4)
    y=re.sub(r'overhead_ms: (\[)?[0-9.e-]+', lambda m: 'overhead_ms: '+(m.group(1) or '')+str(o), y, count=1)
    print('overhead', jpath, t.get('overhead_ms'), '->', o, file=sys.stderr)
open(out,'w').write(y)
