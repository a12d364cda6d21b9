#!/usr/bin/python3
"""A reference model server's /metrics for knee's scraper tests and benchmark: vLLM's metric names
(vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc and its older name
vllm:gpu_cache_usage_perc, token counters, latency histograms) with values the caller sets.

Run with Debian's python3 (standard library only), on loopback:
    /usr/bin/python3 vllm_metrics_server.py [--port N] [--histograms N]
It prints {"port": N} on its first line once listening. Endpoints:
    GET  /metrics   the page (text format 0.0.4)
    POST /set       a JSON object: metric name -> value (the gauges and counters above), and the controls
                    "_status" (answer /metrics with this HTTP status), "_garbage" (true: a page that does not
                    parse), "_engines" (how many label sets each gauge has: the scraper sums them)
    GET  /scrapes   how many times /metrics was answered
--histograms N adds N padding histogram families (22 buckets each, as vLLM's TTFT) so that a page weighs
what a real vLLM's does (the benchmark uses 40: about 100 KiB).
"""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {
    "vllm:num_requests_running": 0.0,
    "vllm:num_requests_waiting": 0.0,
    "vllm:kv_cache_usage_perc": 0.0,
    "vllm:prompt_tokens_total": 0.0,
    "vllm:generation_tokens_total": 0.0,
    "_status": 200,
    "_garbage": False,
    "_engines": 1,
}
SCRAPES = [0]
BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
           20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]


def page(histograms):
    with LOCK:
        s = dict(STATE)
    if s["_garbage"]:
        return b"<html>this is not a metrics page</html>\n{{{\n"
    lines = []
    engines = [str(e) for e in range(int(s["_engines"]))]
    for name, kind, help_text in (
        ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches."),
        ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed."),
        ("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage. DEPRECATED."),
        ("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage."),
        ("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed."),
        ("vllm:generation_tokens_total", "counter", "Number of generation tokens processed."),
    ):
        value = s["vllm:kv_cache_usage_perc"] if name == "vllm:gpu_cache_usage_perc" else s[name]
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for e in engines:
            lines.append(f'{name}{{engine="{e}",model_name="ref \\"model\\""}} {float(value)!r}')
    for h in range(histograms):
        name = f"vllm:padding_{h}_seconds"
        lines.append(f"# HELP {name} Padding histogram, as vLLM's time_to_first_token_seconds.")
        lines.append(f"# TYPE {name} histogram")
        for i, b in enumerate(BUCKETS):
            lines.append(f'{name}_bucket{{engine="0",le="{b}",model_name="ref"}} {float(i * 3)}')
        lines.append(f'{name}_bucket{{engine="0",le="+Inf",model_name="ref"}} {float(len(BUCKETS) * 3)}')
        lines.append(f'{name}_count{{engine="0",model_name="ref"}} {float(len(BUCKETS) * 3)}')
        lines.append(f'{name}_sum{{engine="0",model_name="ref"}} 123.456')
    return ("\n".join(lines) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    histograms = 0

    def log_message(self, *args):  # quiet: the tests read stdout
        pass

    def answer(self, status, body, content_type="text/plain; version=0.0.4; charset=utf-8"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/metrics":
            with LOCK:
                SCRAPES[0] += 1
                status = int(STATE["_status"])
            body = page(self.histograms) if status == 200 else b"unavailable\n"
            self.answer(status, body)
        elif self.path == "/scrapes":
            with LOCK:
                self.answer(200, json.dumps({"scrapes": SCRAPES[0]}).encode(), "application/json")
        else:
            self.answer(404, b"not found\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/set":
            self.answer(404, b"not found\n")
            return
        try:
            update = json.loads(body)
            assert isinstance(update, dict)
        except (ValueError, AssertionError):
            self.answer(400, b"a JSON object, please\n")
            return
        with LOCK:
            STATE.update(update)
        self.answer(204, b"")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--histograms", type=int, default=0)
    args = parser.parse_args()
    Handler.histograms = args.histograms
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
