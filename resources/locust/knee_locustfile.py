# knee's locustfile (issue 18): Locust generates the load, knee measures and decides.
# knee writes this file with a CONFIG_JSON line above (the target, the request bodies knee rendered,
# timeouts, the NAME of the API key's environment variable, never the key). The same file runs the
# master and every worker:
#   - each worker's closed-loop users (or, in a rate sweep, its one arrivals user, which sends its share
#     of the rate on a schedule) time their own requests (perf_counter, from the level's start on that
#     worker) and send them in batches every 250 ms to the master ("knee_batch"), with the send time of
#     every request sent since the last batch ("sends": knee counts a rate level's requests sent by them);
#   - the master relays each batch as one JSON line to knee's loopback control socket
#     (KNEE_LOCUST_CONTROL, with KNEE_LOCUST_TOKEN), and its LoadTestShape sets the users knee asks for.
# Records: {"user","intended","sent","end" (s since the worker heard of the level),"status","ttft_ms",
# "itl_ms","tokens","kind" (knee's failure kinds, or null),"detail","wall"}. With KNEE_LOCUST_SPOOL a worker
# also appends each record, plus "level", "users" (the level's, all workers), "worker" and, in a rate sweep,
# "rate" (the level's, all workers) and, with --repeats, "repeat", as a JSON line there (knee import --locust
# reads them).
# HTTP: geventhttpclient (what Locust's FastHttpUser uses), one keep-alive connection per closed-loop user or per
# request in flight; Python's requests cost ~2.7 ms more per request than knee's own client (BENCHMARKS.md).
import json
import math
import os
import random
import socket  # gevent's, as ssl's: Locust patches the standard library before it loads this file
import ssl
import time
from urllib.parse import urlsplit

import gevent
import gevent.event
import gevent.lock
import gevent.ssl
import locust
import locust.runners
from geventhttpclient._parser import HTTPParseError
from geventhttpclient.client import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed
from locust import LoadTestShape, User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

CONFIG = json.loads(CONFIG_JSON)  # noqa: F821 (the line knee writes above)

# Debian 12's python3-locust 2.12.1 ships an empty version string: the master then refuses every worker
# as "pre 2.0". knee names the installed version (dpkg-query) in CONFIG; master and workers share it.
if not locust.runners.__version__:
    locust.runners.__version__ = CONFIG.get("locust_version") or "2.12.1"

FLUSH_S = 0.25
BODIES = [b.encode("utf-8") for b in CONFIG["bodies"]]
HEADERS = {k: v for k, v in CONFIG["headers"]}
if CONFIG.get("api_key_env"):
    _key = os.environ.get(CONFIG["api_key_env"], "")
    if _key:
        HEADERS["Authorization"] = "Bearer " + _key

# The target, taken apart once (geventhttpclient connects to a host and port and sends a path).
_target = urlsplit(CONFIG["url"])
TLS = _target.scheme == "https"
HOST = _target.hostname
PORT = _target.port or (443 if TLS else 80)
PATH = (_target.path or "/") + ("?" + _target.query if _target.query else "")
if not any(k.lower() == "host" for k in HEADERS):  # geventhttpclient's own would lose an IPv6 address's brackets
    HEADERS["Host"] = ("[%s]" % HOST if ":" in HOST else HOST) + ("" if _target.port in (None, 443 if TLS else 80) else ":%d" % PORT)

# A worker's state: the level it measures and when it heard of it, the records not yet sent.
worker = {"level": -1, "users": 0, "t0": time.perf_counter(), "pending": [], "seq": 0, "spool": None, "next_user": 0,
          "rate": 0.0, "rate_total": 0.0, "constant": False, "seed": 1, "sends": [], "index": 0, "workers": 1}
# A rate sweep: requests in flight at once on one worker, at most (each holds a connection, and a process
# has ~1024 descriptors). A schedule that would pass it sends fewer than asked, which knee marks behind.
MAX_IN_FLIGHT = 512


def level_time():
    return time.perf_counter() - worker["t0"]


