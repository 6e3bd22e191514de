"""Triage of a patient's own words: red flags, urgency and a specialty suggestion.

This is decision support for the medical adviser, who confirms or changes every
result. It reads French and English, tolerates missing accents and one-letter typos,
ignores negated or past mentions ("pas de douleur thoracique", "mon AVC de l'an
dernier") and explains itself with the words that triggered each conclusion.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

# --- Text normalisation --------------------------------------------------------------

_NON_WORD = re.compile(r"[^a-z0-9]+")
_SENTENCE = re.compile(r"[.!?;\n]+")


def normalise(text: str) -> str:
    """Lower-case, strip accents, keep letters and digits separated by spaces."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_text = ascii_text.replace("œ", "oe").replace("æ", "ae")
    return _NON_WORD.sub(" ", ascii_text).strip()


def _sentences(text: str) -> list[list[str]]:
    return [normalise(s).split() for s in _SENTENCE.split(text) if normalise(s)]


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] != b[j]:
            edits += 1
            if edits > 1:
                return False
            if len(a) == len(b):
                i += 1
        else:
            i += 1
        j += 1
    return edits + (len(b) - j) <= 1


TYPO_MIN_LENGTH = 6  # shorter words forgive no typo: "annee" is not "apnee"


@lru_cache(maxsize=65536)
def _token_matches(token: str, term: str) -> bool:
    """`term*` matches by prefix (a stem); long terms forgive one typo.

    A typo is never assumed on the first letter, where people rarely make one and
    where most false friends differ ("soeur"/"coeur", "gonfle"/"ronfle").
    """
    if term.endswith("*"):
        stem = term[:-1]
        if token.startswith(stem):
            return True
        if len(stem) < TYPO_MIN_LENGTH or token[:1] != stem[:1]:
            return False
        # A typo may add or drop a letter before the stem ends ("toracique").
        return any(
            _within_one_edit(token[:size], stem)
            for size in (len(stem) - 1, len(stem), len(stem) + 1)
        )
    if token == term:
        return True
    return (
        len(term) >= TYPO_MIN_LENGTH
        and token[:1] == term[:1]
        and _within_one_edit(token, term)
    )


MAX_GAP = 2  # words allowed between two words of a phrase ("mal à la poitrine")


def _find_phrase(tokens: list[str], phrase: tuple[str, ...]) -> int | None:
    """Index of the first token of the first occurrence of `phrase`, or None."""
    for start, token in enumerate(tokens):
        if not _token_matches(token, phrase[0]):
            continue
        position = start
        for term in phrase[1:]:
            window = tokens[position + 1 : position + 2 + MAX_GAP]
            offset = next(
                (k for k, t in enumerate(window) if _token_matches(t, term)), None
            )
            if offset is None:
                break
            position += 1 + offset
        else:
            return start
    return None


def _phrases(*texts: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(text.split()) for text in texts)


# --- Red flags ----------------------------------------------------------------------

NEGATIONS = frozenset(
    {"pas", "sans", "aucun", "aucune", "jamais", "ni", "no", "not", "without", "never"}
)
# A mention in a sentence about the past is history, not an emergency.
PAST_MARKERS = _phrases(
    "il y a ans",
    "il y a mois",
    "il y a semaines",
    "an dernier",
    "annee derniere",
    "antecedent*",
    "ancien*",
    "last year",
    "years ago",
    "history of",
    "depiste*",
    "depistage",
    "bilan apres",
    "suivi apres",
    "suite a mon",
    "suite a son",
)
_YEAR = re.compile(r"\b(19|20)\d\d\b")


@dataclass(frozen=True)
class RedFlag:
    code: str
    label: str
    advice: str
    phrases: tuple[tuple[str, ...], ...]
    follow_up: str = ""  # the specialty that usually follows the emergency


