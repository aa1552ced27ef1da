"""The cache of the classification's document codes, with a fake clock and a fake transport."""

from __future__ import annotations

import logging

import httpx
import pytest
from documents.adapters.classification import DOCUMENT_TYPES_PATH, ClassificationUnavailable, DocumentTypes

ANSWER = {"ruleset_version": "2026-01-01", "document_types": [
    {"code": "PC", "label": "Permis de chasser", "description": "…"},
    {"code": "LIC", "label": "Licence de tir", "description": "…"}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Classification:
    """A fake classification: answers ``body`` with ``status`` or, when ``down``, refuses the connection."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = False
        self.status = 200
        self.body: object = ANSWER

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        assert request.url.path == DOCUMENT_TYPES_PATH
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(self.status, json=self.body)


@pytest.fixture
def fake() -> Classification:
    return Classification()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def types(fake: Classification, clock: Clock):
    t = DocumentTypes("http://classification.test", ttl=300, retry_after_failure=30,
                      transport=httpx.MockTransport(fake.handler), clock=clock)
    yield t
    await t.aclose()


async def test_codes_come_from_classification_and_are_cached_for_the_ttl(types, fake, clock):
    assert await types.codes() == {"PC", "LIC"}
    assert await types.is_known("PC")
    assert not await types.is_known("XX")
    clock.now += 299
    assert await types.is_known("LIC")
    assert fake.calls == 1


async def test_an_expired_cache_is_refreshed(types, fake, clock):
    await types.codes()
    fake.body = {"document_types": [{"code": "CEAF", "label": "Carte européenne", "description": ""}]}
    clock.now += 300
    assert await types.codes() == {"CEAF"}
    assert fake.calls == 2


async def test_no_cache_and_classification_down_raises(types, fake):
    fake.down = True
    with pytest.raises(ClassificationUnavailable):
        await types.codes()
    fake.down = False
    assert await types.codes() == {"PC", "LIC"}  # nothing wrong was remembered


async def test_an_expired_cache_is_used_when_classification_is_down(types, fake, clock, caplog):
    await types.codes()
    fake.down = True
    clock.now += 3600
    with caplog.at_level(logging.WARNING, logger="documents.classification"):
        assert await types.codes() == {"PC", "LIC"}
    assert "classification unreachable" in caplog.text
    # It does not call again at each upload while classification is away...
    calls = fake.calls
    clock.now += 29
    assert await types.is_known("PC")
    assert fake.calls == calls
    # ...but tries again after the back-off, and takes the new list once it answers.
    fake.down = False
    fake.body = {"document_types": [{"code": "ID", "label": "Pièce d'identité", "description": ""}]}
    clock.now += 1
    assert await types.codes() == {"ID"}


@pytest.mark.parametrize(("status", "body"), [
    (500, {"detail": "erreur"}),
    (503, {"detail": "Aucune version du référentiel n'est en vigueur à cette date."}),
    (200, {"unexpected": []}),
    (200, {"document_types": [{"label": "sans code"}]}),
    (200, {"document_types": []}),
    (200, ["PC"]),
])
async def test_a_failing_or_odd_answer_is_not_taken_for_a_list(types, fake, status, body):
    fake.status, fake.body = status, body
    with pytest.raises(ClassificationUnavailable):
        await types.codes()


async def test_an_odd_answer_keeps_the_previous_list(types, fake, clock):
    await types.codes()
    fake.status, fake.body = 502, {"detail": "passerelle"}
    clock.now += 301
    assert await types.codes() == {"PC", "LIC"}
