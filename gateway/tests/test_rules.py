"""The access table as data: path patterns, first match wins, and a table that cannot be loaded wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from eaps_kit.auth import Principal
from gateway.__main__ import main
from gateway.config import GatewaySettings
from gateway.rules import Match, load_rules
from pydantic import ValidationError

TABLE = """
prefixes:
  /api/v1/dossiers/: dossier
  /api/v1/identity/: identity
rules:
  - {edge: public, methods: "*", path: /api/v1/identity/pae/**, access: hidden}
  - {edge: both, methods: [GET], path: "/api/v1/dossiers/{id}/content", access: public}
  - {edge: public, methods: [GET, POST], path: /api/v1/dossiers/**,
     access: [{roles: [applicant], access_levels: [OPPD]}]}
  - {edge: internal, methods: "*", path: /api/v1/identity/**,
     access: [{roles: [machine], scopes: ["a:read", "b:write"]}, {roles: [admin]}]}
  - {edge: public, methods: "*", path: /api/v1/identity/**, access: public, limit: sign_in}
"""


def _table(tmp_path: Path, text: str = TABLE):  # type: ignore[no-untyped-def]
    path = tmp_path / "routes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_rules(path)


def _who(**kw) -> Principal:  # type: ignore[no-untyped-def]
    return Principal(sub="00000000-0000-0000-0000-000000000001", audience="eaps-public", **kw)


def test_patterns(tmp_path: Path) -> None:
    public = _table(tmp_path).for_edge("public")
    assert isinstance(public.match("GET", "/api/v1/dossiers"), Match)
    assert isinstance(public.match("GET", "/api/v1/dossiers/"), Match)
    assert public.match("GET", "/api/v1/dossiers/a/b/c").rule.path == "/api/v1/dossiers/**"  # type: ignore[union-attr]
    assert public.match("GET", "/api/v1/dossiers/7/content").rule.is_public  # type: ignore[union-attr]
    assert public.match("GET", "/api/v1/dossiersX") is None
    assert public.match("GET", "/api/v1/dossiers//x") is None
    assert public.match("GET", "/api/v1") is None


def test_first_rule_wins_and_hidden_answers_not_found(tmp_path: Path) -> None:
    public = _table(tmp_path).for_edge("public")
    assert public.match("GET", "/api/v1/identity/pae/requests") is None
    match = public.match("POST", "/api/v1/identity/sessions")
    assert isinstance(match, Match) and match.rule.limit == "sign_in" and match.service == "identity"


def test_method_mismatch_gives_the_allowed_methods(tmp_path: Path) -> None:
    public = _table(tmp_path).for_edge("public")
    assert public.match("DELETE", "/api/v1/dossiers/7") == ["GET", "POST"]
    assert isinstance(public.match("HEAD", "/api/v1/dossiers/7"), Match)  # HEAD goes with GET


def test_edges_see_only_their_rules(tmp_path: Path) -> None:
    internal = _table(tmp_path).for_edge("internal")
    assert internal.match("GET", "/api/v1/dossiers/7") is None
    assert internal.match("GET", "/api/v1/dossiers/7/content").rule.is_public  # type: ignore[union-attr]
    assert internal.services() == ["dossier", "identity"]


def test_grants(tmp_path: Path) -> None:
    table = _table(tmp_path)
    dossiers = table.for_edge("public").match("GET", "/api/v1/dossiers/1").rule  # type: ignore[union-attr]
    assert dossiers.permits(_who(roles=["applicant"], access_level="OPPD"))
    assert not dossiers.permits(_who(roles=["applicant"], access_level="AS"))
    assert not dossiers.permits(_who(roles=["officer"], access_level="OPPD"))
    identity = table.for_edge("internal").match("GET", "/api/v1/identity/x").rule  # type: ignore[union-attr]
    assert identity.permits(_who(roles=["machine"], scopes=["b:write", "a:read"]))
    assert not identity.permits(_who(roles=["machine"], scopes=["a:read"]))  # scopes: all of them
    assert identity.permits(_who(roles=["admin"]))


@pytest.mark.parametrize("bad", [
    TABLE.replace("/api/v1/dossiers/: dossier", "/api/v1/dossiers/: billing"),       # unknown service
    TABLE.replace("path: /api/v1/identity/pae/**", "path: /internal/**"),            # /internal/ routed
    TABLE.replace("path: /api/v1/identity/pae/**", "path: /api/v2/other/**"),        # nobody owns it
    TABLE.replace("methods: [GET, POST]", "methods: [GET, FETCH]"),                  # unknown method
    TABLE.replace("access: [{roles: [applicant], access_levels: [OPPD]}]", "access: []"),  # no grant
    TABLE.replace("access: hidden", "access: private"),                              # unknown access
    TABLE.replace("path: /api/v1/identity/pae/**", "path: /api/v1/identity/**/pae"),  # ** not last
    TABLE.replace("edge: both", "edge: partner"),                                    # unknown edge
    TABLE.replace("{edge: both, methods: [GET],", "{edge: both, methods: [GET], role: admin,"),  # typo'd key
])
def test_a_wrong_table_does_not_load(tmp_path: Path, bad: str) -> None:
    assert bad != TABLE
    with pytest.raises(ValidationError):
        _table(tmp_path, bad)


def test_shipped_table_covers_the_edge_routes() -> None:
    table = load_rules()
    assert table.for_edge("public").services() == ["identity", "classification", "dossier", "documents",
                                                   "notifications"]
    assert table.for_edge("internal").services() == ["identity", "instruction", "documents", "notifications"]
    for rule in table.rules:
        assert not rule.path.startswith("/internal")


def test_settings_come_from_gateway_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DOSSIER_URL", "http://dossier.svc:8103/")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_SIGN_IN", "3")
    monkeypatch.setenv("GATEWAY_TRUSTED_PROXIES", '["10.0.0.1"]')
    settings = GatewaySettings()
    assert settings.upstream_url("dossier") == "http://dossier.svc:8103"
    assert settings.rate_limit_sign_in == 3
    assert settings.trusted_proxies == ["10.0.0.1"]
    assert (settings.port_for("public"), settings.port_for("internal")) == (8000, 8001)
    assert settings.upstream_url("notifications") == "http://127.0.0.1:8106"


def test_command_line_names_the_edge(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sideways"])
    assert exc.value.code == 2
    assert "python -m gateway {public|internal}" in capsys.readouterr().err
