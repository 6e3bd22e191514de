"""References as people type them: any case, spaces, with or without the prefix."""

import pytest

from patients.models import normalise_care_request_reference, normalise_reference


@pytest.mark.parametrize(
    ("typed", "reference"),
    [
        ("P-7K3Q9X", "P-7K3Q9X"),
        ("p-7k3q9x", "P-7K3Q9X"),
        ("7K3 Q9X", "P-7K3Q9X"),
        ("P7K3Q9X", "P-7K3Q9X"),
        ("pb2752", "P-PB2752"),  # a body that starts with the prefix's letter
        ("PPB2752", "P-PB2752"),
    ],
)
def test_patient_references_are_normalised(typed, reference):
    assert normalise_reference(typed) == reference


@pytest.mark.parametrize(
    ("typed", "reference"),
    [("d-abc234", "D-ABC234"), ("DD23456", "D-D23456"), ("d23456", "D-D23456")],
)
def test_care_request_references_are_normalised(typed, reference):
    assert normalise_care_request_reference(typed) == reference
