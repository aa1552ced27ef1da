"""The reference files themselves, their validation on load, versions over time, and the
classification aid paths reaching every item."""

from __future__ import annotations

import re
from datetime import date

import pytest
import yaml
from classification.adapters.ruleset_files import PACKAGED_RULESETS, RulesetFileError, load_all, load_directory
from classification.domain import aid
from classification.domain.engine import DeterminationError
from classification.domain.reference import NoRulesetInForce, Versions
from pydantic import ValidationError

SECTION_1 = {
    "A1": ["A1-1", "A1-2", "A1-3", "A1-3bis", "A1-3ter", "A1-3qua", "A1-4", "A1-5", "A1-6", "A1-7", "A1-8", "A1-9",
           "A1-10", "A1-11", "A1-12", "A1-13", "A1-14"],
    "A2": [f"A2-{n}" for n in range(1, 12)],
    "B": ["B-1", "B-2-a", "B-2-abis", "B-2-b", "B-2-c", "B-2-d", "B-2-e", "B-2-f", "B-3", "B-4", "B-5", "B-6", "B-7",
          "B-8", "B-9", "B-10", "B-12"],
    "C": ["C-1-a", "C-1-b", "C-1-c", "C-1-d", "C-2", "C-3", "C-4", "C-5", "C-6", "C-7", "C-8", "C-9", "C-11", "C-12"],
    "D": ["D-a", "D-b", "D-c", "D-d", "D-e", "D-f", "D-g", "D-h", "D-hbis", "D-i", "D-j", "D-jbis", "D-k"],
}


# --- the packaged files -------------------------------------------------------------------------

def test_every_item_of_domain_section_1_has_its_stable_code(ref):
    for cat, codes in SECTION_1.items():
        assert sorted(i.code for g in ref.categories[cat].groups for i in g.items) == sorted(codes)


def test_every_item_has_a_french_label_an_official_reference_and_goods(ref):
    for code, entry in ref.items.items():
        assert entry.item.label and entry.item.official_ref.startswith("R311-2")
        assert ref.goods_by_item.get(code), f"{code} has no goods to pick"


def test_every_assumption_is_flagged_with_a_note(ref):
    flagged = [x for x in _walk(ref.ruleset.model_dump()) if x.get("assumption")]
    assert flagged and all(x.get("note") for x in flagged)
    # The 🔶 facts named in domain.md are flagged: a few of them.
    assert ref.items["A1-13"].item.assumption and ref.items["B-12"].item.assumption
    assert next(r for r in ref.ruleset.matrix if r.id == "int-c4-c12").assumption
    assert next(a for a in ref.ruleset.authorisation_types if a.code == "PT").validity.assumption


def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_every_determinable_authorisation_is_documented(ref):
    for a in ref.ruleset.authorisation_types:
        assert a.name and a.legal_basis and a.validity.text and a.processing_time.text
        if a.determinable:
            assert any(a.code in r.authorisations for r in ref.ruleset.document_rules)
    assert {a.code for a in ref.ruleset.authorisation_types if a.determinable} == {"AIMG", "AGIMG", "LEAF", "AP-INT",
                                                                                   "PT"}


def test_validity_and_processing_times_of_domain_2_1(ref):
    types = {a.code: a for a in ref.ruleset.authorisation_types}
    assert types["AIMG"].validity.max_months == 36 and types["AIMG"].validity.max_months_individual == 12
    assert types["AGIMG"].validity.tacit_renewal and types["AGIMG"].quantity_limited is False
    leaf = types["LEAF"].processing_time
    assert (leaf.working_days, leaf.exceptional_working_days, leaf.silence_means_rejection) == (60, 90, True)
    assert types["PT"].validity.max_months == 6 and types["AGR-T"].validity.max_months == 36
    assert types["CEAF"].validity.max_months == 60 and not types["CEAF"].in_eaps


def test_country_codes_are_all_strings_and_complete(ref):
    names = ref.ruleset.countries.names
    assert len(names) == 249 and all(re.fullmatch(r"[A-Z]{2}", c) for c in names)
    assert "NO" in names  # YAML 1.1 would have read Norway as false
    assert len(ref.ruleset.countries.eu_members) == 27


def test_packaged_versions_load(packaged):
    versions = [r.version for r in packaged]
    assert "2026-01-01" in versions
    assert len({r.sha256 for r in packaged}) == len(packaged)


# --- validation on load ---------------------------------------------------------------------------

