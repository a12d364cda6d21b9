#!/usr/bin/python3
"""A model server that knee did not write, for validating twins (issue 15). Standard library only.

A front process takes HTTP requests and routes each to one of N replica processes: the replica that holds the
fewest requests below --target (lowest index on ties); when every replica holds --target, requests wait at the
front in FIFO order (a platform's concurrency target and its queue). Each replica is its own process:

  non-streaming (POST /predict, or /v1/chat/completions without "stream": true):
    a fixed server cost (half before, half after predict, outside the semaphore), then a FIFO semaphore of
    --predict-concurrency (Truss's predict_concurrency), then predict on the replica's device: a call's work is
    lognormal (median --work-ms, --sigma); calls in flight share the device: with k in flight each progresses
    at S(k)/k of its solo speed, S(k) = k / (1 + alpha (k - 1)) (Amdahl-like, --speedup-alpha).
  streaming (POST /v1/chat/completions with "stream": true): after the fixed cost, a continuous-batching decode
    loop: each step takes --step-ms + --step-per-seq-ms x (sequences in the step) + --prefill-ms x (sequences
    that joined at this step), and every sequence in it emits one token; sequences join between steps, at most
    --max-sequences at once; a response has the request's max_tokens tokens (OpenAI SSE chunks, then [DONE]).

Every wait (a decode step, a call's end on the device, the fixed cost) ends within about 0.2 ms of when it is due
(see precise_loop). Prints one JSON line {"port": N, "replicas": N} once listening. Stops on SIGTERM/SIGINT (or, with
--exit-with-stdin, when stdin closes); the replicas stop with it.
"""
import argparse
import asyncio
import json
import math
import os
import random
import resource
import selectors
import signal
import subprocess
import sys


# ------------------------------------------------------------------------------------------------ replica

class Device:
    """Processor sharing with a speed-up curve: calls progress at S(k)/k while k are in flight."""

    def __init__(self, alpha):
        self.alpha = alpha
        self.calls = []  # [remaining_ms, future]
        self.last = None
        self.timer = None

    def rate(self, k):
        return 1.0 / (1.0 + self.alpha * (k - 1)) if k > 0 else 1.0

    def _progress(self, now):
        if self.last is not None and self.calls:
            done = (now - self.last) * 1000.0 * self.rate(len(self.calls))
            for c in self.calls:
                c[0] -= done
        self.last = now

    def _reschedule(self, loop):
        if self.timer:
            self.timer.cancel()
            self.timer = None
        if self.calls:
            soonest = min(c[0] for c in self.calls) / self.rate(len(self.calls))
            self.timer = loop.call_at(loop.time() + max(soonest, 0.0) / 1000.0, self._due, loop)

    def _due(self, loop):
        self._progress(loop.time())
        finished = [c for c in self.calls if c[0] <= 1e-3]
        self.calls = [c for c in self.calls if c[0] > 1e-3]
        for c in finished:
            if not c[1].done():
                c[1].set_result(None)
        self._reschedule(loop)

    async def run(self, work_ms):
        loop = asyncio.get_running_loop()
        self._progress(loop.time())
        done = loop.create_future()
        self.calls.append([work_ms, done])
        self._reschedule(loop)
        await done


class DecodeLoop:
    """Continuous batching: one step over the active sequences, one token each."""

    def __init__(self, args, emit):
        self.args = args
        self.emit = emit  # emit(rid, last)
        self.waiting = []  # [rid, tokens_left]
        self.active = []
        self.wake = asyncio.Event()

    def add(self, rid, tokens):
        self.waiting.append([rid, max(1, tokens)])
        self.wake.set()

    async def run(self):
        a = self.args
        while True:
            if not self.active and not self.waiting:
                self.wake.clear()
                await self.wake.wait()
            joined = 0
            while self.waiting and len(self.active) < a.max_sequences:
                self.active.append(self.waiting.pop(0))
                joined += 1
            step = a.step_ms + a.step_per_seq_ms * len(self.active) + a.prefill_ms * joined
            await asyncio.sleep(step / 1000.0)
            still = []
            for seq in self.active:
                seq[1] -= 1
                self.emit(seq[0], seq[1] <= 0)
                if seq[1] > 0:
                    still.append(seq)
            self.active = still


async def replica_main(args):
    rng = random.Random(args.seed)
    device = Device(args.speedup_alpha)
    slots = asyncio.Semaphore(args.predict_concurrency)
    writers = []

    def send(line):
        for w in writers:
            w.write(line.encode())

    decode = DecodeLoop(args, lambda rid, last: send(("D %s\n" if last else "T %s\n") % rid))

    async def handle(rid, tokens, stream):
        half = args.fixed_ms / 2000.0
        if half > 0:
            await asyncio.sleep(half)
        if stream:
            decode.add(rid, tokens)  # the decode loop sends the tokens and the end
            return
        async with slots:
            await device.run(rng.lognormvariate(math.log(args.work_ms), args.sigma) if args.sigma > 0 else args.work_ms)
        if half > 0:
            await asyncio.sleep(half)
        send("D %s\n" % rid)

    async def serve(reader, writer):
        writers.append(writer)
        while True:
            line = await reader.readline()
            if not line:
                os._exit(0)  # the front is gone
            parts = line.decode().split()
            if len(parts) == 4 and parts[0] == "R":
                asyncio.ensure_future(handle(parts[1], int(parts[2]), parts[3] == "1"))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    asyncio.ensure_future(decode.run())
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    async with server:
        await server.serve_forever()


# ------------------------------------------------------------------------------------------------ front

