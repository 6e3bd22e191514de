"""Random input into the main portal forms and API bodies: field errors, never a
500, and nothing written.

Hypothesis posts dictionaries built from each form's own field names (plus
unknown ones) with hostile values: empty, huge, control characters and NUL bytes,
digits shaped like a NIR, dates out of range, lists, markup. `make test` tries 25
examples per form, `make proof` 500. The API's
documented operations are fuzzed from the schema by tests/api/test_schemathesis.py;
here the partner's write bodies get the same treatment with JSON of any shape.
"""

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appointments.forms import PatientChoiceForm
from conciergerie.accounts.roles import Role
from patients.care_forms import IntakeDetailsForm, IntakeStartForm
from patients.forms import IdentityForm, InsuranceForm, RegistrationForm
from tests.factories import UserFactory

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=5000),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "185057800608436",  # a NIR shape with a wrong key
            "2 84 05 2A 004 012 65",
            "1999-02-30",
            "31/12/9999",
            "-1",
            "1e309",
            "NaN",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "../../etc/passwd",
            "☃" * 300,
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def form_data(field_names: list[str]) -> st.SearchStrategy[dict]:
    keys = st.sampled_from([*field_names, "step", "unknown", "csrfmiddlewaretoken"])
    values = st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, max_size=3))
    return st.dictionaries(keys, values, max_size=len(field_names) + 3)


def _snapshot() -> dict:
    from appointments.models import Appointment
    from patients.models import CareRequest, InsuranceCoverage, Patient

    return {
        "patients": list(Patient.objects.order_by("pk").values()),
        "coverages": InsuranceCoverage.objects.count(),
        "requests": CareRequest.objects.count(),
        "appointments": Appointment.objects.count(),
    }


def fuzz(client, path: str, field_names: list[str], examples: int) -> Callable:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=form_data(field_names))
    def run(data: dict) -> None:
        before = _snapshot()
        response = client.post(path, data)
        assert response.status_code < 500, (path, data)
        if response.status_code == 200:
            # Re-displayed with its errors: nothing was written.
            assert _snapshot() == before, (path, data)
        else:
            # Only a valid form may move on; random input almost never is.
            assert response.status_code in (302, 400, 403, 404, 405), (path, data)

    return run


@pytest.fixture
def camille(client, db):
    from tests.patients.factories import PatientFactory

    user = UserFactory(email="fuzz.camille@example.fr", role=Role.PATIENT)
    patient = PatientFactory(user=user, email=user.email, consented=True)
    client.force_login(user)
    return client, patient


def test_registration_with_a_nir_never_fails(client, db, proof_scale):
    client.force_login(UserFactory(email="fuzz.new@example.fr", role=Role.PATIENT))
    fields = list(RegistrationForm.base_fields)
    fuzz(client, "/patients/new/", fields, proof_scale(25, 500))()


def test_identity_never_fails(camille, proof_scale):
    client, patient = camille
    fields = list(IdentityForm.base_fields)
    fuzz(
        client, f"/patients/{patient.reference}/identity/", fields, proof_scale(25, 500)
    )()


def test_insurance_never_fails(camille, proof_scale):
    client, patient = camille
    fields = list(InsuranceForm.base_fields)
    fuzz(
        client,
        f"/patients/{patient.reference}/insurance/",
        fields,
        proof_scale(25, 500),
    )()


def test_care_request_intake_never_fails(camille, proof_scale):
    client, _patient = camille
    fields = list(IntakeStartForm.base_fields) + list(IntakeDetailsForm.base_fields)
    fuzz(client, "/patients/requests/new/", fields, proof_scale(25, 500))()


def test_booking_never_fails(camille, proof_scale):
    from tests.appointments.factories import open_practitioner

    client, _patient = camille
    practitioner = open_practitioner()
    fields = [*PatientChoiceForm.base_fields, "starts_at", "kind", "mode", "place"]
    path = f"/appointments/book/{practitioner.public_id}/"
    fuzz(client, path, fields, proof_scale(25, 500))()


JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        HOSTILE_TEXT,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(HOSTILE_TEXT, children, max_size=4),
    ),
    max_leaves=12,
)


def api_body(field_names: list[str]) -> st.SearchStrategy:
    return st.one_of(
        st.dictionaries(st.sampled_from(field_names), JSON, max_size=len(field_names)),
        JSON,
    )


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (
            "/api/v1/patients/",
            ["last_name", "first_names", "birth_date", "sex", "nir", "email", "phone"],
        ),
        (
            "/api/v1/care-requests/",
            ["patient", "kind", "need", "specialty", "urgency", "postal_code"],
        ),
        (
            "/api/v1/appointments/",
            ["patient", "specialist", "starts_at", "kind", "mode", "place"],
        ),
    ],
)
def test_partner_write_bodies_give_field_errors(
    path, fields, make_partner, proof_scale, settings
):
    settings.API_THROTTLE_PARTNER = "1000000/min"
    _organisation, _token, client = make_partner("Clinique Fuzz")

    @settings_for(proof_scale(25, 500))
    @given(body=api_body(fields))
    def run(body) -> None:
        before = _snapshot()
        response = client.post(path, body, format="json")
        assert response.status_code < 500, (path, body)
        if response.status_code == 400:
            assert {"code", "detail"} <= set(response.json()), response.json()
            assert _snapshot() == before, (path, body)

    run()


def settings_for(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
