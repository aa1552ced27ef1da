"""One OpenAPI document per edge: the services' documents, cut down to what the edge exposes."""

from __future__ import annotations

import asyncio
import copy
import html
import logging
import time
from typing import Any

import httpx

from gateway.rules import HTTP_METHODS, EdgeRules

log = logging.getLogger("eaps.gateway.openapi")

EDGE_TITLES = {
    "public": "e-APS — API publique (demandeurs)",
    "internal": "e-APS — API interne (agents, PAE, autres administrations)",
}


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.rsplit("/", 1)[1]
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def _describe_access(rule_access: Any) -> str:
    if rule_access == "public":
        return "public (sans jeton)"
    parts = []
    for grant in rule_access:
        bits = []
        if grant.roles:
            bits.append("rôle " + " ou ".join(grant.roles))
        if grant.access_levels:
            bits.append("accès " + " ou ".join(grant.access_levels))
        if grant.scopes:
            bits.append("scope " + " et ".join(grant.scopes))
        parts.append(", ".join(bits) or "jeton valide")
    return " ; ou ".join(parts)


def merge(edge_rules: EdgeRules, documents: dict[str, dict[str, Any]], unavailable: list[str]) -> dict[str, Any]:
    """Keep the operations that a rule of this edge lets through; prefix operation ids with the service;
    rename component schemas that two services define differently."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": EDGE_TITLES[edge_rules.edge], "version": "1.0.0",
                 "description": "Document agrégé par la passerelle à partir des services."},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "tags": [],
    }
    if unavailable:
        merged["info"]["x-unavailable-services"] = sorted(unavailable)
    schemas: dict[str, Any] = merged["components"]["schemas"]
    tags_seen: set[str] = set()
    for service in sorted(documents):
        doc = documents[service]
        own = (doc.get("components") or {}).get("schemas") or {}
        renames = {name: f"{service}__{name}" for name, schema in own.items()
                   if name in schemas and schemas[name] != _rewrite_refs(schema, {})}
        doc = _rewrite_refs(doc, renames)
        kept_refs = False
        for path, item in (doc.get("paths") or {}).items():
            if edge_rules.table.service_for(path) != service:
                continue
            for method, operation in item.items():
                if method.upper() not in HTTP_METHODS or not isinstance(operation, dict):
                    continue
                match = edge_rules.match(method.upper(), path)
                if match is None or isinstance(match, list):
                    continue
                op = copy.deepcopy(operation)
                if "operationId" in op:
                    op["operationId"] = f"{service}_{op['operationId']}"
                op["x-service"] = service
                op["x-access"] = _describe_access(match.rule.access)
                if not match.rule.is_public:
                    op["security"] = [{"bearerAuth": []}]
                merged["paths"].setdefault(path, {})[method] = op
                kept_refs = True
                for tag in op.get("tags") or []:
                    if tag not in tags_seen:
                        tags_seen.add(tag)
                        merged["tags"].append({"name": tag})
        if kept_refs:
            for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
                schemas.setdefault(renames.get(name, name), schema)
    return merged


class OpenApiAggregator:
    def __init__(self, edge_rules: EdgeRules, client: httpx.AsyncClient, upstreams: dict[str, str],
                 *, cache_seconds: float, timeout: float) -> None:
        self.edge_rules = edge_rules
        self.client = client
        self.upstreams = upstreams
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str) -> dict[str, Any] | None:
        try:
            resp = await self.client.get(f"{self.upstreams[service]}/openapi.json", timeout=self.timeout)
            resp.raise_for_status()
            doc = resp.json()
            return doc if isinstance(doc, dict) else None
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("openapi of %s unavailable: %r", service, exc)
            return None

    async def document(self) -> dict[str, Any]:
        async with self._lock:
            now = time.monotonic()
            if self._cached and now - self._cached[0] < self.cache_seconds:
                return self._cached[1]
            services = list(self.upstreams)
            results = await asyncio.gather(*(self._fetch(s) for s in services))
            docs = {s: d for s, d in zip(services, results, strict=True) if d is not None}
            unavailable = [s for s, d in zip(services, results, strict=True) if d is None]
            merged = merge(self.edge_rules, docs, unavailable)
            # A partial document is not kept: the next call tries the missing services again.
            if not unavailable:
                self._cached = (now, merged)
            return merged


def docs_page(document: dict[str, Any]) -> str:
    """A self-contained page listing the operations (no CDN is reachable from here)."""
    e = html.escape
    rows = []
    for path, item in sorted(document.get("paths", {}).items()):
        for method, op in item.items():
            rows.append(
                f"<tr><td><code>{e(method.upper())}</code></td><td><code>{e(path)}</code></td>"
                f"<td>{e(op.get('summary') or '')}</td><td>{e(op.get('x-service', ''))}</td>"
                f"<td>{e(op.get('x-access', ''))}</td><td><code>{e(op.get('operationId', ''))}</code></td></tr>")
    missing = document.get("info", {}).get("x-unavailable-services") or []
    warning = (f"<p role=\"alert\">Services momentanément indisponibles (opérations non listées) : "
               f"{e(', '.join(missing))}.</p>") if missing else ""
    title = e(document.get("info", {}).get("title", "API"))
    body = "\n".join(rows) or '<tr><td colspan="6">Aucune opération disponible.</td></tr>'
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}th{{background:#eee}}</style>
</head><body><main>
<h1>{title}</h1>
<p>Le document OpenAPI complet est disponible à l'adresse <a href="/openapi.json">/openapi.json</a>.</p>
{warning}
<table><caption>Opérations exposées par ce point d'entrée</caption>
<thead><tr><th scope="col">Méthode</th><th scope="col">Chemin</th><th scope="col">Résumé</th>
<th scope="col">Service</th><th scope="col">Accès</th><th scope="col">Identifiant</th></tr></thead>
<tbody>
{body}
</tbody></table></main></body></html>"""