class Session:
    """One keep-alive connection: geventhttpclient's client with a pool of one (a session serves one request at a
    time). It reads no proxy or ~/.netrc from the environment, as knee's own client. After a failure the next
    request opens a new connection: a request cut while sending would keep the pool's one slot for ever."""

    __slots__ = ("client",)

    def __init__(self):
        self.client = None

    def post(self, body):
        if self.client is None:
            # connection_timeout: to connect (and the TLS handshake); network_timeout: each read or write after it,
            # as requests' (connect, read). https: certificates verified against the CA file OpenSSL's defaults name
            # (Debian: /etc/ssl/certs/ca-certificates.crt, which requests read through Debian's certifi too), the
            # host name checked.
            self.client = HTTPClient(HOST, PORT, ssl=TLS, concurrency=1, connection_timeout=CONFIG["connect_timeout_s"],
                                     network_timeout=CONFIG["response_timeout_s"],
                                     ssl_context_factory=gevent.ssl.create_default_context if TLS else None)
            pool = self.client._connection_pool
            pool.after_connect = lambda sock, then=pool.after_connect: no_delay(sock) or then(sock)
        return self.client.request("POST", PATH, body=body, headers=HEADERS)

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None


def no_delay(sock):
    # As knee's own client and requests: a body's last partial segment goes at once, not after an ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def one_request(session, body):
    """One exchange, measured as knee's own client measures it (response_meter.cpp)."""
    out = {"status": 0, "ttft_ms": -1.0, "itl_ms": -1.0, "tokens": 0, "kind": None, "detail": ""}
    start = time.perf_counter()
    r = None
    try:
        with gevent.Timeout(CONFIG["request_timeout_s"]):
            # Redirects are not followed (the key must not travel): a 3xx ends as "other".
            r = session.post(body)
            out["status"] = r.status_code
            if r.status_code >= 300:
                r.read()  # read it: the connection stays usable
                out["kind"] = "http_4xx" if 400 <= r.status_code < 500 else "http_5xx" if r.status_code >= 500 else "other"
                out["detail"] = "HTTP %d" % r.status_code
            elif CONFIG["stream"]:
                stream(r, start, out)
            else:
                doc = json.loads(r.read())
                if CONFIG["kind"] == "openai":
                    if not isinstance(doc, dict) or not doc.get("choices"):
                        out["kind"], out["detail"] = "malformed", "an OpenAI response without choices"
                    else:
                        out["tokens"] = count((doc.get("usage") or {}).get("completion_tokens") or 0)
    except gevent.Timeout:
        out["kind"], out["detail"] = "timeout", "the whole request took longer than its limit"
    except TimeoutError as e:  # connect (or TLS handshake) or a read or write past its limit (gevent's socket.timeout)
        out["kind"], out["detail"] = "timeout", "a connect, read or write took longer than its limit (%s)" % str(e)[:160]
    except ssl.SSLError as e:  # the handshake or the certificate (its check is an SSLError too)
        out["kind"], out["detail"] = "tls", str(e)[:200]
    except ConnectionRefusedError as e:
        out["kind"], out["detail"] = "refused", str(e)[:200]
    except HTTPConnectionClosed as e:  # closed before any response byte (geventhttpclient retried on a new connection)
        out["kind"], out["detail"] = "other", "the server closed the connection before responding (%s)" % str(e)[:160]
    except HTTPParseError as e:
        # Closed inside the headers or the body (a truncated chunk, a short Content-Length) is a stream cut once the
        # response began, as knee's own client says; anything else is not HTTP.
        cut = any(w in str(e) for w in ("Incomplete response", "EOF", "closed"))  # llhttp's and geventhttpclient's words
        out["kind"] = "stream_cut" if cut and r is not None else "other" if cut else "malformed"
        out["detail"] = "%s: %s" % (type(e).__name__, str(e)[:160])
    except OSError as e:  # reset, broken pipe, no route, a name that does not resolve
        out["kind"], out["detail"] = ("stream_cut" if r is not None else "other"), "%s: %s" % (type(e).__name__, str(e)[:160])
    except ValueError as e:  # json
        out["kind"], out["detail"] = "malformed", "the response is not JSON (%s)" % str(e)[:160]
    except (AttributeError, TypeError, KeyError, IndexError, OverflowError) as e:  # valid JSON of an unexpected shape
        out["kind"], out["detail"] = "malformed", "an unexpected response (%s)" % str(e)[:160]
    except Exception as e:  # anything else still ends as a record (a rate level has counted its send)
        out["kind"], out["detail"] = "other", "%s: %s" % (type(e).__name__, str(e)[:160])
    finally:
        if r is not None:
            r.release()  # a body read to its end is back in the pool already; one left early closes its connection
    if out["kind"] is not None and (r is None or not r.message_complete):
        session.close()
    return out


