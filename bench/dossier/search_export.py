# ruff: noqa: E501 - generated SQL and report lines read better unwrapped
"""Dossier service benchmark: advanced search p50/p95 over 1 million generated dossiers and the
export of 100,000 rows (time and peak memory), each next to the same SQL run directly on
PostgreSQL in the same run.

    .venv/bin/python -m bench.dossier.search_export [--dossiers 1000000] [--export-rows 100000]

A private database is created, filled with generated rows (one operator holds the export's
rows; the rest is spread over 5,000 applicants) and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import threading
import time
import uuid
from datetime import date
from typing import Any

import asyncpg
from dossier import exports, views
from dossier.adapters.repository import Scope
from dossier.config import Settings
from dossier.domain.reference import reference
from dossier.main import create_app
from eaps_kit.db import asyncpg_dsn, drop_database, migrate
from eaps_kit.testing import TestKeys, app_client, bearer, test_database_url, unique_suffix
from sqlalchemy.dialects import postgresql

OWNERS = 5000
BRANDS = ["beretta", "browning", "verney carron", "sako", "tikka", "benelli", "glock", "sig sauer", "ruger",
          "winchester", "merkel", "blaser", "heckler koch", "cz", "manufrance"]
THINGS = ["carabine", "fusil", "pistolet", "revolver", "munitions", "dague", "canon", "culasse", "lunette",
          "poignard", "chargeur", "cartouches"]
CITIES = ["paris", "lyon", "saint etienne", "bordeaux", "dallas", "geneve", "bruxelles", "milan", "liege"]
STATUSES = ["brouillon", "transmise", "en_etude", "en_instruction", "en_decision", "a_completer", "accordee",
            "refusee", "irrecevable", "retiree"]
FLOWS = [("EXP", "FR", "US", "LEAF"), ("IMP", "US", "FR", "AIMG"), ("INT", "BE", "FR", "AP-INT"),
         ("EXD", "FR", "DE", "PT"), ("EXP", "FR", "CH", "LEAF"), ("INT", "IT", "FR", "AP-INT")]
CODES = ["C-1-c", "C-2-a", "B-1", "D-a", "C-6", "A1-2", "D-g"]


def _arr(values: list[str]) -> str:
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]"


GENERATE = f"""
INSERT INTO dossiers (id, owner_account_id, operator_id, status, version, registration_number, submission_no,
    created_at, updated_at, submitted_at, first_submitted_at, authorisation_type, flow, origin_country,
    destination_country, classification_codes, applicant_name, motive, lines_count, total_quantity,
    total_value_eur, ruleset_version, search_text, content)
SELECT g.id, g.owner, g.operator, g.status, 1,
       CASE WHEN g.status <> 'brouillon' THEN 'EAPS-' || (2020 + g.n % 7) || '-' || lpad((g.n / 7 + 1)::text, 6, '0') END,
       CASE WHEN g.status <> 'brouillon' THEN 1 ELSE 0 END,
       g.created, g.created + interval '2 days',
       CASE WHEN g.status <> 'brouillon' THEN g.created + interval '1 day' END,
       CASE WHEN g.status <> 'brouillon' THEN g.created + interval '1 day' END,
       (g.flow)[4], (g.flow)[1], (g.flow)[2], (g.flow)[3], ARRAY[g.code], 'Demandeur ' || (g.n % {OWNERS}),
       'vente', 1 + g.n % 3, 1 + g.n % 50, (g.n % 9000)::numeric + 0.5, '2026-01-01',
       g.brand || ' ' || g.thing || ' ' || g.city || ' ' || g.code || ' demandeur ' || (g.n % {OWNERS}),
       jsonb_build_object('general', jsonb_build_object('flow', (g.flow)[1], 'applicant_kind', 'professional',
                          'profile', 'armurier'),
                          'lines', jsonb_build_array(jsonb_build_object('line_no', 1, 'classification_code', g.code,
                                   'designation', g.thing, 'brand', g.brand, 'quantity', 1 + g.n % 50)),
                          'parties', jsonb_build_object('motive', 'vente'), 'justificatifs', '[]'::jsonb)
