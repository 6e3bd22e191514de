"""Text normalisation shared by search, geocoding and imports.

La Poste writes communes in capitals without accents, hyphens or apostrophes and
abbreviates "Saint" ("ST DENIS"); patients type "Saint-Denis" or "st denis". Both
sides are reduced to the same key before comparing.
"""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_ABBREVIATIONS = {"saint": "st", "sainte": "ste"}


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced: "Élodie  Lefèvre" -> "elodie lefevre"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    stripped = stripped.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return _NON_ALNUM.sub(" ", stripped.lower()).strip()


def commune_key(text: str) -> str:
    """The comparison key of a commune name: "Saint-Étienne" and "ST ETIENNE" match."""
    words = fold(text).split()
    return " ".join(_ABBREVIATIONS.get(word, word) for word in words)
