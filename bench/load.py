"""The load generator of ``bench/clicks.py``: a Python asyncio HTTP/1.1 client on raw
keep-alive connections, one request in flight per connection, run in its own process."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.clicks_apps import BROWSER

# --- the load generator (its own process) ---------------------------------------------------


@dataclass
class LoadSpec:
    port: int
    connections: int
    seconds: float
    warmup: float
    kind: str  # "click" | "path"
    paths: list[str] = field(default_factory=list)
    headers: str = ""
    client_id: int = 0
    run: str = ""  # makes visitors distinct across runs on one database


async def _one_connection(spec: LoadSpec, index: int, warm_until: float, deadline: float, out):
    latencies, statuses = out
    reader, writer = await asyncio.open_connection("127.0.0.1", spec.port)
    host = f"Host: 127.0.0.1:{spec.port}\r\n"
    paths = spec.paths
    n = index * 7919
    tag = f"{spec.run}{spec.client_id}.{index}"
    try:
        while True:
            start = time.perf_counter()
            if start >= deadline:
                return
            path = paths[n % len(paths)]
            if spec.kind == "click":  # a distinct visitor per click
                extra = f"User-Agent: {BROWSER} Safari/537.36 bench/{tag}.{n}\r\n"
            else:
                extra = spec.headers
            n += 1
            writer.write(f"GET {path} HTTP/1.1\r\n{host}{extra}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                end = lowered.index(b"\r\n", at + 2)
                length = int(lowered[at + 17 : end])
                if length:
                    await reader.readexactly(length)
            elif b"transfer-encoding: chunked" in lowered:
                while True:
                    size = int((await reader.readline()).split(b";")[0], 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            if start >= warm_until:
                latencies.append(time.perf_counter() - start)
                statuses[int(head[9:12])] += 1
    finally:
        writer.close()


async def _load(spec: LoadSpec) -> tuple[list[float], Counter]:
    out: tuple[list[float], Counter] = ([], Counter())
    begin = time.perf_counter()
    warm_until, deadline = begin + spec.warmup, begin + spec.warmup + spec.seconds
    await asyncio.gather(
        *(_one_connection(spec, i, warm_until, deadline, out) for i in range(spec.connections))
    )
    return out


def run_load(spec: LoadSpec) -> tuple[list[float], Counter, float]:
    """Entry point of a load-generator process: latencies (s), statuses, share of a core used."""
    cpu, wall = time.process_time(), time.perf_counter()
    latencies, statuses = asyncio.run(_load(spec))
    return latencies, statuses, (time.process_time() - cpu) / (time.perf_counter() - wall)
