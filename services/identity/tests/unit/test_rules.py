"""Domain rules without I/O: field normalisation, password policy, SOPRANO access levels."""

from __future__ import annotations

import pytest
from identity.config import DATA_DIR
from identity.domain.catalogue import Catalogue
from identity.domain.validation import (
    luhn_ok,
    normalize_email,
    normalize_eori,
    normalize_mobile_phone,
    normalize_siret,
    password_problems,
)


@pytest.mark.parametrize(("raw", "e164"), [("06 12 34 56 78", "+33612345678"), ("+33 7 81 23 45 67", "+33781234567"),
                                           ("0049 151 23456789", "+4915123456789")])
def test_mobile_numbers_are_stored_in_e164(raw, e164):
    assert normalize_mobile_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "06 12", "01 42 75 80 00", "+33 1 42 75 80 00"])
def test_bad_or_fixed_line_numbers_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_mobile_phone(raw)


def test_siret_key():
    assert normalize_siret("732 829 320 00074") == "73282932000074"
    assert luhn_ok("73282932000074") and not luhn_ok("73282932000075")
    with pytest.raises(ValueError, match="clé de contrôle"):
        normalize_siret("73282932000075")
    with pytest.raises(ValueError, match="14 chiffres"):
        normalize_siret("7328293200007A")
    # La Poste's establishments follow their own key (sum of digits a multiple of 5).
    assert normalize_siret("35600000012346") == "35600000012346"


def test_eori():
    assert normalize_eori("fr73282932000074") == "FR73282932000074"
    assert normalize_eori("DE123456789012345") == "DE123456789012345"
    with pytest.raises(ValueError):
        normalize_eori("FR73282932000075")
    with pytest.raises(ValueError):
        normalize_eori("123")


def test_email_is_normalised_to_lower_case():
    assert normalize_email("  Jean.Dupont@Exemple.FR ") == "jean.dupont@exemple.fr"
    for bad in ("jean", "jean@", "@exemple.fr", "jean dupont@exemple.fr"):
        with pytest.raises(ValueError, match="n'est pas valide"):
            normalize_email(bad)


def test_password_rules_name_each_failure():
    assert password_problems("Chasse-Gibier-2024!") == []
    assert len(password_problems("a")) == 5
    assert password_problems("aaaaaaaaaaaA1!") == ["Ce mot de passe est trop courant ou trop répétitif."]
    assert any("votre nom" in p for p in password_problems("Dupont-Secret-99", names=("Dupont",)))
    assert any("au plus 128" in p for p in password_problems("Aa1!" * 40))


def test_access_levels_from_the_catalogue_data():
    cat = Catalogue.load(DATA_DIR)
    assert cat.teleservices_for("AS", []) == ["e-APS"]
    assert cat.teleservices_for("AS", ["SOPRANO-RP"]) == ["e-APS"]  # habilitations need OPPD
    assert cat.teleservices_for("OPPD", ["SOPRANO-RP", "UNKNOWN"]) == ["e-APS", "SOPRANO-RP"]
    assert any(t.access == "OPPD" for t in cat.teleservices.values())
    assert not cat.may_open("SOPRANO-RP", "AS", [])
    assert {"hunter", "sport_shooter", "ball_trap"} <= set(cat.profiles["individual"])
    assert {"decisions:read", "imputations:write"} == set(cat.scopes)
    regions = {p.region for p in cat.pae.values()}
    assert len(regions) >= 10