def count(value):
    """A token count from a response: a whole number from 0, or 0 (JSON's 1e999 is infinity)."""
    v = float(value)
    return int(v) if math.isfinite(v) and 0 <= v < 1e12 else 0


def stream(r, start, out):
    first = last = None
    chunks = 0
    usage = -1
    done = False
    while True:
        # readline returns each line as its bytes arrive (knee's own SSE parser splits on \n too, dropping a \r).
        line = r.readline(b"\n")
        if not line:
            break  # the body ended
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            done = True
            r.read()  # the body's end (a chunked body's last chunk): read, the connection stays for the next request
            break
        doc = json.loads(payload)
        if not isinstance(doc, dict):
            raise ValueError("a stream event is not a JSON object")
        if "error" in doc:
            out["kind"], out["detail"] = "stream_cut", "the stream carried an error event"
            return
        u = (doc.get("usage") or {}).get("completion_tokens")
        if isinstance(u, (int, float)):
            usage = count(u)
        choices = doc.get("choices")
        if not isinstance(choices, list) or (not choices and usage < 0):
            out["kind"], out["detail"] = "malformed", "a stream event has no choices"
            return
        if choices and ((choices[0] or {}).get("delta") or {}).get("content"):
            now = time.perf_counter()
            chunks += 1
            first = now if first is None else first
            last = now
    if not done:
        out["kind"], out["detail"] = "stream_cut", "the stream ended without data: [DONE]"
        return
    out["tokens"] = usage if usage >= 0 else chunks
    if first is not None:
        out["ttft_ms"] = (first - start) * 1000
    if chunks > 1:
        out["itl_ms"] = (last - first) * 1000 / (chunks - 1)


class KneeRateUser(User):
    """A rate sweep's arrivals on this worker (the shape runs one such user per worker): each request goes at
    its scheduled time (Poisson, or evenly spaced) in its own greenlet, whether or not the earlier ones ended
    (an open loop); its latency counts from the scheduled time, so a late send is not hidden (no coordinated
    omission). The worker's share of the level's rate is the rate over the workers."""

    wait_time = constant(0)

    def on_start(self):
        self.idle = []  # sessions whose request ended, for the next
        self.in_flight = 0

    def on_stop(self):
        for s in self.idle:
            s.close()

    @task
    def schedule(self):
        level, rate = worker["level"], worker["rate"]
        if level < 0 or rate <= 0:
            gevent.sleep(0.05)
            return
        t0 = worker["t0"]
        # The worker's index among the workers (the master numbers them): a run's schedule is the seed's.
        rng = random.Random("%s/%s/%s" % (worker["seed"], worker["index"], level))
        self.count = worker["index"]  # the workers take the bodies in turn, not in lockstep
        # Evenly spaced arrivals start at a random phase on each worker, so the workers' requests interleave.
        t = rng.random() / rate if worker["constant"] else rng.expovariate(rate)
        while worker["level"] == level:
            delay = t - (time.perf_counter() - t0)
            if delay > 0:
                gevent.sleep(min(delay, 0.05))  # a new level (its rate) is heard within 50 ms
                continue
            if self.in_flight < MAX_IN_FLIGHT:
                self.in_flight += 1  # here, not in the greenlet: a schedule catching up spawns many before any runs
                gevent.spawn(self.fire, level, t0, t0 + t)
            t += 1.0 / rate if worker["constant"] else rng.expovariate(rate)

    def fire(self, level, level_t0, intended):
        try:
            session = self.idle.pop() if self.idle else Session()
            body = BODIES[self.count % len(BODIES)]
            self.count += worker["workers"]
            sent = time.perf_counter()
            worker["sends"].append(sent - worker["t0"])
            out = one_request(session, body)
            end = time.perf_counter()
            self.idle.append(session)
        finally:
            self.in_flight -= 1
        t0 = worker["t0"]  # the level it ended in (a request sent before it has a negative send time)
        # Where it was sent, for the spool's import: a request that ends in the next level still counts as
        # sent in its own.
        record = {"user": -1, "intended": intended - t0, "sent": sent - t0, "end": end - t0, "wall": time.time(),
                  "sent_level": level, "sent_at": sent - level_t0}
        record.update(out)
        worker["pending"].append(record)
        self.environment.events.request.fire(request_type="POST", name="knee", response_time=(end - intended) * 1000,
                                             response_length=0, response=None, context={},
                                             exception=None if out["kind"] is None else RuntimeError(out["kind"]))


