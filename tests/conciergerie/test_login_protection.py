"""Ten wrong passwords pause one account from one address for fifteen minutes."""

from datetime import timedelta

from axes.models import AccessAttempt, AccessAttemptExpiration
from django.utils import timezone

from tests.factories import PASSWORD

WRONG = "not the password"


def _portal_login(client, email, password, address="203.0.113.7"):
    return client.post(
        "/accounts/login/",
        {"login": email, "password": password},
        REMOTE_ADDR=address,
    )


def test_ten_failures_lock_the_account_from_that_address(client, patient_user):
    for _attempt in range(10):
        _portal_login(client, patient_user.email, WRONG)

    response = _portal_login(client, patient_user.email, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_nine_failures_still_let_the_right_password_in(client, patient_user):
    for _attempt in range(9):
        _portal_login(client, patient_user.email, WRONG)

    response = _portal_login(client, patient_user.email, PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(patient_user.pk)


def test_an_attacker_elsewhere_cannot_lock_the_patient_out(client, patient_user):
    for _attempt in range(20):
        _portal_login(client, patient_user.email, WRONG, address="198.51.100.66")

    response = _portal_login(client, patient_user.email, PASSWORD, "203.0.113.7")

    assert response.status_code == 302


def test_the_lock_out_expires_after_fifteen_minutes(client, patient_user):
    for _attempt in range(10):
        _portal_login(client, patient_user.email, WRONG)
    past = timezone.now() - timedelta(minutes=15, seconds=1)
    AccessAttempt.objects.update(attempt_time=past)
    AccessAttemptExpiration.objects.update(expires_at=past)

    response = _portal_login(client, patient_user.email, PASSWORD)

    assert response.status_code == 302


def test_the_back_office_login_is_throttled_too(client, adviser):
    for _attempt in range(10):
        client.post(
            "/admin/login/",
            {"username": adviser.email, "password": WRONG, "otp_token": "000000"},
            REMOTE_ADDR="203.0.113.9",
        )

    response = client.post(
        "/admin/login/",
        {"username": adviser.email, "password": PASSWORD, "otp_token": "000000"},
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 429
