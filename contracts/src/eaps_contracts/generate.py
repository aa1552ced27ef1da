"""Generate the JSON Schemas and the AsyncAPI document from the event models.

``python -m eaps_contracts.generate`` (``make contracts``) rewrites ``contracts/schemas/`` and
``contracts/asyncapi.yaml``. It refuses to overwrite a committed schema with an incompatible
one: a published (type, version) only ever gains optional fields; anything else is a new version.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from eaps_contracts.base import Event, exchange_of
from eaps_contracts.envelope import Envelope
from eaps_contracts.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
ASYNCAPI = ROOT / "asyncapi.yaml"


def schema_name(cls: type[Event]) -> str:
    return f"{cls.event_type}.v{cls.event_version}"


def event_schema(cls: type[Event]) -> dict[str, Any]:
    schema = cls.model_json_schema(mode="serialization")
    schema["$id"] = f"https://eaps.douane.local/schemas/{schema_name(cls)}.json"
    schema["title"] = cls.__name__
    schema["description"] = cls.description
    schema["x-routing-key"] = cls.routing_key()
    schema["x-exchange"] = exchange_of(cls.producer())
    return schema


def all_schemas() -> dict[str, dict[str, Any]]:
    out = {schema_name(cls): event_schema(cls) for cls in REGISTRY.values()}
    env = Envelope.model_json_schema()
    env["$id"] = "https://eaps.douane.local/schemas/envelope.json"
    out["envelope"] = env
    return out


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref and ref.startswith("#/$defs/"):
        defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
        return defs.get(ref.split("/")[-1], {})
    return node


def _types(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    node = _resolve(schema, node)
    if "anyOf" in node:
        return set().union(*(_types(schema, n) for n in node["anyOf"]))
    if "enum" in node:
        return {f"enum:{v}" for v in node["enum"]}
    if "const" in node:
        return {f"enum:{node['const']}"}
    t = node.get("type")
    if isinstance(t, list):
        return set(t)
    return {t} if t else {"object" if "properties" in node else "any"}


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "") -> list[str]:
    """What in ``new`` would break a consumer or producer written against ``old``."""
    problems: list[str] = []
    old_props = old.get("properties", {})
    new_props = new.get("properties", {})
    for name, old_node in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"field removed: {where}")
            continue
        new_node = new_props[name]
        old_t, new_t = _types(old, old_node), _types(new, new_node)
        if not old_t <= new_t:
            problems.append(f"type narrowed or changed: {where} {sorted(old_t)} -> {sorted(new_t)}")
        old_r, new_r = _resolve(old, old_node), _resolve(new, new_node)
        if "properties" in old_r:
            problems += incompatibilities({**old_r, "$defs": old.get("$defs", {})},
                                          {**new_r, "$defs": new.get("$defs", {})}, f"{where}.")
        if old_r.get("items") and new_r.get("items"):
            oi, ni = _resolve(old, old_r["items"]), _resolve(new, new_r["items"])
            if "properties" in oi:
                problems += incompatibilities({**oi, "$defs": old.get("$defs", {})},
                                              {**ni, "$defs": new.get("$defs", {})}, f"{where}[].")
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    problems += [f"field became required: {path}{n}" for n in sorted(newly_required)]
    return problems


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls in sorted(REGISTRY.values(), key=schema_name):
        name = schema_name(cls)
        exchange = exchange_of(cls.producer())
        msg_id = name.replace(".", "_")
        messages[msg_id] = {
            "name": name,
            "title": cls.__name__,
            "summary": cls.description,
            "contentType": "application/json",
            "headers": {"type": "object", "properties": {
                "traceparent": {"type": "string", "description": "W3C trace context"}}},
            "correlationId": {"location": "$message.payload#/correlation_id"},
            "payload": {"allOf": [{"$ref": "./schemas/envelope.json"}, {
                "type": "object", "properties": {
                    "type": {"const": cls.event_type}, "version": {"const": cls.event_version},
                    "data": {"$ref": f"./schemas/{name}.json"}}}]},
            "bindings": {"amqp": {"messageType": cls.event_type, "deliveryMode": 2, "bindingVersion": "0.3.0"}},
        }
        channel_id = msg_id
        channels[channel_id] = {
            "address": cls.routing_key(),
            "description": f"Routing key {cls.routing_key()} on exchange {exchange}.",
            "messages": {msg_id: {"$ref": f"#/components/messages/{msg_id}"}},
            "bindings": {"amqp": {"is": "routingKey", "exchange": {
                "name": exchange, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                "bindingVersion": "0.3.0"}},
        }
        operations[f"publish_{msg_id}"] = {
            "action": "send",
            "summary": f"{cls.producer()} publishes {name}",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{msg_id}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "e-APS events",
            "version": "1.0.0",
            "description": (
                "Events exchanged by the e-APS services over RabbitMQ. Each producer owns a durable topic "
                "exchange `<producer>.events`; routing keys are `<producer>.<aggregate>.<event>.v<N>`. "
                "Messages are persistent, their AMQP message id is the envelope's `event_id`, and consumers "
                "must be idempotent on it. The exchange `public.decisions` is reserved for other "
                "administrations: decision changes (granted, refused, suspended, revoked, …) in a versioned "
                "schema. A breaking change is published as a new version beside the old one."),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:5672", "protocol": "amqp", "description": "local RabbitMQ"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_asyncapi() -> str:
    return yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=110)


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> int:
    SCHEMAS.mkdir(exist_ok=True)
    refused = []
    for name, schema in all_schemas().items():
        target = SCHEMAS / f"{name}.json"
        if target.exists() and name != "envelope":
            problems = incompatibilities(json.loads(target.read_text()), schema)
            if problems:
                refused.append(f"{name}: " + "; ".join(problems))
                continue
        target.write_text(render_schema(schema))
    ASYNCAPI.write_text(render_asyncapi())
    if refused:
        print("Incompatible changes to published events (publish a new version instead):", file=sys.stderr)
        for line in refused:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"wrote {len(all_schemas())} schemas and {ASYNCAPI.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
