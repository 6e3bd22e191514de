"""Red flags, urgency and specialty suggestion from the patient's own words."""

import csv
from collections import Counter
from pathlib import Path

import pytest

from patients.triage import (
    Urgency,
    assess_urgency,
    find_red_flags,
    normalise,
    suggest_specialty,
)

DATASET = Path(__file__).resolve().parents[1] / "data" / "specialty_requests.csv"


def test_normalise_strips_accents_case_and_punctuation():
    assert normalise("Douleur THORACIQUE, j'ai très mal !") == (
        "douleur thoracique j ai tres mal"
    )


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("J'ai une douleur thoracique depuis une heure", "chest_pain"),
        ("j ai tres mal a la poitrine et au bras gauche", "chest_pain"),
        ("Je n'arrive plus à respirer", "breathing"),
        ("mon mari a du mal a respiré", "breathing"),
        ("Sa bouche est de travers et il parle bizarrement", "stroke"),
        ("My father's face is drooping, slurred speech", "stroke"),
        ("Je saigne beaucoup depuis l'accouchement", "bleeding"),
        ("il vomit du sang", "bleeding"),
        ("j'ai envie de mourir, je veux en finir", "suicidal"),
        ("I want to kill myself", "suicidal"),
        ("Ma mère a perdu connaissance ce matin", "unconscious"),
        ("elle s'est évanouie deux fois aujourd'hui", "unconscious"),
        ("douleur toracique intense", "chest_pain"),  # a typo
    ],
)
def test_red_flags_are_found_in_french_and_english_with_typos(text, flag):
    assert [match.flag.code for match in find_red_flags(text)] == [flag]


@pytest.mark.parametrize(
    "text",
    [
        "Je n'ai pas de douleur thoracique, juste des palpitations.",
        "Bilan après mon AVC de l'an dernier.",
        "Ma mère a eu une hémorragie en 2010, je voudrais un dépistage.",
        "J'ai fait un malaise avec perte de connaissance il y a 5 ans.",
        "Je voudrais un rendez-vous chez le dermatologue pour un grain de beauté.",
    ],
)
def test_negated_past_and_harmless_mentions_are_not_red_flags(text):
    assert find_red_flags(text) == []


def test_a_red_flag_makes_the_request_an_emergency_with_its_reason():
    assessment = assess_urgency("Depuis ce matin il a mal à la poitrine, ça serre.")

    assert assessment.level == Urgency.EMERGENCY
    assert [m.flag.code for m in assessment.red_flags] == ["chest_pain"]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Forte fièvre depuis hier et très mal à l'oreille", Urgency.URGENT),
        ("Une gêne au genou depuis quelques jours", Urgency.SOON),
        ("Je souhaite un bilan annuel, ce n'est pas urgent", Urgency.ROUTINE),
        ("Renouvellement de lunettes", Urgency.ROUTINE),
    ],
)
def test_urgency_follows_the_timing_cues(text, level):
    assert assess_urgency(text).level == level


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("J'ai des palpitations et ma tension est élevée", "cardiology"),
        ("Un grain de beauté a changé de couleur", "dermatology"),
        ("Reflux et brûlures d'estomac après les repas", "gastroenterology"),
        ("Migraines très fréquentes avec fourmillements", "neurology"),
        ("Je me suis fait une entorse à la cheville au foot", "orthopaedics"),
        ("Mon bébé de 8 mois tousse la nuit", "paediatrics"),
        ("Mon fils de 6 ans a de l'eczéma", "paediatrics"),
        ("Je suis bipolaire et mon traitement ne marche plus", "psychiatry"),
        ("J'ai besoin de parler à quelqu'un, je suis en burn-out", "psychology"),
        ("Je voudrais poser un stérilet", "gynaecology-obstetrics"),
        ("Je vois flou de loin, il me faut des lunettes", "ophthalmology"),
        ("J'ai des acouphènes dans l'oreille gauche", "ent"),
        ("Il me faut un certificat médical pour le sport", "general-practice"),
    ],
)
def test_the_suggested_specialty_fits_clear_requests(text, code):
    assert suggest_specialty(text).code == code


def test_the_suggestion_explains_itself_with_the_patients_words():
    suggestion = suggest_specialty("Je cherche un cardiologue pour des palpitations")

    assert suggestion.code == "cardiology"
    assert "cardiologue" in suggestion.reasons
    assert "palpitations" in suggestion.reasons


def test_a_request_without_any_sign_goes_to_general_practice():
    suggestion = suggest_specialty("Bonjour, je voudrais un rendez-vous.")

    assert suggestion.code == "general-practice"
    assert suggestion.score == 0


@pytest.mark.skipif(not DATASET.exists(), reason="labelled set not present")
def test_the_labelled_set_is_measured(capsys):
    """Reports accuracy on the labelled set; the figures go in the release notes.

    The set was written independently of the lexicon. Nothing here asserts a
    tuned figure: the assertions only check that the measurement ran on it.
    """
    with DATASET.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    right, total = Counter(), Counter()
    flagged = {"hit": 0, "missed": 0, "false_alarm": 0}
    for row in rows:
        total[row["specialty"]] += 1
        if suggest_specialty(row["text"]).code == row["specialty"]:
            right[row["specialty"]] += 1
        is_flagged = assess_urgency(row["text"]).level == Urgency.EMERGENCY
        if row["urgency"] == Urgency.EMERGENCY:
            flagged["hit" if is_flagged else "missed"] += 1
        elif is_flagged:
            flagged["false_alarm"] += 1

    accuracy = sum(right.values()) / len(rows)
    emergencies = flagged["hit"] + flagged["missed"]
    with capsys.disabled():
        print(f"\nspecialty suggestion: {accuracy:.1%} of {len(rows)} requests")
        for code in sorted(total):
            print(f"  {code:<24} {right[code]:>3}/{total[code]}")
        print(
            f"red flags: {flagged['hit']}/{emergencies} emergencies flagged, "
            f"{flagged['false_alarm']} false alarms"
        )
    assert len(rows) >= 200
    assert sum(total.values()) == len(rows)
    assert emergencies > 0
