"""The committed AsyncAPI document and JSON Schemas match the code, and published event
versions only ever change compatibly."""

from __future__ import annotations

import copy
import json
import re
import uuid

import pytest
from eaps_contracts import REGISTRY, Envelope
from eaps_contracts.events.documents_v1 import DocumentDeletedV1
from eaps_contracts.generate import ASYNCAPI, SCHEMAS, all_schemas, incompatibilities, render_asyncapi, render_schema
from pydantic import ValidationError

ROUTING_KEY = re.compile(r"^[a-z]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")


def test_every_event_has_a_contract_routing_key_and_a_description() -> None:
    assert REGISTRY, "no events registered"
    for (etype, version), cls in REGISTRY.items():
        assert ROUTING_KEY.match(cls.routing_key()), cls.routing_key()
        assert cls.routing_key() == f"{etype}.v{version}"
        assert cls.description, f"{cls.__name__} has no description"


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_committed_schemas_are_compatible_with_the_code(name: str) -> None:
    path = SCHEMAS / f"{name}.json"
    assert path.exists(), f"{path.name} is missing: run `make contracts`"
    problems = incompatibilities(json.loads(path.read_text()), all_schemas()[name])
    assert problems == [], f"incompatible change to a published event (publish a new version): {problems}"


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_committed_schemas_are_not_stale(name: str) -> None:
    path = SCHEMAS / f"{name}.json"
    assert path.read_text() == render_schema(all_schemas()[name]), f"{path.name} is stale: run `make contracts`"


def test_no_committed_schema_without_its_event() -> None:
    names = {p.stem for p in SCHEMAS.glob("*.json")}
    assert names - set(all_schemas()) == set(), "schemas of events that no longer exist (a published version must stay)"


def test_asyncapi_document_is_not_stale() -> None:
    assert ASYNCAPI.read_text() == render_asyncapi(), "asyncapi.yaml is stale: run `make contracts`"


def test_compatibility_check_catches_breaking_changes() -> None:
    old = all_schemas()["documents.document.deleted.v1"]
    removed = copy.deepcopy(old)
    del removed["properties"]["owner_account_id"]
    assert any("field removed: owner_account_id" in p for p in incompatibilities(old, removed))
    retyped = copy.deepcopy(old)
    retyped["properties"]["document_id"] = {"type": "integer"}
    assert any("document_id" in p for p in incompatibilities(old, retyped))
    required = copy.deepcopy(old)
    required["properties"]["new_field"] = {"type": "string"}
    required["required"] = [*old.get("required", []), "new_field"]
    assert incompatibilities(old, required) == ["field became required: new_field"]
    optional = copy.deepcopy(old)
    optional["properties"]["comment"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert incompatibilities(old, optional) == []


def test_nested_breaking_change_is_caught() -> None:
    old = all_schemas()["dossier.dossier.submitted.v1"]
    new = copy.deepcopy(old)
    del new["$defs"]["MaterialLine"]["properties"]["quantity"]
    assert any("quantity" in p for p in incompatibilities(old, new))


def test_producers_forbid_extra_fields_and_consumers_ignore_them() -> None:
    doc = {"document_id": str(uuid.uuid4()), "owner_account_id": str(uuid.uuid4())}
    with pytest.raises(ValidationError):
        DocumentDeletedV1.model_validate({**doc, "typo_field": 1})
    parsed = DocumentDeletedV1.parse_consumed({**doc, "added_later": "ignored"})
    assert str(parsed.document_id) == doc["document_id"]


def test_envelope_carries_ids_and_routing_key() -> None:
    event = DocumentDeletedV1(document_id=uuid.uuid4(), owner_account_id=uuid.uuid4())
    env = Envelope.wrap(event)
    assert env.routing_key == "documents.document.deleted.v1"
    assert env.producer == "documents" and env.version == 1
    assert env.correlation_id == env.event_id and env.causation_id is None
    again = Envelope.model_validate_json(env.model_dump_json())
    assert again == env
