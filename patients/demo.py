"""Demo patients: French families with insurance, medical profiles and documents.

Deterministic (a fixed Faker seed) and idempotent: a second run finds the demo
files and adds nothing. Two portal logins are printed: a patient, and a parent
managing their children's files.
"""

import io
import random
from datetime import date, time, timedelta
from decimal import Decimal

import phonenumbers
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from faker import Faker

from conciergerie.accounts.models import User
from conciergerie.accounts.roles import Role
from conciergerie.accounts.services import create_user_with_role
from conciergerie.demo import DEMO_PASSWORD

from . import care_demo, services
from .models import (
    Channel,
    Document,
    ErasureRequest,
    Guardianship,
    InsuranceCoverage,
    Patient,
)

SEED = 2026
DEMO_PATIENT_EMAIL = "patient@conciergerie.local"
DEMO_PARENT_EMAIL = "parent@conciergerie.local"

DEPARTMENTS = ["75", "69", "13", "33", "31", "59", "44", "67", "06", "2A", "35", "34"]
MUTUELLES = [
    ("MGEN", Decimal("150")),
    ("Harmonie Mutuelle", Decimal("200")),
    ("Malakoff Humanis", Decimal("200")),
    ("AG2R La Mondiale", Decimal("150")),
    ("Mutuelle Générale", Decimal("125")),
    ("Alan", Decimal("300")),
    ("MAAF Santé", Decimal("100")),
]
ALD = [
    "Diabète de type 2",
    "Insuffisance cardiaque",
    "Sclérose en plaques",
    "Polyarthrite rhumatoïde",
    "Maladie de Crohn",
]
HISTORY = [
    "Appendicectomie en 2004.",
    "Asthme depuis l'enfance, bien contrôlé.",
    "Hypertension artérielle traitée depuis 2019.",
    "Fracture du poignet droit en 2015.",
    "Deux grossesses, accouchements par voie basse.",
    "Hypothyroïdie.",
    "Migraines avec aura.",
    "Cholécystectomie en 2018.",
    "Antécédent familial de cancer du sein (mère).",
]
ALLERGIES = [
    "",
    "",
    "Pénicilline : urticaire.",
    "Arachides : œdème de Quincke, stylo d'adrénaline prescrit.",
    "Latex.",
    "Pollens de graminées (rhinite saisonnière).",
    "Iode : réaction cutanée.",
]
TREATMENTS = [
    "",
    "Lévothyrox 75 µg le matin.",
    "Ramipril 5 mg par jour.",
    "Metformine 1000 mg matin et soir.",
    "Ventoline à la demande.",
    "Pilule contraceptive.",
]
NEEDS = [
    "",
    "",
    "Se déplace en fauteuil roulant : cabinet accessible indispensable.",
    "Malentendant : privilégier l'écrit et les SMS.",
    "Parle peu français : interprète en arabe souhaité.",
    "Anxieux en milieu médical, préfère être accompagné.",
]
DOCUMENTS = [
    (Document.Kind.RESULTS, "Bilan sanguin", "Laboratoire Cerballiance"),
    (Document.Kind.CONSULTATION_REPORT, "Compte rendu de consultation", "Dr Lefèvre"),
    (Document.Kind.PRESCRIPTION, "Ordonnance", "Dr Moreau, médecin généraliste"),
    (Document.Kind.IMAGING, "Radiographie du thorax", "Imagerie du Parc"),
    (Document.Kind.CARE_SHEET, "Feuille de soins", "Cabinet infirmier"),
    (Document.Kind.PHOTO, "Photo de la lésion", "Patient"),
]