RED_FLAGS = (
    RedFlag(
        "chest_pain",
        _("Chest pain"),
        _("Call 15 (or 112) now."),
        _phrases(
            "douleur* thorac*",
            "douleur* poitrine",
            "mal poitrine",
            "serr* poitrine",
            "oppress* poitrine",
            "poitrine serr*",
            "poitrine brul*",
            "douleur* bras gauche",
            "crise cardiaque",
            "infarctus",
            "chest pain*",
            "pain* chest",
            "chest tight*",
            "heart attack",
        ),
        follow_up="cardiology",
    ),
    RedFlag(
        "breathing",
        _("Breathing difficulty"),
        _("Call 15 (or 112) now."),
        _phrases(
            "mal respir*",
            "respire tres vite",
            "creuse* cotes",
            "tirage",
            "difficult* respir*",
            "plus respir*",
            "peine respir*",
            "etouff*",
            "suffoqu*",
            "manqu* air",
            "essouffl* repos",
            "levres bleu*",
            "breath* difficult*",
            "difficult* breath*",
            "short* breath",
            "can t breath*",
            "cannot breath*",
            "struggling breath*",
        ),
    ),
    RedFlag(
        "stroke",
        _("Signs of stroke"),
        _("Call 15 (or 112) now and note the time the signs began."),
        _phrases(
            "visage paralys*",
            "paralys* visage",
            "bouche travers",
            "bouche tordu*",
            "bouche deform*",
            "moitie visage",
            "bras paralys*",
            "jambe paralys*",
            "cote paralys*",
            "faiblesse* cote",
            "plus parl*",
            "troubl* parole",
            "parle bizarre*",
            "avc",
            "accident vasculaire",
            "face droop*",
            "slurred speech",
            "stroke",
            "numb* one side",
            "bras faible*",
            "bras lourd*",
            "jambe faible*",
            "faiblesse* bras",
            "faiblesse* jambe",
            "plus bouger bras",
            "plus bouger jambe",
            "mots rien dire",
            "paroles incoheren*",
            "can t move arm",
            "cannot move arm",
            "arm weak*",
            "speech slurred",
            "sudden* weak*",
            "engourdi* cote",
            "engourdi* visage",
            "vision double",
            "sens plus main",
            "sens plus bras",
            "sens plus jambe",
        ),
        follow_up="neurology",
    ),
    RedFlag(
        "bleeding",
        _("Heavy bleeding"),
        _("Call 15 (or 112) now and press firmly on the wound."),
        _phrases(
            "hemorragi*",
            "saign* beaucoup",
            "saign* abondam*",
            "saign* enormement",
            "saign* arret*",
            "saign* arrete*",
            "beaucoup sang",
            "perd* sang",
            "vomi* sang",
            "crach* sang",
            "heav* bleed*",
            "bleed* heavily",
            "bleed* stop",
            "vomit* blood",
            "lot of blood",
        ),
    ),
    RedFlag(
        "suicidal",
        _("Suicidal thoughts"),
        _("Call 3114 (suicide prevention, 24/7) or 15 now. You are not alone."),
        _phrases(
            "suicid*",
            "envie mourir",
            "veux mourir",
            "veut mourir",
            "vouloir mourir",
            "scarifi*",
            "automutil*",
            "idees noires",
            "pensees noires",
            "lettre adieu",
            "en finir",
            "me tuer",
            "fin jours",
            "plus envie vivre",
            "kill myself",
            "end my life",
            "want to die",
            "self harm",
        ),
        follow_up="psychiatry",
    ),
    RedFlag(
        "sudden_headache",
        _("Sudden, violent headache"),
        _("Call 15 (or 112) now."),
        _phrases(
            "mal tete brutal*",
            "mal tete soudain*",
            "cephalee* brutal*",
            "pire mal tete",
            "coup poignard tete",
            "coup poignard crane",
            "worst headache",
            "sudden* severe headache",
            "thunderclap",
        ),
        follow_up="neurology",
    ),
    RedFlag(
        "unconscious",
        _("Loss of consciousness"),
        _("Call 15 (or 112) now."),
        _phrases(
            "perdu* connaissance",
            "perte* connaissance",
            "evanoui*",
            "inconscien*",
            "syncope",
            "passed out",
            "unconscious",
            "fainted",
            "blackout",
            "tout mou",
            "bebe mou",
        ),
    ),
)


@dataclass(frozen=True)
class RedFlagMatch:
    flag: RedFlag
    words: str  # the patient's words that triggered it


# Little words skipped when looking back for a negation ("pas du tout au suicide").
FILLERS = frozenset({"du", "de", "d", "tout", "la", "le", "les", "l", "au", "aux", "a"})


def _is_negated(tokens: list[str], start: int) -> bool:
    """A negation among the three meaningful words before the match."""
    before = [token for token in tokens[:start] if token not in FILLERS][-3:]
    return any(token in NEGATIONS for token in before)


