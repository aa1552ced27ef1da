"""What handlers need besides their session: the clock, the rules, the document store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from pydantic_core import to_jsonable_python

from instruction.domain.clock import Clock
from instruction.domain.rules import Rules


class DocumentStore(Protocol):
    async def store_generated(self, *, content: bytes, filename: str, owner_account_id: UUID,
                              owner_operator_id: UUID | None, title: str, document_type: str) -> UUID: ...


@dataclass(frozen=True)
class Actor:
    """Who acts: a person (officer, supervisor), a machine client, the applicant (through an event) or a job."""

    id: str
    role: str

    @property
    def uuid(self) -> UUID:
        return UUID(self.id)


JOB = Actor("job", "job")


@dataclass
class Context:
    clock: Clock
    rules: Rules
    documents: DocumentStore


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value)
