"""Dependencies shared by the routers: the adapters, the owner, the problems."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from urllib.parse import quote

from eaps_kit.auth import INTERNAL_AUDIENCE, PUBLIC_AUDIENCE, Principal, current_principal, require_applicant
from eaps_kit.problems import ProblemError
from fastapi import Depends, Request

from documents.adapters.classification import ClassificationUnavailable
from documents.adapters.object_store import ObjectMissing, StorageUnavailable
from documents.bootstrap import Deps
from documents.domain.model import DocumentError, Owner
from documents.service_layer.handlers import FieldErrors

_STATUS = {"too_large": 413, "unsupported_type": 415, "invalid": 422, "not_found": 404, "conflict": 409,
           "integrity": 500}


def get_deps(request: Request) -> Deps:
    deps: Deps = request.app.state.runtime.extras["documents"]
    return deps


def owner_of(principal: Principal = Depends(require_applicant)) -> Owner:
    return Owner.of(principal.account_id, principal.access_level, principal.operator_id)


async def pinned_reader(principal: Principal = Depends(current_principal)) -> Owner | None:
    """Who may read a pinned copy: its owner (applicant, public portal) or an instructing
    officer (internal portal). ``None`` means an officer: every copy is readable."""
    if principal.audience == INTERNAL_AUDIENCE and principal.has_role("officer", "supervisor"):
        return None
    if principal.audience == PUBLIC_AUDIENCE and principal.has_role("applicant"):
        return Owner.of(principal.account_id, principal.access_level, principal.operator_id)
    raise ProblemError(403, "Votre profil ne permet pas d'accéder à cette ressource.")


@contextlib.contextmanager
def problems(retry_after: int) -> Iterator[None]:
    """Turn the domain's refusals and storage faults into problem+json answers."""
    try:
        yield
    except DocumentError as exc:
        errors = [{"field": exc.field, "message": exc.message, "type": exc.code}] if exc.field else None
        raise ProblemError(_STATUS.get(exc.code, 422), exc.message, errors=errors) from None
    except FieldErrors as exc:
        fields = ", ".join(e["field"] for e in exc.errors if e.get("field")) or "formulaire"
        raise ProblemError(422, f"Certaines données sont invalides : {fields}.", errors=exc.errors) from None
    except ObjectMissing:
        raise ProblemError(404, "Le contenu de ce document est introuvable.") from None
    except StorageUnavailable:
        raise ProblemError(503, "Le stockage des documents est momentanément indisponible. "
                                "Veuillez réessayer dans quelques instants.",
                           headers={"Retry-After": str(retry_after)}) from None
    except ClassificationUnavailable:
        raise ProblemError(503, "La liste des types de documents est momentanément indisponible. "
                                "Veuillez réessayer dans quelques instants.",
                           headers={"Retry-After": str(retry_after)}) from None


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