def _is_past(tokens: list[str], sentence_text: str) -> bool:
    if _YEAR.search(sentence_text):
        return True
    return any(_find_phrase(tokens, marker) is not None for marker in PAST_MARKERS)


def find_red_flags(text: str) -> list[RedFlagMatch]:
    """Every red flag present now in the text (negated and past mentions ignored)."""
    matches: dict[str, RedFlagMatch] = {}
    for tokens in _sentences(text):
        sentence_text = " ".join(tokens)
        past = None
        for flag in RED_FLAGS:
            if flag.code in matches:
                continue
            for phrase in flag.phrases:
                start = _find_phrase(tokens, phrase)
                if start is None or _is_negated(tokens, start):
                    continue
                if past is None:
                    past = _is_past(tokens, sentence_text)
                if past:
                    break
                words = " ".join(tokens[start : start + len(phrase) + MAX_GAP])
                matches[flag.code] = RedFlagMatch(flag=flag, words=words)
                break
    return list(matches.values())


# --- Urgency ------------------------------------------------------------------------


class Urgency:
    EMERGENCY = "emergency"
    URGENT = "urgent"  # within 48 hours
    SOON = "soon"  # within two weeks
    ROUTINE = "routine"


URGENT_CUES = _phrases(
    "urgen*",
    "au plus vite",
    "rapidement",
    "tres vite",
    "aujourd hui",
    "ce soir",
    "depuis hier",
    "depuis ce matin",
    "cette nuit",
    "insupportable",
    "tres mal",
    "atroce",
    "aggrav*",
    "empire",
    "fievre 39",
    "fievre 40",
    "forte fievre",
    "39 de fievre",
    "40 de fievre",
    "gonfl* rouge",
    "chaud rouge",
    "ne peux plus marcher",
    "bloque*",
    "asap",
    "as soon as possible",
    "urgently",
    "getting worse",
    "since yesterday",
    "high fever",
)
SOON_CUES = _phrases(
    "depuis quelques jours",
    "depuis plusieurs jours",
    "depuis jours",
    "depuis une semaine",
    "depuis semaines",
    "depuis deux semaines",
    "cette semaine",
    "bientot",
    "prochains jours",
    "persist*",
    "gene",
    "douleur*",
    "for a few days",
    "for days",
    "this week",
    "soon",
)
ROUTINE_CUES = _phrases(
    "bilan",
    "controle",
    "suivi",
    "renouvel*",
    "certificat",
    "depistage",
    "check up",
    "annuel*",
    "depuis des mois",
    "depuis des annees",
    "depuis longtemps",
    "pas urgent",
    "pas presse",
    "second avis",
    "deuxieme avis",
    "routine",
    "follow up",
    "prescription",
)


@dataclass(frozen=True)
class UrgencyAssessment:
    level: str
    reasons: tuple[str, ...]
    red_flags: tuple[RedFlagMatch, ...] = ()


def _cue_words(tokens: list[str], cues) -> list[str]:
    found = []
    for cue in cues:
        start = _find_phrase(tokens, cue)
        if start is not None and not _is_negated(tokens, start):
            found.append(" ".join(tokens[start : start + len(cue)]))
    return found


def assess_urgency(text: str) -> UrgencyAssessment:
    """Emergency on any red flag; otherwise the strongest timing cue decides."""
    flags = find_red_flags(text)
    if flags:
        return UrgencyAssessment(
            Urgency.EMERGENCY, tuple(str(m.flag.label) for m in flags), tuple(flags)
        )
    tokens = [token for sentence in _sentences(text) for token in sentence]
    for level, cues in (
        (Urgency.URGENT, URGENT_CUES),
        (Urgency.ROUTINE, ROUTINE_CUES),
        (Urgency.SOON, SOON_CUES),
    ):
        words = _cue_words(tokens, cues)
        if words:
            return UrgencyAssessment(level, tuple(words))
    return UrgencyAssessment(Urgency.ROUTINE, ())


# --- Specialty suggestion -----------------------------------------------------------

