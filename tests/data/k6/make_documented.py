# Writes documented.json (python3 make_documented.py): k6's JSON output as documented, see README.md here.
import json, datetime
T0 = datetime.datetime(2024, 3, 1, 14, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
def ts(ns):  # Go RFC3339Nano: trailing zeros of the fraction dropped, none when zero
    t = T0 + datetime.timedelta(microseconds=ns // 1000)
    base = t.strftime('%Y-%m-%dT%H:%M:%S')
    frac = ns % 1_000_000_000
    f = ('%09d' % frac).rstrip('0')
    return base + ('.' + f if f else '') + '+02:00'
out = []
def metric(name, typ, contains):
    out.append(json.dumps({"type": "Metric", "data": {"type": typ, "contains": contains, "tainted": None, "thresholds": [], "submetrics": None}, "metric": name}, separators=(',', ':')))
def point(name, ns, value, tags):
    out.append(json.dumps({"type": "Point", "data": {"time": ts(ns), "value": value, "tags": tags}, "metric": name}, separators=(',', ':')))
declared = set()
def declare(name, typ, contains):
    if name not in declared:
        declared.add(name); metric(name, typ, contains)
declare("vus", "gauge", "default")
def request(scenario, end_ns, dur_ms, status, extra=None):
    tags = {"expected_response": "true" if 200 <= status < 400 else "false", "group": "", "method": "POST", "name": "http://127.0.0.1:8000/predict",
            "proto": "HTTP/1.1", "scenario": scenario, "status": str(status), "url": "http://127.0.0.1:8000/predict"}
    if status >= 400: tags["error_code"] = str(1000 + status)  # lib/netext/httpext/transport.go
    if extra: tags.update(extra)
    if status == 0: tags.pop("proto")
    for name, typ, contains, v in [("http_reqs", "counter", "default", 1), ("http_req_duration", "trend", "time", int(dur_ms)),
                                   ("http_req_sending", "trend", "time", 0.05), ("http_req_waiting", "trend", "time", round(dur_ms - 0.5, 6)),
                                   ("http_req_failed", "rate", "default", 0 if 200 <= status < 400 else 1)]:
        declare(name, typ, contains)
        point(name, end_ns, v, tags)
# one_vu: 1 VU, 15 requests of 200 ms (0..3 s); the 8th answers 503.
# two_vus: 2 VUs from 5 s, 10 requests of 300 ms each (5..8 s); VU 2's 4th is refused (no response).
events = []
for k in range(15):
    events.append((k * 200_000_000 + 200_000_000, "one_vu", 200.0, 503 if k == 7 else 200, None))
for vu in range(2):
    for k in range(10):
        extra = {"error": "dial: connection refused", "error_code": "1212"} if (vu == 1 and k == 3) else None
        events.append((5_000_000_000 + k * 300_000_000 + 300_000_000 + vu * 1_000, "two_vus", 300.0, 0 if extra else 200, extra))
vus = [(s * 1_000_000_000 + 500_000_000, 1 if s < 4 else (2 if 5 <= s < 9 else 0)) for s in range(0, 10)]
allp = [(e[0], 0, e) for e in events] + [(t, 1, v) for t, v in vus]
for t, kind, e in sorted(allp, key=lambda x: x[0]):
    if kind == 1:
        point("vus", t, e, None)
    else:
        end, sc, dur, st, extra = e
        request(sc, end, dur, st, extra)
        declare("iterations", "counter", "default")
        point("iterations", end, 1, {"group": "", "scenario": sc})
open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'documented.json'), 'w').write('\n'.join(out) + '\n')