def seed(*, stdout) -> None:
    if Patient.objects.filter(registration_channel=Channel.SEED).exists():
        stdout.write("Demo patients already present.")
        care_demo.seed(stdout=stdout)
        _print_logins(stdout)
        return
    fake = Faker("fr_FR")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    adviser = User.objects.filter(email="adviser@conciergerie.local").first()

    own = _adult(
        fake,
        rng,
        sex="female",
        user=_portal_user(DEMO_PATIENT_EMAIL, "Camille", "Petit"),
    )
    _fill(own, fake, rng, documents=3, ald=True)
    if adviser is not None:
        services.assign_staff(patient=own, staff=adviser, by=adviser)

    parent_user = _portal_user(DEMO_PARENT_EMAIL, "Julien", "Bernard")
    parent = _adult(fake, rng, sex="male", user=parent_user, last_name="Bernard")
    _fill(parent, fake, rng, documents=1)
    for first_name, sex, age in (("Léa", "female", 9), ("Hugo", "male", 5)):
        child = _child(fake, rng, parent, first_name=first_name, sex=sex, age=age)
        _fill(child, fake, rng, documents=2)

    families = 0
    for index in range(30):
        sex = rng.choice(["female", "male"])
        patient = _adult(fake, rng, sex=sex)
        _fill(patient, fake, rng, documents=rng.randint(0, 2), ald=rng.random() < 0.15)
        if index % 7 == 0 and families < 4:  # a few families with children
            families += 1
            guardian = _portal_user(
                f"famille{families}@demo.conciergerie.local",
                patient.first_names.split()[0],
                patient.last_name,
            )
            Patient.objects.filter(pk=patient.pk).update(user=guardian)
            for _i in range(rng.randint(1, 2)):
                child = _child(
                    fake,
                    rng,
                    patient,
                    guardian=guardian,
                    sex=rng.choice(["female", "male"]),
                    age=rng.randint(1, 16),
                )
                _fill(child, fake, rng, documents=rng.randint(0, 1))
        if adviser is not None and index % 3 == 0:
            services.assign_staff(patient=patient, staff=adviser, by=adviser)

    # A second file for the same person, as a phone registration would make it:
    # concierges see it flagged and can merge the two.
    twin = Patient(
        last_name=own.last_name,
        first_names=own.first_names.split()[0],
        birth_date=own.birth_date,
        sex=own.sex,
        email="",
        city=own.city,
    )
    services.register_patient(
        patient=twin, by=None, channel=Channel.SEED, confirm_duplicate=True
    )
    ErasureRequest.objects.create(
        patient=Patient.objects.filter(registration_channel=Channel.SEED)
        .exclude(pk__in=[own.pk, parent.pk, twin.pk])
        .filter(user__isnull=True)
        .order_by("created_at")
        .first(),
        message="Je déménage à l'étranger et ne souhaite plus utiliser le service.",
    )
    stdout.write(f"{Patient.objects.count()} demo patient files.")
    care_demo.seed(stdout=stdout)
    _print_logins(stdout)


def _print_logins(stdout) -> None:
    stdout.write(f"Demo portal logins (password: {DEMO_PASSWORD}):")
    stdout.write(f"  patient            {DEMO_PATIENT_EMAIL}")
    stdout.write(f"  parent of two      {DEMO_PARENT_EMAIL}")


def _portal_user(email: str, first_name: str, last_name: str) -> User:
    from allauth.account.models import EmailAddress

    user = create_user_with_role(
        email=email,
        role=Role.PATIENT,
        password=DEMO_PASSWORD,
        first_name=first_name,
        last_name=last_name,
    )
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def _nir(rng: random.Random, *, sex: str, born: date) -> str:
    department = rng.choice(DEPARTMENTS)
    body = (
        ("1" if sex == "male" else "2")
        + f"{born.year % 100:02d}{born.month:02d}"
        + department
        + f"{rng.randint(1, 400):03d}{rng.randint(1, 999):03d}"
    )
    numeric = body.replace("2A", "19").replace("2B", "18")
    return body + f"{97 - int(numeric) % 97:02d}"


def _mobile(rng: random.Random) -> str:
    while True:
        number = f"+336{rng.randint(10_000_000, 99_999_999)}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def _adult(
    fake, rng, *, sex: str, user: User | None = None, last_name: str = ""
) -> Patient:
    first = fake.first_name_female() if sex == "female" else fake.first_name_male()
    if rng.random() < 0.3:
        first += " " + (
            fake.first_name_female() if sex == "female" else fake.first_name_male()
        )
    born = fake.date_of_birth(minimum_age=19, maximum_age=88)
    last = last_name or (
        user.last_name if user and user.last_name else fake.last_name()
    )
    patient = Patient(
        last_name=last,
        birth_last_name=fake.last_name()
        if sex == "female" and rng.random() < 0.3
        else "",
        first_names=user.first_name if user and user.first_name else first,
        birth_date=born,
        sex=sex,
        nir=_nir(rng, sex=sex, born=born) if rng.random() < 0.8 else "",
        email=user.email if user else fake.unique.free_email(),
        mobile_phone=_mobile(rng),
        address_line=fake.street_address(),
        postal_code=fake.postcode(),
        city=fake.city(),
        preferred_language="en" if rng.random() < 0.1 else "fr",
        reminder_channel=rng.choice(list(Patient.ReminderChannel.values)),
        quiet_hours_start=time(21) if rng.random() < 0.4 else None,
        quiet_hours_end=time(8) if rng.random() < 0.4 else None,
    )
    if (patient.quiet_hours_start is None) != (patient.quiet_hours_end is None):
        patient.quiet_hours_start = patient.quiet_hours_end = None
    return services.register_patient(
        patient=patient,
        by=None,
        channel=Channel.SEED,
        user=user,
        confirm_duplicate=True,
        health_data_consent=rng.random() < 0.9 or user is not None,
    )