# Weights: 5 names the specialist or a specialty-only exam, 3 a strong sign, 1-2 a hint.
SPECIALTY_LEXICON: dict[str, tuple[tuple[str, int], ...]] = {
    "cardiology": (
        ("cardiolog*", 5),
        ("cardiaque", 3),
        ("coeur", 3),
        ("palpitation*", 3),
        ("tachycard*", 3),
        ("arythmi*", 4),
        ("tension arterielle", 3),
        ("hypertension", 3),
        ("tension", 1),
        ("electrocardiogramme", 5),
        ("ecg", 5),
        ("echographie cardiaque", 5),
        ("holter", 5),
        ("epreuve effort", 5),
        ("douleur* thorac*", 3),
        ("poitrine", 2),
        ("essouffl*", 2),
        ("jambes gonfl*", 2),
        ("cholesterol", 2),
        ("souffle coeur", 4),
        ("infarctus", 4),
        ("stent", 4),
        ("pacemaker", 5),
        ("heart", 3),
        ("cardiologist", 5),
        ("chevilles gonfl*", 3),
        ("oedeme*", 2),
        ("malaise* effort", 3),
        ("insuffisance cardiaque", 5),
        ("fibrillation", 5),
        ("valve", 3),
        ("angine de poitrine", 5),
        ("anticoagulant*", 3),
        ("phlebite", 3),
        ("varice*", 2),
        ("blood pressure", 3),
        ("chest pain*", 3),
    ),
    "dermatology": (
        ("dermato*", 5),
        ("peau", 3),
        ("bouton*", 2),
        ("acne", 4),
        ("eczema", 4),
        ("psoriasis", 5),
        ("grain* beaute", 5),
        ("naevus", 5),
        ("tache* peau", 4),
        ("demang*", 2),
        ("plaque* rouge*", 3),
        ("verrue*", 4),
        ("mycose*", 2),
        ("chute cheveux", 4),
        ("cheveux", 2),
        ("ongle*", 2),
        ("urticaire", 3),
        ("rougeur*", 2),
        ("grain de beaute", 5),
        ("skin", 3),
        ("rash", 3),
        ("mole", 4),
        ("dermatologist", 5),
        ("kyste*", 2),
        ("vitiligo", 5),
        ("taches blanches", 4),
        ("tache brune", 4),
        ("taches brunes", 4),
        ("zona", 4),
        ("brulure* soleil", 3),
        ("coup de soleil", 3),
        ("rosacee", 5),
        ("couperose", 5),
        ("alopecie", 5),
        ("transpiration excessive", 4),
        ("herpes", 3),
        ("melanome", 5),
        ("itch*", 2),
        ("cicatrice*", 2),
    ),
    "gastroenterology": (
        ("gastro*", 4),
        ("ventre", 3),
        ("estomac", 3),
        ("digesti*", 3),
        ("reflux", 4),
        ("brulure* estomac", 4),
        ("diarrhee*", 3),
        ("constipation", 3),
        ("coloscopie", 5),
        ("endoscopie", 5),
        ("fibroscopie", 5),
        ("foie", 3),
        ("hepat*", 4),
        ("intestin*", 3),
        ("colon", 3),
        ("crohn", 5),
        ("rectocolite", 5),
        ("ballonnement*", 3),
        ("hemorroide*", 3),
        ("anus", 4),
        ("selles", 3),
        ("selles noires", 4),
        ("vomi* sang", 4),
        ("sang", 1),
        ("sang selles", 4),
        ("nausee*", 2),
        ("vomissement*", 2),
        ("stomach", 3),
        ("bowel", 3),
        ("colonoscopy", 5),
        ("polype* colon", 5),
        ("coeliaque", 5),
        ("gluten", 3),
        ("pancrea*", 4),
        ("vesicule", 4),
        ("calculs biliaires", 5),
        ("cirrhose", 5),
        ("transit", 3),
        ("digerer", 3),
        ("digere*", 3),
        ("abdominal", 3),
    ),
    "neurology": (
        ("neurolog*", 5),
        ("migraine*", 4),
        ("mal tete", 3),
        ("maux tete", 3),
        ("cephalee*", 4),
        ("vertige*", 2),
        ("epilep*", 5),
        ("convulsion*", 4),
        ("crise* epilep*", 5),
        ("tremblement*", 4),
        ("parkinson", 5),
        ("sclerose", 5),
        ("engourdi*", 3),
        ("fourmillement*", 3),
        ("memoire", 3),
        ("alzheimer", 5),
        ("eeg", 5),
        ("electroencephalo*", 5),
        ("irm cerebrale", 5),
        ("avc", 4),
        ("paralys*", 3),
        ("nerf*", 2),
        ("sciatique", 2),
        ("headache*", 3),
        ("seizure*", 4),
        ("neurologist", 5),
        ("tingling", 3),
        ("numbness", 3),
        ("numb", 3),
        ("neuropathi*", 5),
        ("absences", 3),
        ("jambes sans repos", 5),
        ("perte equilibre", 3),
        ("commotion", 4),
        ("trauma cranien", 4),
        ("nevralgie*", 4),
        ("dystonie", 5),
        ("myasthenie", 5),
        ("neuropathy", 5),
    ),
    "orthopaedics": (
        ("orthop*", 5),
        ("genou*", 3),
        ("epaule*", 3),
        ("hanche*", 3),
        ("cheville*", 3),
        ("poignet*", 3),
        ("fracture*", 4),
        ("entorse*", 4),
        ("ligament*", 4),
        ("menisque*", 5),
        ("tendinite*", 3),
        ("tendon*", 3),
        ("dos", 2),
        ("lombaire*", 2),
        ("lombalgie", 3),
        ("hernie discale", 4),
        ("colonne", 2),
        ("articulation*", 2),
        ("arthrose", 3),
        ("radio", 2),
        ("plâtre", 3),
        ("platre", 3),
        ("prothese", 4),
        ("os", 2),
        ("chute", 1),
        ("knee", 3),
        ("shoulder", 3),
        ("hip", 3),
        ("ankle", 3),
        ("sprain*", 4),
        ("broken", 3),
        ("sport*", 1),
        ("kine*", 2),
        ("reeducation", 2),
        ("scoliose", 5),
        ("doigt*", 2),
        ("clavicule", 4),
        ("dorsal*", 2),
        ("coude*", 3),
        ("canal carpien", 4),
        ("luxation", 4),
        ("rupture", 2),
        ("croise*", 2),
        ("chirurgi* orthop*", 5),
        ("pied* plat*", 4),
        ("hallux", 5),
        ("oignon pied", 4),
    ),
    "paediatrics": (
        ("pediatr*", 5),
        ("paediatr*", 5),
        ("bebe", 4),
        ("nourrisson", 5),
        ("nouveau ne", 5),
        ("enfant", 3),
        ("mon fils", 3),
        ("ma fille", 3),
        ("mon petit", 3),
        ("ma petite", 3),
        ("vaccin*", 2),
        ("croissance", 3),
        ("allaitement", 3),
        ("biberon", 4),
        ("dents", 1),
        ("varicelle", 3),
        ("otite*", 1),
        ("bronchiolite", 4),
        ("baby", 4),
        ("toddler", 4),
        ("my son", 3),
        ("my daughter", 3),
        ("child", 3),
        ("kid", 3),
        ("paediatrician", 5),
        ("pediatrician", 5),
        ("creche", 2),
        ("ecole", 1),
    ),
    "psychiatry": (
        ("psychiatr*", 5),
        ("bipolai*", 5),
        ("schizophren*", 5),
        ("psychose", 5),
        ("delire*", 4),
        ("hallucination*", 5),
        ("antidepresseur*", 4),
        ("traitement psy*", 4),
        ("lithium", 5),
        ("neuroleptique*", 5),
        ("depression severe", 5),
        ("grave depression", 5),
        ("depression", 2),
        ("suicid*", 4),
        ("hospitalis* psy*", 5),
        ("trouble* obsession*", 4),
        ("toc", 3),
        ("tdah", 3),
        ("anorexi*", 3),
        ("boulimi*", 3),
        ("idees noires", 3),
        ("psychiatrist", 5),
        ("medication", 2),
        ("voices", 4),
        ("sevrage", 4),
        ("alcool*", 3),
        ("addiction*", 4),
        ("dependance*", 3),
        ("cyclothymi*", 5),
        ("euphori*", 3),
        ("maniaque", 4),
        ("paranoi*", 5),
        ("hospitalise* psychiatr*", 5),
        ("traitement", 1),
    ),
    "psychology": (
        ("psycholog*", 5),
        ("psy", 5),
        ("therapie*", 3),
        ("therapeute", 4),
        ("parler quelqu un", 4),
        ("besoin parler", 4),
        ("stress*", 3),
        ("angoiss*", 2),
        ("anxi*", 2),
        ("burn out", 4),
        ("burnout", 4),
        ("epuis*", 2),
        ("deuil", 4),
        ("couple", 3),
        ("confiance en soi", 4),
        ("harcelement", 3),
        ("phobie*", 3),
        ("tcc", 4),
        ("comportement", 2),
        ("sommeil", 1),
        ("moral", 2),
        ("therapist", 4),
        ("counsel*", 4),
        ("talk to someone", 4),
        ("psychologist", 5),
        ("grief", 4),
        ("cauchemar*", 3),
        ("emdr", 5),
        ("traumatisme", 3),
        ("stress post traumatique", 4),
        ("therapie familiale", 5),
        ("therapie de couple", 5),
        ("parentalite", 4),
        ("timidite", 3),
        ("estime de soi", 4),
        ("en parler", 3),
    ),
    "gynaecology-obstetrics": (
        ("gyneco*", 5),
        ("gynaeco*", 5),
        ("gynecolog*", 5),
        ("enceinte", 4),
        ("grossesse", 4),
        ("regles", 4),
        ("menstru*", 4),
        ("contracepti*", 4),
        ("sterilet", 5),
        ("pilule", 3),
        ("frottis", 5),
        ("menopause", 4),
        ("endometriose", 5),
        ("ovaire*", 4),
        ("uterus", 4),
        ("sein*", 2),
        ("mammographie", 4),
        ("fertilite", 4),
        ("echographie grossesse", 5),
        ("sage femme", 4),
        ("accouchement", 4),
        ("pregnan*", 4),
        ("my period", 3),
        ("gynaecologist", 5),
        ("gynecologist", 5),
        ("pertes blanches", 4),
        ("pertes vaginales", 4),
        ("vaginal*", 4),
        ("infection urinaire", 1),
        ("fertilite", 4),
        ("pma", 5),
        ("fiv", 5),
        ("ivg", 5),
        ("kyste ovaire", 5),
        ("col uterus", 5),
        ("bouffees de chaleur", 4),
        ("cycle*", 2),
        ("mycose vaginale", 5),
    ),
    "ophthalmology": (
        ("ophtalmo*", 5),
        ("ophthalmo*", 5),
        ("oeil", 4),
        ("yeux", 4),
        ("vue", 3),
        ("vision", 3),
        ("lunettes", 4),
        ("lentilles", 4),
        ("cataracte", 5),
        ("glaucome", 5),
        ("myopi*", 4),
        ("presbyti*", 4),
        ("strabisme", 5),
        ("paupiere*", 3),
        ("conjonctivite", 4),
        ("fond d oeil", 5),
        ("voir flou", 4),
        ("vois flou", 4),
        ("flou", 2),
        ("eye*", 4),
        ("sight", 3),
        ("glasses", 4),
        ("blurr*", 3),
        ("lasik", 5),
        ("laser yeux", 5),
        ("retine", 5),
        ("louche*", 4),
        ("mouches volantes", 5),
        ("corps flottants", 5),
        ("secheresse oculaire", 5),
        ("dmla", 5),
        ("orgelet", 5),
        ("chalazion", 5),
        ("daltoni*", 5),
    ),
    "ent": (
        ("orl", 5),
        ("oto rhino*", 5),
        ("oreille*", 4),
        ("audition", 4),
        ("entend*", 3),
        ("surdite", 4),
        ("acouphene*", 5),
        ("sifflement*", 3),
        ("gorge", 3),
        ("angine*", 3),
        ("amygdale*", 4),
        ("sinus*", 4),
        ("nez bouche", 3),
        ("nez", 2),
        ("ronfle*", 4),
        ("apnee*", 3),
        ("voix", 3),
        ("enroue*", 4),
        ("otite*", 3),
        ("vertige*", 2),
        ("audiogramme", 5),
        ("appareil auditif", 5),
        ("ear", 4),
        ("ears", 4),
        ("earache*", 5),
        ("hearing", 4),
        ("throat", 3),
        ("tinnitus", 5),
        ("snor*", 4),
        ("odorat", 4),
        ("polype* nez", 5),
        ("nez bouche", 3),
        ("cloison nasale", 5),
        ("saignement* nez", 4),
        ("yoyo*", 5),
        ("aerateur*", 5),
        ("deglutition", 4),
        ("avaler", 2),
    ),
    "general-practice": (
        ("medecin generaliste", 5),
        ("generaliste", 5),
        ("medecin traitant", 4),
        ("certificat", 4),
        ("renouvel*", 3),
        ("ordonnance", 2),
        ("bilan sante", 4),
        ("check up", 4),
        ("prise de sang", 2),
        ("analyses", 2),
        ("fatigue*", 2),
        ("grippe", 3),
        ("rhume", 3),
        ("toux", 2),
        ("fievre", 2),
        ("vaccin*", 1),
        ("arret de travail", 4),
        ("general practitioner", 5),
        ("gp", 4),
        ("family doctor", 5),
        ("cold", 2),
        ("flu", 3),
        ("cough", 2),
        ("tired*", 2),
        ("blood test", 2),
    ),
}

