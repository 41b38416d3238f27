"""Helpers of the serving tests: settings on a scratch folder, publishing, `xrec serve` in a
subprocess (a module of its own: `conftest` is a name every test folder uses)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd

from xrec.config import DEFAULT_PARTNERS, PROJECT_ROOT, Settings
from xrec.privacy.keys import new_keys, write_keys_file
from xrec.publish import publish
from xrec.serve.access import token_line
from xrec.steps.model import score_candidates, train_and_evaluate

RUN_DATE = pd.Timestamp("2026-03-01").date()
TOKENS = {"platform": "platform-app-token", "partner:finance": "finance-crm-token", "partner:realty": "realty-token"}


def settings_for(root: Path) -> Settings:
    if not (root / "export_keys.json").exists():
        write_keys_file(root / "export_keys.json", new_keys(DEFAULT_PARTNERS))
    return Settings.isolated(
        root,
        {
            "XREC_THREADS": "1",
            "XREC_SCORE_THREADS": "1",
            # a small grid (one size, one learning rate) keeps the selection
            # quick on 1,500 persons
            "XREC_TUNE_COMPONENTS": "32",
            "XREC_TUNE_LEARNING_RATES": "0.1",
            "XREC_EPOCHS": "20",
        },
    )


def build_and_publish(settings: Settings, run_date) -> None:
    run = train_and_evaluate(settings, run_date)
    assert run.ranker == "lightfm", f"LightFM should beat popularity on the synthetic marts: {run.decision_reason}"
    assert score_candidates(settings, run_date) > 0
    assert publish(settings, run_date).serving_bundle is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    settings: Settings

    def client(self, scope: str | None = "platform") -> httpx.Client:
        headers = {"Authorization": f"Bearer {TOKENS[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(settings: Settings, root: Path) -> Server:
    """`xrec serve` in a subprocess on a free port, with one token per test client."""
    tokens = root / "tokens.txt"
    tokens.write_text("\n".join(token_line(token, scope.replace(":", "-"), scope) for scope, token in TOKENS.items()))
    port = free_port()
    env = {**os.environ, **settings.env(), "XREC_API_TOKENS_FILE": str(tokens), "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "xrec.cli", "serve", "--port", str(port), "--poll-seconds", "0.3"],
        env=env,
        stdout=open(root / "server.log", "wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"xrec serve exited: {(root / 'server.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return Server(url, process, settings)
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"xrec serve not ready in 120 s: {(root / 'server.log').read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    server.process.wait(timeout=20)
