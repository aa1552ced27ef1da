"""Field rules of registration and habilitation forms: French messages, no framework."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
_COMMON_PASSWORDS = {
    "motdepasse123", "azertyuiop12", "123456789012", "password1234", "azerty123456",
    "motdepasse1234", "soleil123456", "qwertyuiop12", "bonjour12345", "chasseur1234",
}


def normalize_email(value: str) -> str:
    """Check an email address and return it in the form accounts are keyed by (lower case)."""
    try:
        info = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("L'adresse électronique n'est pas valide.") from None
    return info.normalized.lower()


def normalize_mobile_phone(value: str, default_region: str = "FR") -> str:
    """A mobile number able to receive SMS, returned in E.164."""
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise ValueError("Le numéro de téléphone portable n'est pas valide.") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("Le numéro de téléphone portable n'est pas valide.")
    kind = phonenumbers.number_type(number)
    if kind not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValueError("Le numéro doit être celui d'un téléphone portable pouvant recevoir des SMS.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# La Poste's establishments share SIREN 356000000 and use a different key (sum of digits multiple of 5).
_LA_POSTE_SIREN = "356000000"


def normalize_siret(value: str) -> str:
    digits = re.sub(r"[\s.]", "", value)
    if not re.fullmatch(r"\d{14}", digits):
        raise ValueError("Le SIRET doit comporter 14 chiffres.")
    if digits.startswith(_LA_POSTE_SIREN) and digits != "35600000000048":
        ok = sum(int(c) for c in digits) % 5 == 0
    else:
        ok = luhn_ok(digits)
    if not ok:
        raise ValueError("Le SIRET est invalide (clé de contrôle incorrecte).")
    return digits


def normalize_eori(value: str) -> str:
    eori = re.sub(r"\s", "", value).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{1,15}", eori):
        raise ValueError("Le numéro EORI doit comporter le code pays (2 lettres) suivi de 15 caractères au plus.")
    if eori.startswith("FR"):
        rest = eori[2:]
        if not re.fullmatch(r"\d{14}", rest) or not luhn_ok(rest):
            raise ValueError("Un EORI français est « FR » suivi d'un SIRET valide.")
    return eori


def password_problems(password: str, *, email: str | None = None, names: tuple[str, ...] = ()) -> list[str]:
    """Every rule the password breaks, in French (empty when it is acceptable)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Le mot de passe doit comporter au moins {PASSWORD_MIN_LENGTH} caractères.")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"Le mot de passe doit comporter au plus {PASSWORD_MAX_LENGTH} caractères.")
    if not re.search(r"[a-z]", password):
        problems.append("Le mot de passe doit contenir au moins une lettre minuscule.")
    if not re.search(r"[A-Z]", password):
        problems.append("Le mot de passe doit contenir au moins une lettre majuscule.")
    if not re.search(r"\d", password):
        problems.append("Le mot de passe doit contenir au moins un chiffre.")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("Le mot de passe doit contenir au moins un caractère spécial.")
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(lowered)) < 5:
        problems.append("Ce mot de passe est trop courant ou trop répétitif.")
    personal = [email.split("@")[0] if email else "", *names]
    if any(len(p) >= 4 and p.lower() in lowered for p in personal if p):
        problems.append("Le mot de passe ne doit pas contenir votre adresse électronique ni votre nom.")
    return problems