CHILD_CUES = _phrases(
    "mon fils",
    "ma fille",
    "mon enfant",
    "mes enfants",
    "notre enfant",
    "notre fils",
    "notre fille",
    "mon bebe",
    "notre bebe",
    "bebe",
    "nourrisson",
    "mon petit",
    "ma petite",
    "my son",
    "my daughter",
    "my child",
    "our child",
    "my baby",
    "our baby",
    "toddler",
    "enfant",
)
# "mon fils de 8 ans", "elle a 3 ans", "aged 4" but not "il y a 10 ans".
_AGE = re.compile(
    r"(?<!\by )\b(?:de|a|age de|agee? de|aged|is|of)\s+(\d{1,2})\s*"
    r"(ans|an|mois|years?|months?)\b"
)
NAMED_SPECIALIST = 5  # the weight of a term that names the specialist or exam
CHILD_BOOST = 4


@dataclass(frozen=True)
class SpecialtySuggestion:
    code: str
    score: int
    reasons: tuple[str, ...]
    alternatives: tuple[tuple[str, int], ...] = field(default=())


@lru_cache(maxsize=1)
def _compiled_lexicon() -> dict[str, tuple[tuple[tuple[str, ...], int], ...]]:
    return {
        code: tuple((tuple(term.split()), weight) for term, weight in terms)
        for code, terms in SPECIALTY_LEXICON.items()
    }


