"""The serving stage: `xrec serve` on the size's published model, driven by an open-loop load.

The load generator is an asyncio loop of HTTP requests issued on a fixed schedule (open loop:
a slow answer does not slow the offered rate down, so queueing shows up in the latency instead
of being hidden), one phase of published-list lookups, one of on-demand scoring (half known
recipients with one to three new interactions, half new persons with a city and interests).
Latency is from the time the schedule says a request is due to its complete response, as the
client sees it: when the generator itself falls behind (it shares the 2 cores with the server),
that lateness counts against the server's figures rather than being silently dropped
("coordinated omission"), and `late_p99_ms` says how far behind the generator was. The server runs
in its own process (uvicorn, one worker), whose RSS is sampled throughout.
An asyncio client on uvloop (pinned) rather than locust (in the registry): locust would bring
gevent and a web UI stack beside Airflow's pins, and a locust user is a closed loop (its next
request waits for its previous answer and its wait time), so a slow server lowers the rate locust
offers, whereas a schedule of due times keeps the rate fixed. See `_Connections` for why not httpx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import psutil
import uvloop

from xrec.catalog import PLATFORM_TO_PARTNER
from xrec.config import PLATFORM, PROJECT_ROOT, Settings
from xrec.publish.serving import pointer_path
from xrec.serve.access import new_token, token_line

log = logging.getLogger(__name__)

LOOKUP_RPS = 500
SCORE_RPS = 100
WARMUP_SECONDS = 2.0
# Requests in flight beyond which the generator sheds (counts as failed) instead of queueing
# without bound when the server cannot keep up with the offered rate.
MAX_IN_FLIGHT = 64
READY_TIMEOUT = 900.0
REQUEST_TIMEOUT = 30.0
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _requests(folder: Path, partners: tuple[str, ...], seed: int) -> tuple[list[str], list[bytes]]:
    """(lookup paths, scoring bodies) drawn from the bundle: published recipients, catalogue topics."""
    rng = random.Random(seed)
    lists = pd.read_parquet(folder / "recommendations.parquet", columns=["direction", "partner", "recipient_id"])
    keys = lists[lists["direction"] == PLATFORM_TO_PARTNER].drop_duplicates()  # the platform app's lookups
    keys = keys.sample(n=min(5000, len(keys)), random_state=seed)
    lookups = [f"/v1/recommendations/{d}/{p}/{r}" for d, p, r in keys.itertuples(index=False)]
    items = pd.read_parquet(folder / "items.parquet", columns=["source", "item_id", "topic", "is_active"])
    persons = pd.read_parquet(folder / "persons.parquet", columns=["city"])
    topics = sorted(items["topic"].dropna().unique())
    cities = sorted(persons["city"].dropna().unique())
    platform_items = items[items["source"] == PLATFORM]["item_id"].tolist()
    known = keys[keys["direction"] == PLATFORM_TO_PARTNER]["recipient_id"].tolist()
    bodies = []
    for n in range(2000):
        partner = rng.choice(partners)
        if n % 2 and known:
            events = [
                {
                    "source": PLATFORM,
                    "item_id": rng.choice(platform_items),
                    "event_type": rng.choice(["view", "purchase", "complete"]),
                }
                for _ in range(rng.randint(1, 3))
            ]
            bodies.append(
                {
                    "direction": PLATFORM_TO_PARTNER,
                    "partner": partner,
                    "recipient_id": rng.choice(known),
                    "interactions": events,
                }
            )
        else:
            bodies.append(
                {
                    "direction": PLATFORM_TO_PARTNER,
                    "partner": partner,
                    "person": {"city": rng.choice(cities), "interests": rng.sample(topics, 2)},
                }
            )
    return lookups, [json.dumps(body).encode() for body in bodies]


class _Connections:
    """Keep-alive HTTP/1.1 connections to the server, each carrying one request at a time.

    A minimal client on asyncio streams (request bytes written once, the response read by its
    Content-Length, which uvicorn always sends for these endpoints): httpx spent ~1.8 ms of CPU per
    request here, so at 500 requests/s the generator took most of a core from the server it
    measures on this 2-core machine; this costs a fraction of that."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port = host, port
        self.idle: list = []
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"

    async def request(self, method: str, path: str, body: bytes | None) -> int:
        """Send one request, read its whole response; the HTTP status. A kept connection the server
        has closed meanwhile (uvicorn drops idle ones after 5 s) is replaced once."""
        if self.idle:
            try:
                return await self._send(self.idle.pop(), method, path, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
        return await self._send(await asyncio.open_connection(self.host, self.port), method, path, body)

    async def _send(self, connection: tuple, method: str, path: str, body: bytes | None) -> int:
        reader, writer = connection
        try:
            extra = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if body is not None else ""
            writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + (body or b""))
            header = await reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            length = int(header.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        self.idle.append(connection)
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def _drive(url: str, token: str, rate: float, seconds: float, make_request) -> dict:
    """Offer `rate` requests/s for `seconds`; latency percentiles (ms), achieved rate, failures."""
    latencies, failures, late = [], [], []
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connections = _Connections(host, int(port), token)

    async def one(n: int, due: float) -> None:
        method, path, body = make_request(n)
        late.append(time.perf_counter() - due)
        try:
            status = await asyncio.wait_for(connections.request(method, path, body), REQUEST_TIMEOUT)
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            IndexError,
        ) as error:
            failures.append(type(error).__name__)
            return
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            failures.append(str(status))

    tasks: list = []
    start, shed = time.perf_counter(), 0
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if sum(not task.done() for task in tasks[-MAX_IN_FLIGHT:]) >= MAX_IN_FLIGHT:
            shed += 1  # the server is this far behind: count the request as not served
            continue
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    connections.close()
    ms = np.asarray(latencies) * 1000
    pct = (lambda q: float(np.percentile(ms, q))) if len(ms) else (lambda q: None)
    return {
        "offered_rps": rate,
        "achieved_rps": len(latencies) / elapsed,
        "requests": total,
        "failed": len(failures) + shed,
        "shed": shed,
        "failures": sorted(set(failures))[:5],
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": pct(100),
        "late_p99_ms": float(np.percentile(np.asarray(late) * 1000, 99)) if late else None,
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def _phase(pid: int, url: str, token: str, rate: float, seconds: float, make_request) -> dict:
    """One load phase, with the CPU time the server and the generator spent per answered request:
    figures that stay comparable when other work on the machine inflates the latencies."""
    server, own = psutil.Process(pid), time.process_time()
    before = server.cpu_times()
    figures = uvloop.run(_drive(url, token, rate, seconds, make_request))
    after, own = server.cpu_times(), time.process_time() - own
    answered = max(1, figures["requests"] - figures["failed"])
    return figures | {
        "server_cpu_ms_per_request": (after.user + after.system - before.user - before.system) * 1000 / answered,
        "generator_cpu_ms_per_request": own * 1000 / answered,
    }


class _Rss:
    """Peak RSS of one process, sampled in a thread."""

    def __init__(self, pid: int):
        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self.sample()

    def sample(self) -> int:
        """The current RSS (0 once the process is gone); the peak follows."""
        try:
            rss = self.process.memory_info().rss
        except psutil.Error:
            return 0
        self.peak = max(self.peak, rss)
        return rss

    def __enter__(self) -> _Rss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def serving_figures(settings: Settings, seconds: float, scratch: Path) -> dict:
    """Start `xrec serve` on the published bundle of `settings`, load it, report the figures."""
    folder = settings.artifacts / "serving" / json.loads(pointer_path(settings).read_text())["bundle"]
    token = new_token()
    tokens = scratch / "api_tokens.txt"
    tokens.write_text(token_line(token, "bench", PLATFORM) + "\n")
    port = _free_port()
    env = {**os.environ, **settings.env(), "XREC_API_TOKENS_FILE": str(tokens), "PYTHONPATH": str(PROJECT_ROOT)}
    started = time.perf_counter()
    log_path = scratch / "serve.log"
    with open(log_path, "wb") as server_log:
        server = subprocess.Popen(
            [sys.executable, "-m", "xrec.cli", "serve", "--port", str(port)],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with _Rss(server.pid) as rss:
            _wait_ready(url, server, log_path)
            ready_seconds = time.perf_counter() - started
            rss_ready = rss.sample()
            lookups, bodies = _requests(folder, settings.partners, settings.seed)

            def lookup(n: int) -> tuple:
                return "GET", lookups[n % len(lookups)], None

            def score(n: int) -> tuple:
                return "POST", "/v1/recommendations/score", bodies[n % len(bodies)]  # JSON bytes

            uvloop.run(_drive(url, token, LOOKUP_RPS, WARMUP_SECONDS, lookup))
            uvloop.run(_drive(url, token, SCORE_RPS, WARMUP_SECONDS, score))
            figures: dict[str, Any] = {
                "lookup": _phase(server.pid, url, token, LOOKUP_RPS, seconds, lookup),
                "score": _phase(server.pid, url, token, SCORE_RPS, seconds, score),
            }
            figures |= {
                "ready_seconds": ready_seconds,
                "rss_ready_mb": rss_ready / MB,
                "rss_peak_mb": rss.peak / MB,
                "load_average": [round(v, 2) for v in os.getloadavg()],
            }
    finally:
        server.terminate()
        server.wait(timeout=30)
    log.info(
        "serving: lookups p99 %.1f ms at %.0f rps, scoring p99 %.1f ms at %.0f rps, RSS %.0f MB",
        figures["lookup"]["p99_ms"] or -1,
        figures["lookup"]["achieved_rps"],
        figures["score"]["p99_ms"] or -1,
        figures["score"]["achieved_rps"],
        figures["rss_peak_mb"],
    )
    return figures


def _wait_ready(url: str, server: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"xrec serve exited ({server.returncode}): {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"xrec serve not ready after {READY_TIMEOUT:.0f} s: {log_path.read_text()[-2000:]}")