class KneeUser(User):
    """A closed-loop user: its next request goes the moment the last ended (no think time)."""

    wait_time = constant(0)

    def on_start(self):
        self.session = Session()
        self.index = worker["next_user"]
        worker["next_user"] += 1
        # The users of all workers start at different bodies (user u of worker w: u x workers + w), not in lockstep.
        self.count = self.index * worker["workers"] + worker["index"]

    def on_stop(self):
        self.session.close()

    @task
    def send(self):
        body = BODIES[self.count % len(BODIES)]
        self.count += 1
        sent = time.perf_counter()
        out = one_request(self.session, body)
        end = time.perf_counter()
        t0 = worker["t0"]  # the level it ended in (a request sent before a level's start has a negative send time)
        record = {"user": self.index, "intended": sent - t0, "sent": sent - t0, "end": end - t0, "wall": time.time()}
        record.update(out)
        worker["pending"].append(record)
        # Locust's own summary counts the same requests.
        self.environment.events.request.fire(request_type="POST", name="knee", response_time=(end - sent) * 1000,
                                             response_length=0, response=None, context={},
                                             exception=None if out["kind"] is None else RuntimeError(out["kind"]))


# Locust runs every User class the file defines: a sweep keeps the one its levels need.
if CONFIG.get("open_loop"):
    del KneeUser
else:
    del KneeRateUser


# ---- worker: batches to the master ----

def flush(environment, final=False):
    runner = environment.runner
    records, worker["pending"] = worker["pending"], []
    sends, worker["sends"] = worker["sends"], []
    worker["seq"] += 1
    batch = {"worker": runner.client_id, "seq": worker["seq"], "level": worker["level"], "now": level_time(),
             "users": runner.user_count, "cpu": runner.current_cpu_usage, "loop_lag_ms": worker.get("lag_ms", 0.0),
             "final": final, "records": records, "sends": sends}
    if worker["spool"] is not None and records:
        for rec in records:
            line = dict(rec, level=worker["level"], users=worker["users"], worker=runner.client_id)
            if worker["rate_total"] > 0:
                line["rate"] = worker["rate_total"]  # a rate sweep's level: its rate, all workers together
            if worker.get("repeat", 0) > 0:
                line["repeat"] = worker["repeat"]  # a sweep with --repeats: this level's repeat
            worker["spool"].write(json.dumps(line) + "\n")
        worker["spool"].flush()
    runner.send_message("knee_batch", batch)


def flusher(environment):
    while True:
        slept = time.perf_counter()
        gevent.sleep(FLUSH_S)
        # How late this greenlet woke: a worker too busy to run its greenlets on time times its requests late too.
        worker["lag_ms"] = max(0.0, (time.perf_counter() - slept - FLUSH_S) * 1000)
        try:
            flush(environment)
        except Exception:  # the master is gone: Locust's own quit ends this worker
            pass


