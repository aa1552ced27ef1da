"""`make run`: the whole e-APS system on this machine, under one supervisor.

Starts the S3 server, clamd, the SMTP and SMS sinks, the six services and both edges; waits
until every /health/ready answers; seeds the demo accounts; prints the URLs. Ctrl-C (or
SIGTERM) stops everything cleanly. Data lives under var/ (objects, mail, SMS) and in
PostgreSQL and RabbitMQ, so it survives a restart of the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
PY = sys.executable
NODE_BIN = ROOT / "deploy" / "local" / "node_modules"

COLORS = ["\033[36m", "\033[32m", "\033[33m", "\033[35m", "\033[34m", "\033[91m", "\033[92m", "\033[93m",
          "\033[94m", "\033[95m", "\033[96m", "\033[37m"]
RESET = "\033[0m"

SERVICES = {"identity": 8101, "classification": 8102, "dossier": 8103, "documents": 8104,
            "instruction": 8105, "notifications": 8106}


@dataclass
class Proc:
    name: str
    cmd: list[str]
    ready: str  # "http://..." polled until 200, or "tcp:PORT"
    env: dict[str, str] = field(default_factory=dict)
    stage: int = 0
    process: asyncio.subprocess.Process | None = None


def stack_env() -> dict[str, str]:
    """Configuration shared by the local processes (see the README's configuration table)."""
    internal = "local-internal-token"
    env = {
        "PYTHONUNBUFFERED": "1",
        "EAPS_ENVIRONMENT": "dev",
    }
    for name in SERVICES:
        up = name.upper()
        env[f"{up}_INTERNAL_TOKEN"] = internal
        env[f"{up}_LOG_JSON"] = "false"
    env.update({
        "GATEWAY_INTERNAL_TOKEN": internal,
        # s3rver's fixed credentials; MinIO's come from the deployment's secrets.
        "DOCUMENTS_S3_ENDPOINT": "127.0.0.1:9000",
        "DOCUMENTS_S3_ACCESS_KEY": "S3RVER",
        "DOCUMENTS_S3_SECRET_KEY": "S3RVER",
        "DOCUMENTS_CLAMD_HOST": "127.0.0.1",
        "DOCUMENTS_CLAMD_PORT": "3310",
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": "1025",
        "NOTIFICATIONS_SMS_URL": "http://127.0.0.1:1026",
        "NOTIFICATIONS_PUBLIC_PORTAL_URL": "http://localhost:8000",
        "NOTIFICATIONS_OFFICER_PORTAL_URL": "http://localhost:8001/agent",
        "IDENTITY_PORTAL_BASE_URL": "http://localhost:8000",
        "DOSSIER_CLASSIFICATION_URL": "http://127.0.0.1:8102",
        "DOSSIER_DOCUMENTS_URL": "http://127.0.0.1:8104",
        "INSTRUCTION_DOCUMENTS_URL": "http://127.0.0.1:8104",
    })
    return env


def processes() -> list[Proc]:
    procs = [
        Proc("s3", ["node", str(NODE_BIN / "s3rver" / "bin" / "s3rver.js"), "-d", str(VAR / "s3"), "-p", "9000",
                    "-a", "127.0.0.1", "--silent"], "tcp:9000"),
        Proc("clamd", ["bash", str(ROOT / "deploy" / "local" / "clamd" / "start-clamd.sh"), "3310",
                       str(VAR / "clamd")], "tcp:3310"),
        Proc("sinks", [PY, str(ROOT / "deploy" / "local" / "sinks.py"), "--smtp-port", "1025", "--sms-port", "1026",
                       "--mail-dir", str(VAR / "mail"), "--sms-dir", str(VAR / "sms")], "tcp:1025"),
    ]
    procs += [Proc(name, [PY, "-m", name], f"http://127.0.0.1:{port}/health/ready", stage=1)
              for name, port in SERVICES.items()]
    procs += [
        Proc("public-edge", [PY, "-m", "gateway", "public"], "http://127.0.0.1:8000/health/ready", stage=2),
        Proc("internal-edge", [PY, "-m", "gateway", "internal"], "http://127.0.0.1:8001/health/ready", stage=2),
    ]
    return procs


class Supervisor:
    def __init__(self, procs: list[Proc], log_dir: Path) -> None:
        self.procs = procs
        self.log_dir = log_dir
        self.stopping = False
        self.failed: asyncio.Event = asyncio.Event()

    async def start(self, proc: Proc, color: str) -> None:
        env = {**os.environ, **stack_env(), **proc.env}
        proc.process = await asyncio.create_subprocess_exec(
            *proc.cmd, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)
        asyncio.create_task(self._pump(proc, color))
        asyncio.create_task(self._watch(proc))

    async def _pump(self, proc: Proc, color: str) -> None:
        assert proc.process and proc.process.stdout
        # Small appends to a local log file, flushed per line: not worth a thread per process.
        with open(self.log_dir / f"{proc.name}.log", "ab") as log:  # noqa: ASYNC230
            while line := await proc.process.stdout.readline():
                log.write(line)
                log.flush()
                sys.stdout.write(f"{color}{proc.name:>14} |{RESET} {line.decode(errors='replace')}")
                sys.stdout.flush()

    async def _watch(self, proc: Proc) -> None:
        assert proc.process
        code = await proc.process.wait()
        if not self.stopping:
            print(f"\n{proc.name} s'est arrêté (code {code}) — arrêt de la pile.", file=sys.stderr)
            self.failed.set()

    async def wait_ready(self, proc: Proc, deadline: float) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.failed.is_set():
                    raise RuntimeError(f"{proc.name}: a process stopped")
                try:
                    if proc.ready.startswith("tcp:"):
                        _, w = await asyncio.open_connection("127.0.0.1", int(proc.ready[4:]))
                        w.close()
                        return
                    if (await client.get(proc.ready)).status_code == 200:
                        return
                except (OSError, httpx.HTTPError):
                    pass
                await asyncio.sleep(0.3)
        raise TimeoutError(f"{proc.name} n'est pas prêt ({proc.ready})")

    async def stop(self) -> None:
        self.stopping = True
        for proc in reversed(self.procs):
            if proc.process and proc.process.returncode is None:
                try:
                    os.killpg(proc.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in reversed(self.procs):
            if proc.process and proc.process.returncode is None:
                try:
                    await asyncio.wait_for(proc.process.wait(), timeout=20)
                except TimeoutError:
                    os.killpg(proc.process.pid, signal.SIGKILL)


async def seed() -> None:
    proc = await asyncio.create_subprocess_exec(PY, "-m", "identity.seed", cwd=ROOT, env={**os.environ, **stack_env()})
    await proc.wait()


async def main_async(args: argparse.Namespace) -> int:
    for sub in ("s3", "clamd", "mail", "sms", "log"):
        (VAR / sub).mkdir(parents=True, exist_ok=True)
    procs = processes()
    sup = Supervisor(procs, VAR / "log")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = time.monotonic()
    try:
        for stage in sorted({p.stage for p in procs}):
            group = [p for p in procs if p.stage == stage]
            for p in group:
                await sup.start(p, COLORS[(procs.index(p)) % len(COLORS)])
            deadline = time.monotonic() + args.timeout
            await asyncio.gather(*(sup.wait_ready(p, deadline) for p in group))
        if not args.no_seed:
            await seed()
        elapsed = time.monotonic() - started
        print(f"""
\033[1me-APS est prêt\033[0m (en {elapsed:.0f} s) — ready.
  Portail des usagers (public) : http://localhost:8000/
  Portail des agents (interne) : http://localhost:8001/agent/
  API publique (OpenAPI)       : http://localhost:8000/api/docs
  API interne (OpenAPI)        : http://localhost:8001/api/docs
  Courriels reçus (sink SMTP)  : {VAR / 'mail'}
  SMS reçus (sink SMS)         : http://127.0.0.1:1026/messages
  Arrêt : Ctrl-C
""", flush=True)
        if args.exit_when_ready:
            return 0
        waiter = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(sup.failed.wait())
        await asyncio.wait({waiter, failed}, return_when=asyncio.FIRST_COMPLETED)
        return 1 if sup.failed.is_set() and not stop.is_set() else 0
    except (TimeoutError, RuntimeError) as exc:
        print(f"échec du démarrage : {exc}", file=sys.stderr)
        return 1
    finally:
        print("arrêt de la pile…", file=sys.stderr)
        await sup.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="Démarre toute la pile e-APS en local.")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--exit-when-ready", action="store_true", help="stop everything once ready (checks)")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