def _child(
    fake,
    rng,
    parent: Patient,
    *,
    sex: str,
    age: int,
    first_name: str = "",
    guardian=None,
) -> Patient:
    born = timezone.localdate() - timedelta(days=365 * age + rng.randint(0, 300))
    child = Patient(
        last_name=parent.last_name,
        first_names=first_name
        or (fake.first_name_female() if sex == "female" else fake.first_name_male()),
        birth_date=born,
        sex=sex,
        nir=_nir(rng, sex=sex, born=born),
        address_line=parent.address_line,
        postal_code=parent.postal_code,
        city=parent.city,
        reminder_channel=Patient.ReminderChannel.EMAIL,
    )
    child = services.register_patient(
        patient=child,
        by=None,
        channel=Channel.SEED,
        confirm_duplicate=True,
        health_data_consent=True,
    )
    Guardianship.objects.create(
        guardian=guardian or parent.user,
        patient=child,
        relationship=Guardianship.Relationship.PARENT,
    )
    return child


def _fill(patient: Patient, fake, rng, *, documents: int, ald: bool = False) -> None:
    mutuelle, rate = rng.choice(MUTUELLES)
    has_mutuelle = rng.random() < 0.9
    InsuranceCoverage.objects.create(
        patient=patient,
        regime=rng.choice(
            [InsuranceCoverage.Regime.GENERAL] * 8
            + [
                InsuranceCoverage.Regime.ALSACE_MOSELLE,
                InsuranceCoverage.Regime.AGRICULTURAL,
            ]
        ),
        fund_name=f"CPAM {patient.city}" if patient.city else "",
        treating_doctor_declared=rng.random() < 0.85,
        treating_doctor_name=f"Dr {fake.last_name()}",
        ald=ald,
        ald_label=rng.choice(ALD) if ald else "",
        c2s=not has_mutuelle and rng.random() < 0.5,
        mutuelle_name=mutuelle if has_mutuelle else "",
        mutuelle_contract_number=f"{rng.randint(100000, 999999)}"
        if has_mutuelle
        else "",
        coverage_rate=rate if has_mutuelle else None,
        optam_overrun_rate=(rate - 100) if has_mutuelle and rate > 100 else None,
        non_optam_overrun_rate=min(rate - 120, Decimal("100"))
        if has_mutuelle and rate >= 150
        else None,
        contrat_responsable=True,
        yearly_cap_overruns=Decimal("400.00") if has_mutuelle and rate >= 200 else None,
        valid_from=date(timezone.localdate().year, 1, 1),
    )
    if not services.has_health_data_consent(patient):
        return
    services.update_medical_profile(
        patient=patient,
        by=None,
        data={
            "medical_history": " ".join(rng.sample(HISTORY, rng.randint(0, 2))),
            "allergies": rng.choice(ALLERGIES),
            "current_treatments": rng.choice(TREATMENTS),
            "specific_needs": rng.choice(NEEDS),
            "measurements": {
                "height_cm": rng.randint(150, 192),
                "weight_kg": str(rng.randint(48, 105)),
            }
            if patient.age >= 18
            else {},
        },
    )
    for kind, title, source in rng.sample(DOCUMENTS, documents):
        content, name = (
            (_png(rng), "photo.png")
            if kind == Document.Kind.PHOTO
            else (
                _pdf(f"{title} - {patient.full_name}"),
                "document.pdf",
            )
        )
        services.upload_document(
            patient=patient,
            by=None,
            upload=SimpleUploadedFile(name, content),
            kind=kind,
            title=title,
            document_date=timezone.localdate() - timedelta(days=rng.randint(3, 700)),
            source=source,
            channel=Channel.SEED,
        )


def _pdf(text: str) -> bytes:
    """A one-page PDF saying `text` (built by hand: no renderer needed)."""
    safe = text.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 14 Tf 40 760 Td (" + safe + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length "
        + str(len(stream)).encode()
        + b">>stream\n"
        + stream
        + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    size = len(objects) + 1
    out.write(
        f"trailer<</Size {size}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _png(rng: random.Random) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 120), (238, 214, 196))
    draw = ImageDraw.Draw(image)
    x, y = rng.randint(40, 100), rng.randint(30, 70)
    draw.ellipse((x, y, x + 30, y + 22), fill=(176, 72, 64))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