def _edited(tmp_path, ruleset_copy, file, old, new):
    def edit(files):
        assert old in files[file], old
        files[file] = files[file].replace(old, new, 1)
    return ruleset_copy(tmp_path, "9999-01-01", date(9999, 1, 1), edit=edit)


@pytest.mark.parametrize(("file", "old", "new", "message"), [
    ("goods.yaml", "classification: C-1-c}", "classification: C-1-z}", "unknown classification C-1-z"),
    ("authorisations.yaml", "items: {codes: [A2-1, A2-2]}", "items: {codes: [A2-1, A2-99]}", "unknown item A2-99"),
    ("authorisations.yaml", "authorisation: LEAF\n", "authorisation: LEAF2\n", "unknown authorisation LEAF2"),
    ("descriptors.yaml", "item: A1-14}", "item: A1-13}", "item A1-14 not reachable"),
    ("descriptors.yaml", "next: a1_calibre}", "next: a1_nature}", "cycle through a1_nature"),
    ("descriptors.yaml", "next: a1_objet}", "next: a1_absent}", "missing question a1_absent"),
    ("documents.yaml", "documents: [PC]", "documents: [PERMIS]", "unknown document PERMIS"),
    ("authorisations.yaml", "  - id: exd-d\n    flows: [EXD]", "  - id: exd-d\n    flows: [INT]",
     "no rule without goods condition for EXD x D-a"),
    ("categories.yaml", "code: B-2-abis,", "code: B-2-a,", "duplicate item code B-2-a"),
    ("categories.yaml", "code: C-12,", "code: C_12,", "does not follow"),
    ("applicants.yaml", "{code: chasseur, kind: individual, label: \"Chasseur\"}",
     "{code: chasseur, kind: individual, label: \"Chasseur\", assumption: true}", "an assumption needs a note"),
    ("countries.yaml", "eu_members: [AT,", "eu_members: [QQ, AT,", "unknown country code QQ"),
    ("applicants.yaml", "motives:", "motives:\n  - {code: Achat-2, label: \"x\", flows: [IMP]}", "not snake_case"),
    ("applicants.yaml", "motives:", "motives:\n  - {code: achat, label: \"Doublon\", flows: [IMP]}",
     "duplicate motive achat"),
])
def test_inconsistent_rulesets_are_refused(tmp_path, ruleset_copy, file, old, new, message):
    directory = _edited(tmp_path, ruleset_copy, file, old, new)
    with pytest.raises((ValidationError, RulesetFileError)) as err:
        load_directory(directory)
    if message:
        assert message in str(err.value)


def test_an_authorisation_without_document_rule_is_refused(tmp_path, ruleset_copy):
    def edit(files):
        text = files["documents.yaml"]
        # Remove every rule naming LEAF.
        kept = [line for line in text.split("\n  - ") if "LEAF" not in line or "document_types" in line]
        files["documents.yaml"] = "\n  - ".join(kept)
    with pytest.raises(ValidationError) as err:
        load_directory(ruleset_copy(tmp_path, "9999-01-01", date(9999, 1, 1), edit=edit))
    assert "authorisation LEAF has no document rule" in str(err.value)


def test_a_key_defined_in_two_files_is_refused(tmp_path, ruleset_copy):
    def edit(files):
        files["extra.yaml"] = yaml.safe_dump({"suspensions": []})
    with pytest.raises(RulesetFileError, match="defined in two files"):
        load_directory(ruleset_copy(tmp_path, "9999-01-01", date(9999, 1, 1), edit=edit))


def test_invalid_yaml_is_reported_with_its_file(tmp_path, ruleset_copy):
    def edit(files):
        files["goods.yaml"] = "goods: [unclosed"
    with pytest.raises(RulesetFileError, match="goods.yaml"):
        load_directory(ruleset_copy(tmp_path, "9999-01-01", date(9999, 1, 1), edit=edit))


def test_a_version_may_extend_another_and_override_whole_files(tmp_path, ruleset_copy):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    new_suspension = (
        "suspensions:\n  - id: susp-test\n    reference: \"Arrêté de test\"\n    flows: [IMP]\n"
        "    items: {codes: [B-4]}\n    start: 2027-01-01\n    end: 2027-06-30\n")

    def edit(files):
        files["suspensions.yaml"] = new_suspension

    # The base keeps suspensions in authorisations.yaml: override that file without them.
    base_auth = (PACKAGED_RULESETS / "2026-01-01" / "authorisations.yaml").read_text(encoding="utf-8")

    def edit_with_auth(files):
        edit(files)
        files["authorisations.yaml"] = base_auth.replace("suspensions: []\n", "")

    directory = ruleset_copy(tmp_path, "2027-01-01", date(2027, 1, 1), edit=edit_with_auth, extends="2026-01-01")
    ref = load_directory(directory)
    assert ref.version == "2027-01-01" and ref.ruleset.suspensions[0].id == "susp-test"
    assert ref.items.keys() == load_directory(tmp_path / "2026-01-01").items.keys()


