"""Reading the officer portal's forms: French messages per field, in the order of the form."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.datastructures import FormData

REQUIRED = "Ce champ est obligatoire."


class FormErrors(dict[str, str]):
    """Field name → French message; the first message per field is kept."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, message)


def text(form: FormData, name: str, *, required: bool = False, max_length: int = 4000,
         errors: FormErrors | None = None) -> str | None:
    value = str(form.get(name) or "").strip()
    if not value:
        if required and errors is not None:
            errors.add(name, REQUIRED)
        return None
    if len(value) > max_length and errors is not None:
        errors.add(name, f"{max_length} caractères au plus.")
    return value


def day(form: FormData, name: str, *, required: bool = False, errors: FormErrors) -> date | None:
    value = str(form.get(name) or "").strip()
    if not value:
        if required:
            errors.add(name, REQUIRED)
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(name, "Saisissez une date valide (jj/mm/aaaa).")
        return None


def integer(form: FormData, name: str, *, minimum: int = 0, errors: FormErrors) -> int | None:
    value = str(form.get(name) or "").strip()
    if not value:
        errors.add(name, REQUIRED)
        return None
    try:
        n = int(value)
    except ValueError:
        errors.add(name, "Saisissez un nombre entier.")
        return None
    if n < minimum:
        errors.add(name, f"Saisissez un nombre supérieur ou égal à {minimum}.")
        return None
    return n


def choice(form: FormData, name: str, allowed: dict[str, Any] | list[str] | tuple[str, ...], *,
           errors: FormErrors, message: str = "Choisissez une option.") -> str | None:
    value = str(form.get(name) or "")
    if value not in allowed:
        errors.add(name, message)
        return None
    return value


def values_of(form: FormData) -> dict[str, str]:
    """What the person typed, to fill the form again when it comes back with errors."""
    return {k: str(v) for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}