FROM (
  SELECT n, gen_random_uuid() AS id,
         CASE WHEN n < $1 THEN $2::uuid ELSE owners[1 + n % {OWNERS}] END AS owner,
         CASE WHEN n < $1 THEN $3::uuid END AS operator,
         ({_arr(STATUSES)})[1 + (n * 7) % {len(STATUSES)}] AS status,
         timestamptz '2020-01-01' + (n % 2400) * interval '1 day' + (n % 86400) * interval '1 second' AS created,
         CASE n % {len(FLOWS)} {" ".join(f"WHEN {i} THEN ARRAY['{f}','{o}','{d}','{a}']" for i, (f, o, d, a) in enumerate(FLOWS))} END AS flow,
         ({_arr(CODES)})[1 + n % {len(CODES)}] AS code,
         ({_arr(BRANDS)})[1 + (n / 3) % {len(BRANDS)}] AS brand,
         ({_arr(THINGS)})[1 + (n / 5) % {len(THINGS)}] AS thing,
         ({_arr(CITIES)})[1 + (n / 11) % {len(CITIES)}] AS city
  FROM generate_series($4::int, $5::int - 1) AS n,
       (SELECT array_agg(gen_random_uuid()) AS owners FROM generate_series(1, {OWNERS})) o
) g
"""


class PeakRss:
    """Samples this process's resident memory while a block runs (the exports' peak)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def __enter__(self) -> PeakRss:
        self.base = self.rss()
        self.peak = self.base
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def delta_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def sql_of(stmt: Any) -> str:
    return str(stmt.compile(dialect=postgresql.asyncpg.dialect(), compile_kwargs={"literal_binds": True}))


async def generate(dsn: str, total: int, operator_rows: int, owner: uuid.UUID, operator: uuid.UUID) -> float:
    conn = await asyncpg.connect(dsn)
    t0 = time.perf_counter()
    try:
        await conn.execute("SET synchronous_commit = off")
        step = 100_000
        for start in range(0, total, step):
            await conn.execute(GENERATE, operator_rows, owner, operator, start, min(total, start + step))
            print(f"  generated {min(total, start + step):>9,} dossiers", flush=True)
        await conn.execute("VACUUM ANALYZE dossiers")
    finally:
        await conn.close()
    return time.perf_counter() - t0


def search_cases(rng: random.Random, owners: list[uuid.UUID]) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    cases = []
    for i in range(200):
        owner = rng.choice(owners)
        kind = i % 5
        if kind == 0:
            params: dict[str, Any] = {}
        elif kind == 1:
            params = {"q": f"{rng.choice(BRANDS).split()[0]} {rng.choice(THINGS)}"}
        elif kind == 2:
            params = {"status": rng.choice(STATUSES), "flow": rng.choice(FLOWS)[0]}
        elif kind == 3:
            y = rng.randint(2020, 2025)
            params = {"submitted_from": f"{y}-01-01", "submitted_to": f"{y}-06-30", "country": "US"}
        else:
            params = {"classification": rng.choice(CODES), "sort": "numero"}
        cases.append((owner, params))
    return cases


