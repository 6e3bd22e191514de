"""What a patient brings and how they prepare, per specialty.

Every visit needs the same papers (carte Vitale, mutuelle, referral letter); each
specialty adds its own (glasses for the ophthalmologist, the child's health
record for the paediatrician) and its preparation; previous results of the
specialty's usual exams, from the directory's catalogue, complete the list. A
video consultation adds the device check. Items have stable codes: the patient's
ticks are stored by code.
"""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from specialists.models import SpecialtyProcedure


@dataclass(frozen=True)
class Item:
    code: str
    text: str | Promise
    kind: str  # "bring" or "prepare"
    link: str = ""


BRING = "bring"
PREPARE = "prepare"

COMMON = [
    Item("vitale", _("Your carte Vitale (or its certificate)"), BRING),
    Item("mutuelle", _("Your mutuelle card"), BRING),
    Item("identity", _("An identity document"), BRING),
    Item(
        "referral",
        _("The referral letter from your general practitioner, if you have one"),
        BRING,
    ),
    Item(
        "treatments",
        _("The list of your current treatments, or your latest prescriptions"),
        BRING,
    ),
    Item(
        "early",
        _("Arrive ten minutes early to complete the formalities"),
        PREPARE,
    ),
]

VIDEO = [
    Item(
        "device-check",
        _("Check your camera, microphone and connection the day before"),
        PREPARE,
    ),
    Item(
        "quiet-room",
        _("Settle in a quiet, well-lit room, with your documents at hand"),
        PREPARE,
    ),
]

BY_SPECIALTY: dict[str, list[Item]] = {
    "cardiology": [
        Item("ecg", _("Your previous electrocardiograms (ECG)"), BRING),
        Item(
            "blood-pressure", _("Your blood pressure readings, if you take them"), BRING
        ),
        Item(
            "sport-clothes",
            _("Comfortable clothes and shoes, in case of an exercise test"),
            PREPARE,
        ),
    ],
    "dermatology": [
        Item(
            "no-make-up",
            _("Come without make-up or nail polish on the areas to examine"),
            PREPARE,
        ),
        Item("photos", _("Photos of the lesion when it was at its worst"), BRING),
    ],
    "gastroenterology": [
        Item(
            "fasting",
            _("If an endoscopy is planned, follow the fasting instructions given"),
            PREPARE,
        ),
    ],
    "ophthalmology": [
        Item("glasses", _("Your glasses and contact lenses, with their cases"), BRING),
        Item(
            "no-driving",
            _("Do not drive after the visit: your pupils may be dilated"),
            PREPARE,
        ),
    ],
    "paediatrics": [
        Item("health-record", _("The child's health record (carnet de santé)"), BRING),
        Item("comforter", _("A comforter or a favourite toy"), PREPARE),
    ],
    "gynaecology-obstetrics": [
        Item("smear", _("The results of your last smear test"), BRING),
        Item("cycle", _("The date of your last period"), PREPARE),
    ],
    "orthopaedics": [
        Item("imaging", _("Your X-rays, scans or MRI, with their reports"), BRING),
        Item("loose-clothes", _("Loose clothing to examine the joint"), PREPARE),
    ],
    "rheumatology": [
        Item("imaging", _("Your X-rays, scans or MRI, with their reports"), BRING),
    ],
    "neurology": [
        Item(
            "symptom-diary",
            _("A note of when your symptoms occur, if you keep one"),
            PREPARE,
        ),
        Item(
            "companion", _("Someone who has seen your symptoms, if possible"), PREPARE
        ),
    ],
    "ent": [
        Item("hearing-tests", _("Your previous hearing tests"), BRING),
    ],
    "endocrinology": [
        Item("glucose-log", _("Your blood sugar log, if you keep one"), BRING),
        Item(
            "fasting-blood-test",
            _("If a blood test is planned, come fasting"),
            PREPARE,
        ),
    ],
    "pulmonology": [
        Item("inhalers", _("Your inhalers"), BRING),
        Item(
            "no-smoking",
            _("Do not smoke in the hours before a breathing test"),
            PREPARE,
        ),
    ],
    "urology": [
        Item("urine-test", _("Your latest urine test results"), BRING),
    ],
    "psychiatry": [
        Item(
            "previous-treatments",
            _("The names of the treatments you have already tried"),
            PREPARE,
        ),
    ],
    "psychology": [],
    "general-practice": [],
}


def checklist_for(appointment) -> list[Item]:
    """Everything to bring and prepare for this appointment, in order."""
    items = list(COMMON)
    specialty = appointment.specialty
    if specialty is not None:
        items += BY_SPECIALTY.get(specialty.code, [])
        exams = list(
            SpecialtyProcedure.objects.filter(
                specialty=specialty, kind=SpecialtyProcedure.Kind.EXAM
            ).order_by("sort_order", "name")
        )
        if exams:
            names = ", ".join(exam.label for exam in exams)
            items.append(
                Item(
                    "previous-exams",
                    _("The results of any of these exams you already had: %(exams)s")
                    % {"exams": names},
                    BRING,
                )
            )
    if appointment.is_video:
        items = [item for item in items if item.code != "early"]
        items += [
            Item(
                item.code,
                item.text,
                item.kind,
                reverse("teleconsult:device-check")
                if item.code == "device-check"
                else "",
            )
            for item in VIDEO
        ]
    return items


def codes() -> set[str]:
    every = COMMON + VIDEO + [item for items in BY_SPECIALTY.values() for item in items]
    return {item.code for item in every} | {"previous-exams"}
