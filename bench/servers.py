"""The server processes ``bench/clicks.py`` measures (uvicorn or granian) and their CPU use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.clicks_apps import ROOT

# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(server: str, target: str, factory: bool, port: int, workers: int) -> list[str]:
    python = sys.executable
    if server == "uvicorn":
        command = [python, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        return command + (["--factory"] if factory else [])
    command = [python, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return command + (["--factory"] if factory else []) + [target]


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and all its descendants (live and reaped), from /proc."""
    parents: dict[int, int] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields_ = text[text.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields_[1])
        stats[int(entry.name)] = fields_
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += sum(int(v) for v in stats[p][11:15]) / tick
        todo += [c for c, parent in parents.items() if parent == p]
    return total


class Server:
    def __init__(self, server: str, target: str, *, factory: bool, workers: int, env: dict):
        self.port = free_port()
        command = server_command(server, target, factory, self.port, workers)
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if sock.recv(16).startswith(b"HTTP/1.1"):
                        time.sleep(0.5)  # let every worker come up
                        return
            except OSError:
                time.sleep(0.1)
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")
        self.stop()
        raise RuntimeError("server did not start:\n" + output)

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
