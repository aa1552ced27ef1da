"""The authorisation as a PDF (reportlab), in French."""
# reportlab ships no type hints.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FLOW_LABELS = {
    "IMP": "Importation depuis un pays tiers",
    "INT": "Introduction depuis un État membre de l'Union européenne",
    "EXP": "Exportation vers un pays tiers",
    "EXD": "Expédition vers un État membre de l'Union européenne",
}


def _d(value: date | datetime) -> str:
    return value.strftime("%d/%m/%Y")


def _eur(value: Any) -> str:
    if value is None:
        return "—"
    q = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"{q:,.2f} €".replace(",", " ").replace(".", ",")


def render_authorisation_pdf(a: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"Autorisation {a['number']}",
                            author="Direction générale des douanes et droits indirects — SAMIA",
                            subject=a["type_name"], lang="fr-FR")
    styles = getSampleStyleSheet()
    small = ParagraphStyle("small", parent=styles["Normal"], fontSize=8, leading=10)
    cell = ParagraphStyle("cell", parent=styles["Normal"], fontSize=8.5, leading=10)
    p = lambda text, style=styles["Normal"]: Paragraph(escape(str(text)), style)  # noqa: E731
    story: list[Any] = [
        p("RÉPUBLIQUE FRANÇAISE — Direction générale des douanes et droits indirects", small),
        p("Service des autorisations de mouvements internationaux d'armes (SAMIA)", small),
        Spacer(1, 6 * mm),
        p(a["type_name"], styles["Title"]),
        p(f"Autorisation n° {a['number']}", styles["Heading2"]),
        p(f"Demande n° {a['registration_number']} — délivrée le {_d(a['issued_at'])}"),
        Spacer(1, 4 * mm),
        p("Titulaire", styles["Heading3"]),
        p(a["holder_name"]),
    ]
    if a.get("holder_address"):
        story.append(p(a["holder_address"]))
    story += [
        p("Opération", styles["Heading3"]),
        p(f"{FLOW_LABELS.get(a['flow'], a['flow'])} — pays d'origine : {a['origin_country']} ; "
          f"pays de destination : {a['destination_country']}"),
        p("Validité", styles["Heading3"]),
        p(f"Valable du {_d(a['valid_from'])} au {_d(a['valid_until'])} inclus."),
        p("Marchandises autorisées", styles["Heading3"]),
    ]
    header = ["N°", "Classement", "Désignation", "Calibre", "Quantité", "Valeur"]
    rows = [header] + [[str(x["line_no"]), x["classification_code"], Paragraph(escape(x["designation"]), cell),
                        x.get("calibre") or "—", str(x["quantity"]), _eur(x.get("value_eur"))]
                       for x in a["lines"]]
    table = Table(rows, colWidths=[10 * mm, 24 * mm, 72 * mm, 22 * mm, 20 * mm, 26 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8.5),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (4, 1), (5, -1), "RIGHT"),
    ]))
    story.append(table)
    if not a.get("quantity_limited", True):
        story.append(p("Autorisation globale : quantités et valeurs non limitées ; les mouvements sont "
                       "enregistrés au fur et à mesure.", small))
    story += [p("Conditions", styles["Heading3"]), p(a.get("conditions") or "Aucune condition particulière.")]
    story += [
        p("Base légale", styles["Heading3"]), p(a["legal_basis"]),
        Spacer(1, 6 * mm),
        p("Ce document doit accompagner les marchandises et être présenté à toute réquisition des agents "
          "des douanes.", small),
        p(f"Code de vérification : {a['verification_code']}", styles["Heading3"]),
        p("Le service instructeur peut confirmer l'authenticité de ce document à partir de son numéro et de ce "
          "code.", small),
    ]
    doc.build(story)
    return buf.getvalue()