def filters_of(params: dict[str, Any]) -> views.DossierFilters:
    f = views.DossierFilters()
    for k, v in params.items():
        if k == "sort":
            continue
        if k == "status":
            f.status = [v]
        elif k in ("submitted_from", "submitted_to"):
            setattr(f, k, date.fromisoformat(v))
        else:
            setattr(f, k, v)
    return f


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--export-rows", type=int, default=100_000)
    args = parser.parse_args()
    url = test_database_url("dossier_bench")
    dsn = asyncpg_dsn(url)
    keys = TestKeys()
    big_owner, operator = uuid.uuid4(), uuid.uuid4()
    ref = reference()
    print(f"database {url.rsplit('/', 1)[1]}, {args.dossiers:,} dossiers, export of {args.export_rows:,} rows")
    await migrate(Settings().migrations_dir, url)
    try:
        gen_s = await generate(dsn, args.dossiers, args.export_rows, big_owner, operator)
        print(f"generation: {gen_s:.0f} s")
        conn = await asyncpg.connect(dsn)
        owners = [r[0] for r in await conn.fetch(
            "SELECT DISTINCT owner_account_id FROM dossiers WHERE operator_id IS NULL LIMIT 500")]
        settings = Settings(database_url=url, bus_prefix=f"t{unique_suffix()}.", environment="test",
                            run_workers=False, log_json=False, log_level="WARNING")
        app = create_app(settings, token_verifier=keys.verifier())
        rng = random.Random(7)
        cases = search_cases(rng, owners)
        async with app_client(app) as client:
            api_ms, sql_ms = [], []
            for owner, params in cases:
                token = keys.applicant(owner)
                t0 = time.perf_counter()
                r = await client.get("/api/v1/search/dossiers", params={**params, "size": 20}, headers=bearer(token))
                api_ms.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
                # The same two statements (count and page), straight on PostgreSQL.
                scope, f = Scope(owner), filters_of(params)
                where = views.dossier_where(scope, f, ref)
                import sqlalchemy as sa
                from dossier.adapters.orm import dossiers as t
                count = sa.select(sa.func.count()).select_from(t).where(*where)
                page = (sa.select(*views.SUMMARY_COLUMNS).where(*where)
                        .order_by(*views.order_by(params.get("sort", "-mise_a_jour"), views.DOSSIER_SORTS, t.c.id))
                        .limit(20))
                t0 = time.perf_counter()
                await conn.fetchval(sql_of(count))
                await conn.fetch(sql_of(page))
                sql_ms.append((time.perf_counter() - t0) * 1000)
            print(f"search via API  ({len(api_ms)} queries): p50 {pct(api_ms, 50):.1f} ms, p95 {pct(api_ms, 95):.1f} ms")
            print(f"same SQL direct ({len(sql_ms)} queries): p50 {pct(sql_ms, 50):.1f} ms, p95 {pct(sql_ms, 95):.1f} ms")

            token = keys.applicant(big_owner, access_level="OPPD", operator_id=operator)
            results: dict[str, tuple[float, float, int]] = {}
            for fmt in ("csv", "xlsx"):
                size = 0
                with PeakRss() as mem:
                    t0 = time.perf_counter()
                    async with client.stream("GET", "/api/v1/search/dossiers/export", params={"format": fmt},
                                             headers=bearer(token)) as resp:
                        assert resp.status_code == 200
                        async for chunk in resp.aiter_bytes():
                            size += len(chunk)
                    elapsed = time.perf_counter() - t0
                results[fmt] = (elapsed, mem.delta_mib, size)
                print(f"export {fmt:4} via API: {elapsed:.1f} s, peak RSS +{mem.delta_mib:.0f} MiB, {size / 2**20:.1f} MiB")
            query = exports.dossier_export_query(Scope(big_owner, operator), views.DossierFilters(), ref, "-mise_a_jour")
            copied = 0

            async def sink(data: bytes) -> None:
                nonlocal copied
                copied += len(data)
            with PeakRss() as mem:
                t0 = time.perf_counter()
                await conn.copy_from_query(sql_of(query), output=sink, format="csv", delimiter=";", header=True)
                elapsed = time.perf_counter() - t0
            print(f"same SQL direct (COPY to CSV): {elapsed:.1f} s, peak RSS +{mem.delta_mib:.0f} MiB, "
                  f"{copied / 2**20:.1f} MiB")
        await conn.close()
        rows = await _count(dsn, operator)
        print(f"rows exported: {rows:,}; machine: {os.cpu_count()} cores")
    finally:
        await drop_database(url)


async def _count(dsn: str, operator: uuid.UUID) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM dossiers WHERE operator_id = $1", operator))
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
