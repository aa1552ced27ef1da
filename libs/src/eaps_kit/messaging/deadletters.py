"""Listing and replaying dead letters (API for tests and the ``eaps-dlq`` command)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from eaps_kit.messaging.broker import Broker
from eaps_kit.messaging.consumer import ATTEMPT_HEADER, ERROR_HEADER, FAILED_AT_HEADER, ORIGIN_HEADER


@dataclass
class DeadLetter:
    message_id: str
    type: str | None
    error: str | None
    failed_at: str | None
    origin_queue: str | None
    body: dict[str, Any] | str


class DeadLetters:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def list(self, queue: str) -> list[DeadLetter]:
        """Peek at every dead letter of ``queue`` (the consumer queue's name, without ``.dlq``)."""
        ch = await self.broker.channel()
        try:
            q = await ch.get_queue(self.broker.queue_name(f"{queue}.dlq"), ensure=True)
            seen, out = [], []
            while True:
                msg = await q.get(no_ack=False, fail=False)
                if msg is None:
                    break
                seen.append(msg)
                headers = msg.headers or {}
                try:
                    body: dict[str, Any] | str = json.loads(msg.body)
                except ValueError:
                    body = msg.body.decode(errors="replace")
                out.append(DeadLetter(str(msg.message_id), msg.type, _s(headers.get(ERROR_HEADER)),
                                      _s(headers.get(FAILED_AT_HEADER)), _s(headers.get(ORIGIN_HEADER)), body))
            for msg in seen:
                await msg.nack(requeue=True)
            return out
        finally:
            await ch.close()

    async def replay(self, queue: str, message_id: str | None = None) -> int:
        """Send dead letters back to their queue with a fresh retry budget; returns how many."""
        ch = await self.broker.channel()
        replayed = 0
        try:
            q = await ch.get_queue(self.broker.queue_name(f"{queue}.dlq"), ensure=True)
            kept = []
            while True:
                msg = await q.get(no_ack=False, fail=False)
                if msg is None:
                    break
                if message_id is not None and str(msg.message_id) != message_id:
                    kept.append(msg)
                    continue
                headers = {k: v for k, v in (msg.headers or {}).items()
                           if k not in (ATTEMPT_HEADER, ERROR_HEADER, ORIGIN_HEADER, FAILED_AT_HEADER)
                           and not k.startswith("x-death")}
                await self.broker.publish("", self.broker.queue_name(queue), msg.body, message_id=str(msg.message_id),
                                          headers=headers, message_type=msg.type)
                await msg.ack()
                replayed += 1
            for msg in kept:
                await msg.nack(requeue=True)
            return replayed
        finally:
            await ch.close()


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eaps-dlq",
                                     description="Lister et rejouer les messages en échec (dead letters).")
    parser.add_argument("--amqp-url", default=os.environ.get("EAPS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--prefix", default=os.environ.get("EAPS_BUS_PREFIX", ""))
    sub = parser.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("list", help="list the dead letters of a consumer queue")
    ls.add_argument("queue", help="consumer queue, e.g. dossier.instruction-events")
    rp = sub.add_parser("replay", help="replay dead letters into their queue")
    rp.add_argument("queue")
    rp.add_argument("--message-id", default=None, help="only this message (default: all)")
    args = parser.parse_args(argv)

    async def run() -> int:
        broker = Broker(args.amqp_url, args.prefix)
        try:
            dl = DeadLetters(broker)
            if args.cmd == "list":
                items = await dl.list(args.queue)
                for d in items:
                    print(json.dumps({"message_id": d.message_id, "type": d.type, "failed_at": d.failed_at,
                                      "error": d.error}, ensure_ascii=False))
                print(f"{len(items)} message(s) in {args.queue}.dlq", file=sys.stderr)
            else:
                n = await dl.replay(args.queue, args.message_id)
                print(f"{n} message(s) replayed into {args.queue}", file=sys.stderr)
            return 0
        finally:
            await broker.close()

    return asyncio.run(run())


if __name__ == "__main__":
    raise SystemExit(main())