def on_level(environment, msg, **kwargs):
    flush(environment)  # what ended in the level before goes out under it
    worker["level"] = int(msg.data["index"])
    worker["users"] = int(msg.data.get("users", 0))  # the level's users, all workers together (for the spool)
    worker["rate_total"] = float(msg.data.get("rate", 0.0))
    worker["rate"] = worker["rate_total"] / max(1, int(msg.data.get("workers", 1)))
    worker["constant"] = bool(msg.data.get("constant", False))
    worker["seed"] = int(msg.data.get("seed", 1))
    worker["index"] = int(msg.data.get("worker_index", 0))
    worker["workers"] = max(1, int(msg.data.get("workers", 1)))
    worker["repeat"] = int(msg.data.get("repeat", 0))
    worker["sends"] = []
    worker["t0"] = time.perf_counter()


# ---- master: knee's commands and the relay ----

master = {"sock": None, "level": -1, "users": 0, "rate": 0.0, "constant": False, "seed": 1, "repeat": 0, "quit": False,
          "changed": gevent.event.Event()}


send_lock = gevent.lock.Semaphore()  # the shape's tick and the batch relay both write: one line at a time


def send_to_knee(obj):
    sock = master["sock"]
    if sock is not None:
        with send_lock:
            sock.sendall((json.dumps(obj) + "\n").encode("utf-8"))


def on_batch(environment, msg, **kwargs):
    data = dict(msg.data)
    data["type"] = "batch"
    send_to_knee(data)


def control(environment):
    host, port = os.environ["KNEE_LOCUST_CONTROL"].rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.settimeout(None)
    master["sock"] = sock
    send_to_knee({"type": "hello", "token": os.environ.get("KNEE_LOCUST_TOKEN", "")})
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break  # knee is gone: stop
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            cmd = json.loads(line)
            if cmd.get("cmd") == "level":
                master["level"] = int(cmd["index"])
                master["users"] = int(cmd["users"])
                master["rate"] = float(cmd.get("rate", 0.0))
                master["constant"] = bool(cmd.get("constant", False))
                master["seed"] = int(cmd.get("seed", 1))
                master["repeat"] = int(cmd.get("repeat", 0))
            elif cmd.get("cmd") == "quit":
                master["quit"] = True
            master["changed"].set()
    master["quit"] = True
    master["changed"].set()


class KneeShape(LoadTestShape):
    """The users knee asks for, all spawned at once; None (the master quits its workers) when knee says so."""

    announced = -1
    started = False

    def tick(self):
        if not self.started:  # the master calls this once its expected workers connected
            self.started = True
            send_to_knee({"type": "ready", "workers": self.runner.worker_count})
        while True:
            if master["quit"]:
                return None
            if master["level"] != self.announced:
                self.announced = master["level"]
                # A rate level: one arrivals user per worker, each sending its share of the rate.
                workers = self.runner.worker_count
                users = workers if master["rate"] > 0 else master["users"]
                # Before the users change: the same connection carries this ahead of Locust's spawn. Each worker
                # hears its own index among them (its arrivals' seed, its first body).
                level = {"index": self.announced, "users": users, "rate": master["rate"], "constant": master["constant"],
                         "seed": master["seed"], "repeat": master["repeat"], "workers": workers}
                for i, client_id in enumerate(sorted(self.runner.clients.keys())):
                    self.runner.send_message("knee_level", dict(level, worker_index=i), client_id=client_id)
                send_to_knee({"type": "level_started", "level": self.announced, "users": users})
                return (users, max(users, 1))
            master["changed"].wait()
            master["changed"].clear()


@events.init.add_listener
def on_init(environment, **kwargs):
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message("knee_batch", on_batch)
        gevent.spawn(control, environment)
    elif isinstance(runner, WorkerRunner):
        spool = os.environ.get("KNEE_LOCUST_SPOOL")
        if spool:
            worker["spool"] = open(spool, "a", encoding="utf-8")
        runner.register_message("knee_level", on_level)
        gevent.spawn(flusher, environment)
