# The idle jitter as calibrate writes it (each gap's samples minus its mean, pooled from 0.1 ms on) and the
# "shift" variant: minus the same quantiles of the short gaps' (below 0.1 ms) deviations.
import json, gzip, sys, re
Q=[0.01,0.05,0.1,0.25,0.5,0.75,0.9,0.95,0.99]
def at(s,q): return s[min(len(s)-1,int(q*len(s)))]
def dev(samples):
    out=[]
    for x in samples:
        m=sum(x)/len(x); out+= [v-m for v in x]
    return sorted(out)
def jitters(js):
    g=js['caller_idle']['gap_ms']; S=js['idle_host_ms_samples']
    long=dev([S[i] for i in range(len(S)) if g[i]>=0.1]); short=dev([S[i] for i in range(len(S)) if g[i]<0.1])
    J=[round(at(long,q),4) for q in Q]; Sh=[at(short,q) for q in Q]
    D=[J[i]-Sh[i] for i in range(len(Q))]
    # non-decreasing: running max from the median up, running min from the median down
    mid=4
    for i in range(mid+1,len(D)): D[i]=max(D[i],D[i-1])
    for i in range(mid-1,-1,-1): D[i]=min(D[i],D[i+1])
    return J,[round(x,4) for x in Sh],[round(x,4) for x in D]
if __name__=='__main__':
    f=sys.argv[1]; js=json.load(gzip.open(f) if f.endswith('.gz') else open(f))
    J,S,D=jitters(js); print('jitter ',J); print('short  ',S); print('shifted',D)
    if len(sys.argv)>3:
        src=open(sys.argv[2]).read(); m=re.search(r'jitter_ms: \[([^\]]*)\]',src)
        open(sys.argv[3],'w').write(src.replace(m.group(0),'jitter_ms: [%s]'%', '.join(str(x) for x in D)))