class Front:
    def __init__(self, args):
        self.args = args
        self.replicas = []  # {"writer", "held"}
        self.pending = {}  # rid -> asyncio.Queue of ("T"|"D")
        self.queue = []  # futures waiting for a replica, FIFO
        self.next_id = 0

    async def connect(self, ports):
        for port in ports:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            self.replicas.append({"writer": writer, "held": 0})
            asyncio.ensure_future(self.listen(reader))

    async def listen(self, reader):
        while True:
            line = await reader.readline()
            if not line:
                return
            kind, rid = line.decode().split()
            q = self.pending.get(rid)
            if q:
                q.put_nowait(kind)

    def pick(self):
        best = None
        for i, r in enumerate(self.replicas):
            if r["held"] < self.args.target and (best is None or r["held"] < self.replicas[best]["held"]):
                best = i
        return best

    async def acquire(self):
        i = self.pick() if not self.queue else None
        if i is None:
            fut = asyncio.get_running_loop().create_future()
            self.queue.append(fut)
            return await fut  # release() counted it on its replica
        self.replicas[i]["held"] += 1
        return i

    def release(self, i):
        self.replicas[i]["held"] -= 1
        while self.queue:
            j = self.pick()
            if j is None:
                return
            self.replicas[j]["held"] += 1  # held for the oldest waiter from now: nobody overtakes it
            self.queue.pop(0).set_result(j)

    async def request(self, tokens, stream, writer):
        i = await self.acquire()
        self.next_id += 1
        rid = str(self.next_id)
        q = asyncio.Queue()
        self.pending[rid] = q
        self.replicas[i]["writer"].write(("R %s %d %d\n" % (rid, tokens, 1 if stream else 0)).encode())
        try:
            if stream:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                while True:
                    kind = await q.get()
                    event = b'data: {"choices":[{"index":0,"delta":{"content":"tok "}}]}\n\n'
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    if kind == "D":
                        break
                done = b"data: [DONE]\n\n"
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done))
            else:
                await q.get()
                body = json.dumps({"ok": True, "replica": i}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        finally:
            del self.pending[rid]
            self.release(i)

    async def serve(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                method, path = (line.decode("latin-1").split() + ["", ""])[:2]
                length = 0
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                if method == "GET":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                tokens, stream = 1, False
                if path.startswith("/v1/"):
                    try:
                        o = json.loads(body or b"{}")
                        tokens, stream = int(o.get("max_tokens", 16)), bool(o.get("stream", False))
                    except (ValueError, TypeError):
                        pass
                await self.request(tokens, stream, writer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def front_main(args, ports):
    front = Front(args)
    await front.connect(ports)
    server = await asyncio.start_server(front.serve, "127.0.0.1", args.port, reuse_address=True)
    print(json.dumps({"port": server.sockets[0].getsockname()[1], "replicas": len(ports)}), flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))
    if args.exit_with_stdin:
        loop.add_reader(sys.stdin.fileno(), lambda: (os.read(sys.stdin.fileno(), 4096) or stop.done() or stop.set_result(None)))
    async with server:
        await stop


def precise_loop():
    """An event loop that waits in select(), whose timeout has microseconds, instead of epoll's whole milliseconds.

    asyncio's default loop rounds every wait up to the next millisecond and, woken a few microseconds early, waits
    a whole millisecond more, so a step of 8.2 ms took 9-10 ms and a 0.5 ms sleep took 1 ms: the server ran 0.8-1.8
    ms per step above the physics it states, by an amount that changed with the load's pattern (0.8 ms under
    random arrivals, 1.8 ms in a closed loop, at the same 8 sequences; BENCHMARKS.md "Twins", twentieth session).
    select() serves the few hundred sockets a test opens; it cannot watch descriptors above 1023, and one such socket
    would stop the whole loop: main() holds the process to 1024 open files, so that a flood of connections is refused
    by accept() (asyncio then pauses accepting for a second) instead.
    Given to asyncio.Runner as its loop factory (Python 3.11 on): event loop policies are deprecated from 3.14.
    """
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


def run(coroutine):
    with asyncio.Runner(loop_factory=precise_loop) as runner:
        return runner.run(coroutine)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--replicas", type=int, default=1)
    p.add_argument("--target", type=int, default=1000, help="most requests one replica holds; the rest wait at the front")
    p.add_argument("--predict-concurrency", type=int, default=4)
    p.add_argument("--work-ms", type=float, default=20.0, help="median work of one call alone on the device")
    p.add_argument("--sigma", type=float, default=0.25)
    p.add_argument("--speedup-alpha", type=float, default=0.35)
    p.add_argument("--fixed-ms", type=float, default=2.0, help="server time outside predict, per request")
    p.add_argument("--step-ms", type=float, default=8.0)
    p.add_argument("--step-per-seq-ms", type=float, default=0.5)
    p.add_argument("--prefill-ms", type=float, default=2.0)
    p.add_argument("--max-sequences", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--role", choices=["front", "replica"], default="front")
    p.add_argument("--exit-with-stdin", action="store_true", help="stop when stdin closes (a test harness that dies takes it along)")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft > 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # select()'s limit (precise_loop)
    if args.role == "replica":
        run(replica_main(args))
        return
    children, ports = [], []
    for i in range(args.replicas):
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
                                 + ["--role", "replica", "--seed", str(args.seed * 1000 + i)],  # the last of a flag wins
                                 stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        children.append(child)
        ports.append(json.loads(child.stdout.readline())["port"])
    try:
        run(front_main(args, ports))
    finally:
        for child in children:
            child.kill()
            child.wait()


if __name__ == "__main__":
    main()
