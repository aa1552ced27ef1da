"""RFC 9457 problem+json errors with French messages for people."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("eaps.problems")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Ressource introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    412: "La ressource a été modifiée entre-temps",
    413: "Contenu trop volumineux",
    415: "Type de contenu non pris en charge",
    422: "Données invalides",
    423: "Ressource verrouillée",
    428: "Condition préalable requise",
    429: "Trop de requêtes",
    500: "Erreur interne",
    502: "Service indisponible",
    503: "Service momentanément indisponible",
    504: "Délai de réponse dépassé",
}

# French messages for pydantic's error types (what a person reading a form understands).
_PYDANTIC_FR = {
    "missing": "Ce champ est obligatoire.",
    "string_too_short": "Ce champ est trop court.",
    "string_too_long": "Ce champ est trop long.",
    "string_type": "Une chaîne de caractères est attendue.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "float_parsing": "Un nombre est attendu.",
    "decimal_parsing": "Un nombre est attendu.",
    "greater_than": "La valeur est trop petite.",
    "greater_than_equal": "La valeur est trop petite.",
    "less_than": "La valeur est trop grande.",
    "less_than_equal": "La valeur est trop grande.",
    "literal_error": "Cette valeur n'est pas autorisée.",
    "enum": "Cette valeur n'est pas autorisée.",
    "value_error": "Valeur invalide.",
    "date_parsing": "Une date au format AAAA-MM-JJ est attendue.",
    "date_from_datetime_parsing": "Une date au format AAAA-MM-JJ est attendue.",
    "datetime_parsing": "Une date et heure ISO 8601 est attendue.",
    "uuid_parsing": "Un identifiant (UUID) est attendu.",
    "bool_parsing": "Une valeur vrai/faux est attendue.",
    "json_invalid": "Le corps de la requête n'est pas un JSON valide.",
    "model_attributes_type": "Un objet est attendu.",
    "dict_type": "Un objet est attendu.",
    "list_type": "Une liste est attendue.",
    "extra_forbidden": "Ce champ n'est pas attendu.",
    "too_short": "La liste contient trop peu d'éléments.",
    "too_long": "La liste contient trop d'éléments.",
    "string_pattern_mismatch": "Le format de ce champ est invalide.",
    "url_parsing": "Une adresse URL valide est attendue.",
    "url_scheme": "Une adresse URL en http ou https est attendue.",
}


# invalid byte sequence / character not in repertoire, unsupported Unicode escape (JSON \\u0000)
_INVALID_TEXT_SQLSTATES = {"22021", "22P05"}


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return str(code)
    return None


class ProblemError(Exception):
    """Raise from anywhere in a request to answer a problem+json."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or _TITLES.get(status, "Erreur")
        self.type_ = type_ or "about:blank"
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def problem_body(status: int, detail: str, *, title: str | None = None, type_: str = "about:blank",
                 instance: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "title": title or _TITLES.get(status, "Erreur"),
                            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(status: int, detail: str, *, headers: dict[str, str] | None = None, **kw: Any) -> JSONResponse:
    return JSONResponse(problem_body(status, detail, **kw), status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


def french_validation_errors(errors: list[dict[str, Any]] | Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        # Drop the request part only: a body field may itself be named "body".
        if loc and loc[0] == "body":
            loc = loc[1:]
        etype = err.get("type", "value_error")
        msg = _PYDANTIC_FR.get(etype)
        if etype == "value_error":
            # Our own validators raise ValueError with a French message already.
            raw = str(err.get("msg", ""))
            msg = raw.removeprefix("Value error, ") or "Valeur invalide."
        elif msg and etype in ("string_too_short", "too_short") and err.get("ctx", {}).get("min_length") is not None:
            msg = f"{msg[:-1]} (au moins {err['ctx']['min_length']})."
        elif msg and etype in ("string_too_long", "too_long") and err.get("ctx", {}).get("max_length") is not None:
            msg = f"{msg[:-1]} (au plus {err['ctx']['max_length']})."
        elif etype == "literal_error" and err.get("ctx", {}).get("expected"):
            msg = f"Valeur non autorisée ; valeurs possibles : {err['ctx']['expected']}."
        out.append({"field": ".".join(loc), "message": msg or "Valeur invalide.", "type": etype})
    return out


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, title=exc.title, type_=exc.type_,
                                instance=str(request.url.path), headers=exc.headers or None,
                                errors=exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = french_validation_errors(exc.errors())
        fields = ", ".join(e["field"] for e in errors if e["field"]) or "corps de la requête"
        return problem_response(422, f"Certaines données sont invalides : {fields}.",
                                instance=str(request.url.path), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else None
        if exc.status_code == 404 and (not isinstance(exc.detail, str) or exc.detail == "Not Found"):
            detail = "La ressource demandée n'existe pas."
        elif exc.status_code == 405:
            detail = "Cette méthode n'est pas autorisée sur cette ressource."
        return problem_response(exc.status_code, detail or _TITLES.get(exc.status_code, "Erreur"),
                                instance=str(request.url.path), headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # Text PostgreSQL cannot store (a NUL character, an invalid escape in JSON) is the
        # client's input, not our fault: the transaction rolled back, nothing was written.
        if _sqlstate(exc) in _INVALID_TEXT_SQLSTATES:
            return problem_response(422, "Les données contiennent un caractère non autorisé (caractère nul ou "
                                         "séquence invalide).", instance=str(request.url.path))
        log.exception("database error on %s %s", request.method, request.url.path)
        return problem_response(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.",
                                instance=str(request.url.path))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Une erreur inattendue est survenue. Veuillez réessayer plus tard.",
                                instance=str(request.url.path))
