"""The access table against the services' real OpenAPI documents: every operation a service publishes
under /api/v1/ is reachable on the edge its audience uses, and none leaks to the other edge."""

from __future__ import annotations

import importlib

import pytest
from gateway.rules import Match, load_rules

# Which edge each operation belongs to, by path: the policy stated once, checked against the code.
INTERNAL_ONLY = ("/api/v1/identity/pae/", "/api/v1/identity/officers/", "/api/v1/identity/oauth/",
                 "/api/v1/instruction/", "/api/v1/webhooks/", "/api/v1/documents/generated/")
BOTH = ("/.well-known/jwks.json", "/api/v1/notifications/", "/api/v1/documents/pinned/")


def _service_operations(service: str) -> list[tuple[str, str]]:
    # Every service is installed in the workspace: an import error is a broken service, not a skip.
    main = importlib.import_module(f"{service}.main")
    doc = main.create_app().openapi()  # building the document needs no database or broker
    return [(method.upper(), path) for path, item in doc["paths"].items() for method in item
            if path.startswith(("/api/", "/.well-known/"))]


def _expected_edges(path: str) -> set[str]:
    probe = path if path.endswith("/") else path + "/"
    if probe.startswith(BOTH) or path.startswith(BOTH):
        return {"public", "internal"}
    if probe.startswith(INTERNAL_ONLY):
        return {"internal"}
    return {"public"}


@pytest.mark.parametrize("service", ["identity", "classification", "dossier", "documents", "instruction",
                                     "notifications"])
def test_every_service_operation_is_on_its_edge(service: str) -> None:
    table = load_rules()
    edges = {"public": table.for_edge("public"), "internal": table.for_edge("internal")}
    wrong = []
    for method, path in _service_operations(service):
        routed = {name for name, rules in edges.items() if isinstance(rules.match(method, path), Match)}
        if path.startswith("/api/v1/documents/") and not path.startswith(("/api/v1/documents/pinned/",
                                                                          "/api/v1/documents/generated/")):
            expected = {"public"}
        else:
            expected = _expected_edges(path)
        if routed != expected:
            wrong.append(f"{method} {path}: routed on {sorted(routed)}, expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)
