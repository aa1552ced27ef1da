"""The authorisation PDF, opened with pypdf and read as a person would."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from instruction.adapters.pdf import render_authorisation_pdf
from pypdf import PdfReader


def test_the_pdf_carries_number_holder_goods_validity_conditions_and_code() -> None:
    content = render_authorisation_pdf({
        "number": "AIMG-2026-000007", "type": "AIMG",
        "type_name": "Autorisation d'importation de matériels de guerre",
        "legal_basis": "Articles R316-29 à R316-35-1 du code de la sécurité intérieure",
        "holder_name": "Armurerie du Centre", "holder_address": "3 rue des Forges, 18000 Bourges, FR",
        "flow": "IMP", "origin_country": "US", "destination_country": "FR",
        "valid_from": date(2026, 3, 2), "valid_until": date(2029, 3, 1),
        "conditions": "Stockage en coffre-fort agréé.", "registration_number": "EAPS-2026-000123",
        "issued_at": datetime(2026, 3, 2, 10, tzinfo=UTC), "verification_code": "ABCDE-FGHJK",
        "quantity_limited": True,
        "lines": [{"line_no": 1, "classification_code": "B-1", "designation": "Pistolet semi-automatique",
                   "calibre": "9x19", "quantity": 10, "value_eur": Decimal("4500.00")},
                  {"line_no": 2, "classification_code": "C-1-c", "designation": "Fusil de chasse à un coup",
                   "calibre": "12", "quantity": 5, "value_eur": None}],
    })
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() for page in reader.pages)
    for expected in ("Autorisation n° AIMG-2026-000007", "Armurerie du Centre", "Valable du 02/03/2026 au 01/03/2029",
                     "Pistolet semi-automatique", "Fusil de chasse à un coup", "C-1-c", "9x19",
                     "4 500,00 €", "Stockage en coffre-fort agréé.", "Code de vérification : ABCDE-FGHJK",
                     "Importation depuis un pays tiers", "matériels de guerre"):
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == "Autorisation AIMG-2026-000007"