def _mentions_a_child(text: str, tokens: list[str]) -> bool:
    if any(_find_phrase(tokens, cue) is not None for cue in CHILD_CUES):
        return True
    for number, unit in _AGE.findall(normalise(text)):
        if unit.startswith(("mois", "month")) or int(number) < 16:
            return True
    return False


def suggest_specialty(text: str) -> SpecialtySuggestion:
    """The specialty whose signs weigh most in the text, with the words that count."""
    tokens = [token for sentence in _sentences(text) for token in sentence]
    scores: dict[str, int] = {}
    reasons: dict[str, list[str]] = {}
    for code, terms in _compiled_lexicon().items():
        for phrase, weight in terms:
            start = _find_phrase(tokens, phrase)
            if start is None:
                continue
            scores[code] = scores.get(code, 0) + weight
            reasons.setdefault(code, []).append(
                " ".join(tokens[start : start + len(phrase)])
            )
    if _mentions_a_child(text, tokens):
        # A named specialist or specialty-only exam for a child still wins.
        named = any(
            weight >= NAMED_SPECIALIST
            for code, terms in _compiled_lexicon().items()
            if code != "paediatrics"
            for phrase, weight in terms
            if _find_phrase(tokens, phrase) is not None
        )
        if not named:
            scores["paediatrics"] = scores.get("paediatrics", 0) + CHILD_BOOST
            reasons.setdefault("paediatrics", []).append(str(_("a child")))
    for match in find_red_flags(text):
        if match.flag.follow_up:
            scores[match.flag.follow_up] = (
                scores.get(match.flag.follow_up, 0) + NAMED_SPECIALIST
            )
            reasons.setdefault(match.flag.follow_up, []).append(str(match.flag.label))
    if not scores:
        return SpecialtySuggestion(
            "general-practice",
            0,
            (str(_("no specific sign: a general practitioner is the first step")),),
        )
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    code, score = ranked[0]
    return SpecialtySuggestion(code, score, tuple(reasons[code]), tuple(ranked[1:4]))
