"""``wrk`` as the load generator of ``bench/clicks.py``, when it is installed.

A Python load generator spends a core of its own per few thousand requests a second, and on a
two-core machine that core is the server's: it made the server look slower than it is (issue
17: p99 35 ms where wrk sees 9 ms). wrk is C, one thread here, and measures the same way as the
Python client: one keep-alive connection per simulated user, one request in flight on each. A
Lua script cycles the paths (every click a distinct visitor, so clicks are judged valid, not
"duplicate"), and reports the count, the percentiles and the failed answers as one JSON line.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.clicks_apps import BROWSER

SCRIPT = r"""
local paths, extra, mode, tag = {}, {}, "path", ""
local counter, id = 0, 0
local threads = {}

setup = function(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  local file = io.open(args[1])
  for line in file:lines() do paths[#paths + 1] = line end
  file:close()
  mode, tag = args[2], args[3]
  for i = 4, #args do
    local name, value = args[i]:match("^([^:]+):%s*(.*)$")
    if name then extra[name] = value end
  end
end

request = function()
  counter = counter + 1
  local path = paths[(counter * 7919 + id) % #paths + 1]
  local headers = {}
  for name, value in pairs(extra) do headers[name] = value end
  if mode == "click" then
    headers["User-Agent"] = BROWSER .. " Safari/537.36 bench/" .. tag .. "." .. id .. "." .. counter
  end
  return wrk.format("GET", path, headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, "status": %d, '
      .. '"connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect, e.read, e.write, e.timeout))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass(frozen=True)
class WrkRun:
    rate: float
    p50: float  # ms
    p99: float
    statuses: Counter
    client_cpu: float  # share of one core wrk used


def run_wrk(
    port: int,
    connections: int,
    seconds: float,
    warmup: float,
    kind: str,
    paths: list[str],
    headers: str = "",
    tag: str = "",
) -> WrkRun:
    """Warm up (unmeasured), then measure; ``kind`` "click" sends a distinct visitor each time."""
    binary = wrk_path()
    if binary is None:
        raise RuntimeError("wrk is not installed (scripts/bench-deps.sh installs it)")
    header_args = [line for line in headers.split("\r\n") if line.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as work:
        script = Path(work) / "paths.lua"
        script.write_text(f"BROWSER = {json.dumps(BROWSER)}\n{SCRIPT}", encoding="utf-8")
        listed = Path(work) / "paths.txt"
        listed.write_text("\n".join(paths) + "\n", encoding="utf-8")

        def once(duration: float, run_tag: str) -> tuple[dict, float]:
            command = [
                binary, "-t", "1", "-c", str(connections), "-d", f"{max(1, round(duration))}s",
                "--timeout", "10s", "-s", str(script), f"http://127.0.0.1:{port}",
                "--", str(listed), kind, run_tag, *header_args,
            ]  # fmt: skip
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            return json.loads(line[len("RESULT ") :]), cpu

        if warmup > 0:
            once(warmup, f"{tag}w")
        result, cpu = once(seconds, tag)
    failed = result["status"]
    broken = result["connect"] + result["read"] + result["write"] + result["timeout"]
    statuses = Counter({"ok": result["requests"] - failed, ">=400": failed, "socket": broken})
    return WrkRun(
        rate=result["requests"] / result["seconds"],
        p50=result["p50_ms"],
        p99=result["p99_ms"],
        statuses=+statuses,
        client_cpu=cpu / result["seconds"],
    )
