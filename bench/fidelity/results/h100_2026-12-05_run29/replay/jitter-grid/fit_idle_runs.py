# For a calibrated table (yaml + json): replay calibrate's live idle runs in virtual time with the idle jitter
# scaled by s, and find the s whose mean signed p95 error over the runs is 0 (bisection on [0, 4]).
import json, re, subprocess, sys, os, tempfile
K=os.environ.get('KNEE', 'build/app/knee')
def scaled(src, s):
    m=re.search(r'jitter_ms: \[([^\]]*)\]',src)
    if not m: return src
    j=[float(x) for x in m.group(1).split(',')]
    return src.replace(m.group(0),'jitter_ms: [%s]'%', '.join(str(round(x*s,4)) for x in j))
def p95s(yaml_src, js, s, profile):
    t=[l for l in scaled(yaml_src,s).splitlines() if l.startswith('predict_table')][0]
    pt=js['predict_table']; solo=pt['ms'][0]; ov=pt['overhead_ms']
    ov = ov if isinstance(ov,(int,float)) else ov[0]
    errs=[]
    for p in js['live_idle']:
        d=p['delay_ms']; secs=min(60,max(0.5,0.4*(solo+d+ov)))
        sc=f"""name: idle
deployment: {{replicas: {{min: 1, max: 1}}, concurrency_target: 1, predict_concurrency: 1, devices: 1}}
model:
  predict: {solo}
  profile: {profile}
  {t.strip()}
  batching: {{mode: dynamic, max_batch: 2, max_delay_ms: {d}}}
workload: {{arrival: {{kind: closed, users: 1}}, duration_s: {0.3+secs}, warmup_s: 0.3}}
"""
        f=tempfile.NamedTemporaryFile('w',suffix='.yaml',delete=False); f.write(sc); f.close()
        out=json.loads(subprocess.run([K,'simulate','--json',f.name],capture_output=True,text=True,check=True).stdout); os.unlink(f.name)
        errs.append((d, out['latency_ms']['p95'], p['latency_ms']['p95'], p.get('host_steal_pct',0)))
    return errs
def mean_err(errs): return sum(v/l-1 for d,v,l,_ in errs)/len(errs)
if __name__=='__main__':
    y,j,profile=sys.argv[1],sys.argv[2],sys.argv[3]
    src=open(y).read(); js=json.load(open(j))
    if 'jitter_ms' not in src: print('no jitter'); sys.exit()
    for s in (0,1):
        e=p95s(src,js,s,profile); print('s=%g'%s, ' '.join('%g:%.3f/%.3f'%(d,v,l) for d,v,l,_ in e), 'mean %+.3f'%mean_err(e))
    lo,hi=0.0,4.0
    if mean_err(p95s(src,js,0,profile))>=0: s=0
    elif mean_err(p95s(src,js,4,profile))<=0: s=4
    else:
        for _ in range(12):
            mid=(lo+hi)/2
            if mean_err(p95s(src,js,mid,profile))>0: hi=mid
            else: lo=mid
        s=(lo+hi)/2
    print('FIT', round(s,3))
    if len(sys.argv)>4: open(sys.argv[4],'w').write(scaled(src,round(s,3)))
