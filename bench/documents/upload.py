"""Upload throughput and peak memory of the documents service for 1, 10 and 100 MB files,
next to a raw minio-SDK put of the same bytes and a raw clamd INSTREAM scan of the same
bytes, all measured in the same run on the same servers.

    .venv/bin/python -m bench.documents.upload [--sizes 1,10,100] [--repeat 3]

Starts its own processes on free loopback ports and stops them at the end: a clamd
(deploy/local/clamd/start-clamd.sh, state under var/), moto's S3 server, and the documents
service (uvicorn, a throwaway database and bus prefix). Peak memory is the service
process's resident-set high-water mark (VmHWM, reset before each upload)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
from eaps_kit.db import drop_database
from eaps_kit.testing import TestKeys, free_port, unique_suffix
from minio import Minio

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
MB = 1_000_000
MIB = 1024 * 1024


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def serve_jwks(keys: TestKeys) -> tuple[HTTPServer, int]:
    body = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    # Writing 5 to clear_refs resets the high-water mark to the current RSS (Linux >= 4.0).
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def make_file(path: Path, size: int) -> None:
    head = b"%PDF-1.7\n"
    with path.open("wb") as f:
        f.write(head)
        left = size - len(head)
        while left > 0:
            n = min(left, 4 * MIB)
            f.write(os.urandom(n))
            left -= n


def raw_put(client: Minio, bucket: str, path: Path) -> float:
    t = time.perf_counter()
    client.fput_object(bucket, f"raw/{uuid.uuid4()}", str(path), content_type="application/pdf", part_size=5 * MIB)
    return time.perf_counter() - t


def raw_scan(port: int, path: Path) -> float:
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as s, path.open("rb") as f:
        s.sendall(b"zINSTREAM\0")
        while chunk := f.read(256 * 1024):
            s.sendall(struct.pack(">I", len(chunk)) + chunk)
        s.sendall(struct.pack(">I", 0))
        reply = b""
        while not reply.endswith(b"\0"):
            reply += s.recv(4096)
    assert reply.startswith(b"stream: OK"), reply
    return time.perf_counter() - t


def service_upload(base: str, token: str, path: Path, pid: int) -> tuple[float, int, str]:
    reset_peak(pid)
    t = time.perf_counter()
    with path.open("rb") as f, httpx.Client(timeout=600) as c:
        r = c.post(f"{base}/api/v1/documents", headers={"Authorization": f"Bearer {token}"},
                    data={"title": "bench", "document_type": "PC"}, files={"file": (path.name, f, "application/pdf")})
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, rss_peak_kib(pid), r.json()["status"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100", help="file sizes in MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    work = ROOT / "var" / f"bench-documents-{unique_suffix()}"
    work.mkdir(parents=True)
    procs: list[subprocess.Popen[bytes]] = []
    db_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/eaps_documents_bench_{unique_suffix()}"
    prefix = f"bench{unique_suffix()}."
    keys = TestKeys()
    jwks, jwks_port = serve_jwks(keys)
    try:
        clamd_port, s3_port, svc_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([str(ROOT / "deploy/local/clamd/start-clamd.sh"), str(clamd_port),
                                       str(work / "clamd")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(clamd_port)
        wait_port(s3_port)
        env = {**os.environ, "DOCUMENTS_PORT": str(svc_port), "DOCUMENTS_DATABASE_URL": db_url,
               "DOCUMENTS_BUS_PREFIX": prefix, "DOCUMENTS_S3_ENDPOINT": f"127.0.0.1:{s3_port}",
               "DOCUMENTS_S3_ACCESS_KEY": "bench", "DOCUMENTS_S3_SECRET_KEY": "bench",
               "DOCUMENTS_CLAMD_PORT": str(clamd_port), "DOCUMENTS_MAX_UPLOAD_BYTES": str(128 * MIB),
               "DOCUMENTS_JWKS_URL": f"http://127.0.0.1:{jwks_port}/", "DOCUMENTS_LOG_LEVEL": "WARNING",
               "DOCUMENTS_LIBRARY_BUCKET": "bench-lib", "DOCUMENTS_PINNED_BUCKET": "bench-pin"}
        svc = subprocess.Popen([PY, "-m", "documents"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(svc)
        base = f"http://127.0.0.1:{svc_port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or svc.poll() is not None:
                raise RuntimeError("documents service did not become ready")
            time.sleep(0.3)
        idle_kib = rss_kib(svc.pid)
        minio = Minio(f"127.0.0.1:{s3_port}", access_key="bench", secret_key="bench", secure=False,
                      region="us-east-1")
        if not minio.bucket_exists("bench-raw"):
            minio.make_bucket("bench-raw")
        token = keys.applicant(uuid.uuid4())

        rows = []
        for size_mb in sizes:
            path = work / f"file-{size_mb}mb.pdf"
            make_file(path, size_mb * MB)
            repeat = 1 if size_mb >= 100 else args.repeat
            put_t, scan_t, svc_t, peaks = [], [], [], []
            service_upload(base, token, path, svc.pid)  # warm-up (connections, caches)
            for _ in range(repeat):
                put_t.append(raw_put(minio, "bench-raw", path))
                scan_t.append(raw_scan(clamd_port, path))
                elapsed, peak, status = service_upload(base, token, path, svc.pid)
                assert status == "available", status
                svc_t.append(elapsed)
                peaks.append(peak)
            mb = size_mb * MB / 1e6
            rows.append({
                "size_mb": size_mb, "runs": repeat,
                "service_mb_s": mb / statistics.median(svc_t),
                "raw_put_mb_s": mb / statistics.median(put_t),
                "raw_scan_mb_s": mb / statistics.median(scan_t),
                "raw_put_then_scan_mb_s": mb / (statistics.median(put_t) + statistics.median(scan_t)),
                "peak_rss_mib": max(peaks) / 1024, "idle_rss_mib": idle_kib / 1024,
            })
            path.unlink()
        print(f"# documents upload benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"{os.cpu_count()} cores, python {sys.version.split()[0]}")
        print("| file | runs | service upload (MB/s) | raw minio put (MB/s) | raw clamd INSTREAM (MB/s) "
              "| raw put + scan in sequence (MB/s) | service peak RSS (MiB) | service idle RSS (MiB) |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['size_mb']} MB | {r['runs']} | {r['service_mb_s']:.1f} | {r['raw_put_mb_s']:.1f} "
                  f"| {r['raw_scan_mb_s']:.1f} | {r['raw_put_then_scan_mb_s']:.1f} | {r['peak_rss_mib']:.0f} "
                  f"| {r['idle_rss_mib']:.0f} |")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        jwks.shutdown()
        shutil.rmtree(work, ignore_errors=True)
        asyncio.run(_cleanup(db_url, prefix))


async def _cleanup(db_url: str, prefix: str) -> None:
    import aio_pika

    await drop_database(db_url)
    conn = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    ch = await conn.channel()
    await ch.exchange_delete(f"{prefix}documents.events")
    await conn.close()


if __name__ == "__main__":
    main()
