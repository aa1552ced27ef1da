"""Local sinks for outgoing messages, used by ``make run`` and by tests.

- SMTP sink (aiosmtpd), default 127.0.0.1:1025: every message received is written as an
  ``.eml`` file under ``var/mail/`` (and kept in memory by the in-process :class:`MailSink`);
  recipients ``...@refuse.invalid`` are refused with 550 (to try permanent failures).
- SMS sink, HTTP on 127.0.0.1:1026: ``POST /messages`` ``{"to", "text", "sender"?, "id"?}``
  records one SMS as a JSON file under ``var/sms/``; ``GET /messages`` (optionally ``?to=``)
  lists them, oldest first; ``GET /messages/latest?to=`` returns the last one for a number.

Run both: ``python deploy/local/sinks.py [--host 127.0.0.1] [--smtp-port 1025] [--sms-port 1026]
[--mail-dir var/mail] [--sms-dir var/sms]``; a port of 0 disables that sink.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import threading
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MAIL_DIR = ROOT / "var" / "mail"
DEFAULT_SMS_DIR = ROOT / "var" / "sms"


# Recipients in this domain are refused for good (550), to exercise permanent-failure handling.
REFUSED_DOMAIN = "@refuse.invalid"


class _MailHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self,
        server: Any,
        session: Any,
        envelope: Any,
        address: str,  # noqa: N802
        rcpt_options: list[str],
    ) -> str:
        if address.lower().endswith(REFUSED_DOMAIN):
            return "550 5.1.1 Destinataire inconnu"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd API)
        raw: bytes = envelope.original_content or envelope.content
        self.sink.record(raw, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server that accepts everything and keeps it (files + memory)."""

    def __init__(self, directory: Path | str = DEFAULT_MAIL_DIR, host: str = "127.0.0.1", port: int = 1025) -> None:
        self.directory = Path(directory)
        self.host, self.port = host, port
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def record(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        (self.directory / name).write_bytes(raw)
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        msg["X-Sink-Envelope-To"] = ", ".join(rcpt_tos)
        with self._lock:
            self.messages.append(msg)

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m.get("X-Sink-Envelope-To", ""))]

    def start(self) -> MailSink:
        self._controller = Controller(_MailHandler(self), hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def create_sms_app(directory: Path | str = DEFAULT_SMS_DIR) -> FastAPI:
    """The SMS sink's HTTP API (what the ``http-sink`` SMS provider adapter speaks to)."""
    folder = Path(directory)
    app = FastAPI(title="e-APS — SMS sink (local)")

    def _all(to: str | None) -> list[dict[str, Any]]:
        if not folder.exists():
            return []
        items = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        return [i for i in items if to is None or i["to"] == to]

    def _write(record: dict[str, Any]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
        (folder / name).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")

    @app.post("/messages", status_code=201)
    async def post_message(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "JSON attendu") from None
        if not isinstance(body, dict) or not isinstance(body.get("to"), str) or not isinstance(body.get("text"), str):
            raise HTTPException(422, "« to » et « text » sont obligatoires")
        record = {
            "id": str(body.get("id") or uuid.uuid4()),
            "to": body["to"],
            "text": body["text"],
            "sender": body.get("sender"),
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        await asyncio.to_thread(_write, record)
        return JSONResponse(record, status_code=201)

    @app.get("/messages")
    def list_messages(to: str | None = None) -> list[dict[str, Any]]:
        return _all(to)

    @app.get("/messages/latest")
    def latest_message(to: str) -> dict[str, Any]:
        items = _all(to)
        if not items:
            raise HTTPException(404, "aucun SMS pour ce numéro")
        return items[-1]

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Local SMTP and SMS sinks for e-APS")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--sms-port", type=int, default=1026)
    parser.add_argument("--mail-dir", type=Path, default=DEFAULT_MAIL_DIR)
    parser.add_argument("--sms-dir", type=Path, default=DEFAULT_SMS_DIR)
    args = parser.parse_args(argv)
    mail = MailSink(args.mail_dir, args.host, args.smtp_port).start() if args.smtp_port else None
    print(f"SMTP sink on {args.host}:{args.smtp_port} -> {args.mail_dir}" if mail else "SMTP sink disabled", flush=True)
    try:
        if args.sms_port:
            print(f"SMS sink on http://{args.host}:{args.sms_port} -> {args.sms_dir}", flush=True)
            uvicorn.run(create_sms_app(args.sms_dir), host=args.host, port=args.sms_port, log_level="warning")
        else:
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        if mail is not None:
            mail.stop()


if __name__ == "__main__":
    main()
