"""`make bench`: run every benchmark once, in sequence, on a quiet machine, and write
docs/benchmarks/latest-run.md (command, machine, date, and each benchmark's own output, where every
figure stands next to the baseline measured in the same run).

    .venv/bin/python -m bench [--only messaging,gateway] [--skip dossier]

The benchmarks that go through the edges need the whole stack: this starts it with
deploy/local/run.py unless one already answers on the standard ports.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
# The shared services the figures ran against (one line of the report's header).
SERVICES = ("- Services: PostgreSQL 15, RabbitMQ 3.10, Redis 7 on loopback; "
            "S3 server moto (in-process) or s3rver (stack); clamd from Debian.")

# (name, module and arguments, needs the stack, detail page)
BENCHMARKS = [
    ("messaging", ["bench.messaging.latency"], False, None),
    ("identity", ["bench.identity.signin"], False, "benchmarks/identity.md"),
    ("gateway", ["bench.gateway.edge_overhead", "--requests", "2000", "--concurrency", "16"], False,
     "benchmarks/gateway.md"),
    ("classification", ["bench.classification.determination", "--requests", "1000", "--concurrency", "16"], False,
     "benchmarks/classification.md"),
    ("documents", ["bench.documents.upload", "--sizes", "1,10,100", "--repeat", "3"], False, "benchmarks/documents.md"),
    ("dossier", ["bench.dossier.search_export"], False, "benchmarks/dossier.md"),
    ("instruction", ["bench.instruction.queue_and_decisions", "--cases", "200", "--decisions", "100"], False,
     "benchmarks/instruction.md"),
    ("notifications", ["bench.notifications.webhooks"], False, "benchmarks/notifications.md"),
    ("system", ["bench.system.edges_journey", "--n", "15"], True, "benchmarks/system.md"),
    ("portal", ["bench.portal.page_latency", "300"], True, "benchmarks/portal.md"),
    ("agent", ["bench.agent.pages", "--n", "60"], True, "benchmarks/agent.md"),
]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def stack_ready() -> bool:
    try:
        return all(httpx.get(f"http://127.0.0.1:{p}/health/ready", timeout=2).status_code == 200
                   for p in (8000, 8001, 8101, 8102, 8103, 8104, 8105, 8106))
    except httpx.HTTPError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="")
    parser.add_argument("--skip", default="")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks" / "latest-run.md"))
    args = parser.parse_args()
    only = {x for x in args.only.split(",") if x}
    skip = {x for x in args.skip.split(",") if x}
    chosen = [b for b in BENCHMARKS if (not only or b[0] in only) and b[0] not in skip]

    stack = None
    sections = []
    started = datetime.now(UTC)
    load = os.getloadavg()
    try:
        for name, cmd, needs_stack, detail in chosen:
            if needs_stack and stack is None and not stack_ready():
                log_path = ROOT / "var" / "log" / "bench-stack.log"
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(log_path, "wb") as log:
                    stack = subprocess.Popen([PY, str(ROOT / "deploy" / "local" / "run.py")], cwd=ROOT,
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                # The supervisor prints its banner once every service is ready and the demo seed ran.
                deadline = time.monotonic() + 180
                while b"e-APS est pr" not in log_path.read_bytes():
                    if stack.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"the stack did not start; see {log_path}")
                    time.sleep(0.5)
            print(f"== {name}: python -m {' '.join(cmd)}", flush=True)
            t = time.monotonic()
            proc = subprocess.run([PY, "-m", *cmd], cwd=ROOT, capture_output=True, text=True, timeout=3600)
            took = time.monotonic() - t
            failure = f"\n[exit {proc.returncode}]\n{proc.stderr[-3000:]}" if proc.returncode else ""
            out = (proc.stdout.strip() or "") + failure
            print(out, flush=True)
            link = f" Reading and method: [{detail}]({detail})." if detail else ""
            sections.append(f"## {name}\n\nCommand: `.venv/bin/python -m {' '.join(cmd)}` ({took:.0f} s).{link}\n\n"
                            f"```\n{out}\n```\n")
    finally:
        if stack is not None:
            os.killpg(stack.pid, signal.SIGTERM)
            stack.wait(timeout=60)

    header = f"""# Benchmarks

Raw output of one run of `make bench`; the curated summary is docs/benchmarks.md.
Every figure below comes from one run of `make bench` (`.venv/bin/python -m bench`), each next to
the baseline measured in the same run (raw broker or database rate, a direct call, the raw library
operation). Timing goals live here, never in tests.

- Date: {started:%Y-%m-%d %H:%M} UTC
- Machine: {machine()}
- Load average when the run started: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}
{SERVICES}

"""
    Path(args.output).write_text(header + "\n".join(sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
