import pytest

from conciergerie.notifications.sms import (
    is_gsm7,
    normalize_sms,
    sms_length,
    to_gsm7,
    truncate_sms,
)


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("é" * 160, "GSM-7", 160, 1),
        ("€" * 80, "GSM-7", 160, 1),
        ("€" * 81, "GSM-7", 162, 2),
        ("ê" * 70, "UCS-2", 70, 1),
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),
    ],
)
def test_the_length_of_an_sms_follows_its_encoding(text, encoding, units, segments):
    length = sms_length(text)

    assert (length.encoding, length.units, length.segments) == (
        encoding,
        units,
        segments,
    )


def test_an_escaped_character_is_never_split_between_two_segments():
    # 152 septets, then "€" (2 septets) would straddle the 153 boundary.
    text = "a" * 152 + "€" + "a" * 10

    assert sms_length(text).units == 164
    assert sms_length(text).segments == 2
    assert sms_length("a" * 152 + "€" + "a" * 152).segments == 3


def test_one_character_outside_gsm7_switches_the_whole_text_to_ucs2():
    assert is_gsm7("Rendez-vous à 10h, Dr Müller, 15 € à régler.")
    assert not is_gsm7("Rendez-vous à 10h avec le Dr Lefèvre, fenêtre")


def test_french_accents_missing_from_gsm7_are_transliterated():
    text = to_gsm7(
        "Votre rendez-vous de lundi à 9h30 est confirmé: fenêtre, reçu, cœur…"
    )

    assert (
        text
        == "Votre rendez-vous de lundi à 9h30 est confirmé: fenetre, recu, coeur..."
    )
    assert is_gsm7(text)


def test_other_scripts_are_kept_and_travel_as_ucs2():
    text = to_gsm7("Привет")

    assert text == "Привет"
    assert sms_length(text).encoding == "UCS-2"


def test_normalisation_removes_blank_lines_and_repeated_spaces():
    assert normalize_sms("\n  Bonjour   Camille,\n\n\tà demain  \n") == (
        "Bonjour Camille,\nà demain"
    )


def test_truncation_keeps_whole_words_and_fits_the_budget():
    text = "mot " * 100

    short = truncate_sms(text, max_segments=1)

    assert short.endswith("mot...")
    assert sms_length(short).segments == 1
    assert len(short) <= 160
    assert len(short) > 150


def test_truncation_leaves_a_text_that_fits_untouched():
    assert truncate_sms("Bonjour", max_segments=1) == "Bonjour"


def test_truncation_of_a_ucs2_text_counts_ucs2_units():
    text = "Ελληνικά " * 30

    short = truncate_sms(text, max_segments=1)

    assert sms_length(short).encoding == "UCS-2"
    assert sms_length(short).units <= 70
    assert short.endswith("...")


def test_truncation_refuses_a_budget_of_zero():
    with pytest.raises(ValueError, match="at least 1"):
        truncate_sms("Bonjour", max_segments=0)