def test_extending_an_unknown_version_is_refused(tmp_path, ruleset_copy):
    directory = ruleset_copy(tmp_path, "2027-01-01", date(2027, 1, 1), extends="2020-01-01")
    with pytest.raises(RulesetFileError, match="extends unknown"):
        load_directory(directory)


# --- versions over time ---------------------------------------------------------------------------

def test_the_version_in_force_is_the_latest_whose_date_has_come(tmp_path, ruleset_copy):
    ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1))
    ruleset_copy(tmp_path, "2027-07-01", date(2027, 7, 1))
    versions = Versions(load_all([tmp_path]))
    assert versions.in_force(date(2026, 11, 26)).version == "2026-01-01"
    assert versions.in_force(date(2027, 6, 30)).version == "2026-01-01"
    assert versions.in_force(date(2027, 7, 1)).version == "2027-07-01"
    with pytest.raises(NoRulesetInForce):
        versions.in_force(date(2025, 12, 31))
    # Older versions stay readable: answers already given can be replayed.
    assert versions.get("2026-01-01") is not None


def test_the_same_version_with_another_content_is_refused(tmp_path, ruleset_copy, ref):
    def edit(files):
        files["goods.yaml"] = files["goods.yaml"].replace("Fusil de chasse juxtaposé", "Fusil juxtaposé")
    other = load_directory(ruleset_copy(tmp_path, "2026-01-01", date(2026, 1, 1), edit=edit))
    versions = Versions([ref])
    with pytest.raises(ValueError, match="other content"):
        versions.add(other)


# --- the aid paths -------------------------------------------------------------------------------

def test_known_path_reaches_every_item_with_one_or_two_fields(ref):
    reached = set()
    for cat in ref.ruleset.categories:
        first = aid.known_path(ref, cat.code, None, None)
        assert first["next_field"]["name"] == "field1" and not first["complete"]
        for opt in first["next_field"]["options"]:
            step = aid.known_path(ref, cat.code, opt["value"], None)
            if step["complete"]:
                chosen = step["classifications"]
            else:
                assert step["next_field"]["name"] == "field2"
                chosen = []
                for opt2 in step["next_field"]["options"]:
                    done = aid.known_path(ref, cat.code, opt["value"], opt2["value"])
                    assert done["complete"] and len(done["selections"]) == 3
                    chosen += done["classifications"]
            for c in chosen:
                assert c["goods"], c["code"]
                reached.add(c["code"])
    assert reached == set(ref.items)


def test_unknown_path_reaches_every_item_and_shows_the_route(ref):
    reached = {}

    def explore(cat, answers):
        step = aid.descriptor_path(ref, cat, answers)
        assert [r["answer"] for r in step["route"]] == answers
        if step["complete"]:
            reached[step["classification"]["code"]] = step
            return
        assert step["next_question"]["label"] == f"Descriptif {len(answers) + 1}"
        for opt in step["next_question"]["options"]:
            explore(cat, [*answers, opt["value"]])

    for cat in ref.categories:
        explore(cat, [])
    assert set(reached) == set(ref.items)
    route = reached["C-1-c"]["route"]
    assert [r["answer_label"] for r in route][-1].startswith("Un coup par canon")


@pytest.mark.parametrize(("args", "field"), [
    (("Z", None, None), "category"),
    (("B", "B-G-inconnu", None), "field1"),
    (("B", "B-G-2", "C-1-c"), "field2"),
    (("B", None, "B-2-a"), "field2"),
    (("B", "B-G-1", "B-2-a"), "field2"),
])
def test_known_path_errors(ref, args, field):
    with pytest.raises(DeterminationError) as err:
        aid.known_path(ref, *args)
    assert err.value.status == 422 and err.value.errors[0]["field"] == field


def test_unknown_path_errors(ref):
    with pytest.raises(DeterminationError) as err:
        aid.descriptor_path(ref, "C", ["arme_epaule", "laser"])
    assert err.value.status == 422 and "descriptif n° 2" in err.value.detail
    assert err.value.errors[0]["options"][0]["value"] == "semi_automatique"
    with pytest.raises(DeterminationError) as err:
        aid.descriptor_path(ref, "C", ["element", "encore"])
    assert "Trop de réponses" in err.value.detail
