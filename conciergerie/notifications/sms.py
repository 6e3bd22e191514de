"""SMS length arithmetic: GSM-7 versus UCS-2, segments, transliteration, truncation.

An SMS carries 140 bytes. Text written only with the GSM 03.38 alphabet travels in
7-bit units (160 per message, 153 per segment once it is split, the rest of each
segment holding the concatenation header); a single character outside it switches
the whole text to UCS-2 (70 UTF-16 units, 67 per segment). Providers bill per
segment, and three segments arrive out of order on some phones, so texts stay
within `NOTIFICATIONS_SMS_MAX_SEGMENTS` (two by default). French accents that the
GSM alphabet lacks (ê, â, ç, œ…) are transliterated first, so that a French
reminder keeps 306 characters instead of 134.
"""

import math
from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each); "\x1b" is the escape itself.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each character costs two septets (escape + code).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Characters French texts use that GSM-7 lacks, with a faithful GSM-7 spelling.
TRANSLITERATIONS = {
    "â": "a",
    "á": "a",
    "ã": "a",
    "ç": "c",
    "ê": "e",
    "ë": "e",
    "î": "i",
    "ï": "i",
    "í": "i",
    "ô": "o",
    "ó": "o",
    "õ": "o",
    "û": "u",
    "ú": "u",
    "ÿ": "y",
    "œ": "oe",
    "À": "A",
    "Â": "A",
    "Á": "A",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Ù": "U",
    "Û": "U",
    "Ÿ": "Y",
    "Œ": "OE",
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "«": '"',
    "»": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\t": " ",
}

ELLIPSIS = "..."


@dataclass(frozen=True)
class SmsLength:
    """How a text travels: its encoding, its size in units, its segment count."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of `text` exists in the GSM 03.38 alphabet."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text)


def to_gsm7(text: str) -> str:
    """Replace typographic and accented characters GSM-7 lacks by close equivalents.

    Characters with no equivalent (other scripts, emoji) are kept: the text then
    travels as UCS-2, which `sms_length` accounts for.
    """
    return "".join(TRANSLITERATIONS.get(char, char) for char in text)


def _gsm7_segments(text: str) -> int:
    septets = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
    if septets <= GSM7_SINGLE:
        return 1 if septets else 0
    # An escape sequence cannot be split between two segments.
    segments, used = 1, 0
    for char in text:
        size = 2 if char in GSM7_EXTENDED else 1
        if used + size > GSM7_PART:
            segments, used = segments + 1, 0
        used += size
    return segments


def _ucs2_segments(text: str) -> int:
    units = len(text.encode("utf-16-le")) // 2
    if units <= UCS2_SINGLE:
        return 1 if units else 0
    # A surrogate pair (emoji) cannot be split between two segments either.
    segments, used = 1, 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > UCS2_PART:
            segments, used = segments + 1, 0
        used += size
    return segments


def sms_length(text: str) -> SmsLength:
    """Encoding, size and number of segments of `text` as a provider would send it."""
    if is_gsm7(text):
        units = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        return SmsLength("GSM-7", units, _gsm7_segments(text))
    units = len(text.encode("utf-16-le")) // 2
    return SmsLength("UCS-2", units, _ucs2_segments(text))


def normalize_sms(text: str) -> str:
    """Tidy a rendered template: GSM-7 spelling, no blank lines, single spaces."""
    lines = (" ".join(line.split()) for line in to_gsm7(text).splitlines())
    return "\n".join(line for line in lines if line)


def truncate_sms(text: str, *, max_segments: int) -> str:
    """Shorten `text` at a word boundary, with "...", until it fits `max_segments`.

    Meant for the variable parts of a text (a name, a place); a whole message that
    does not fit is a template error and fails rather than losing its end.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if sms_length(text).segments <= max_segments:
        return text
    # Binary search on the prefix length: the segment count grows with it.
    low, high = 0, len(text)
    while low < high:
        middle = math.ceil((low + high) / 2)
        candidate = text[:middle].rstrip() + ELLIPSIS
        if sms_length(candidate).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    prefix = text[:low]
    cut = prefix.rstrip()
    if low < len(text) and not text[low].isspace() and " " in cut:
        cut = cut.rsplit(" ", 1)[0].rstrip()
    return cut + ELLIPSIS
