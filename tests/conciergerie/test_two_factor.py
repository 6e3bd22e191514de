"""Staff enrol and replace their authenticator app from a self-service page."""

import binascii

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from conciergerie.accounts.two_factor import PENDING_KEY
from tests.factories import PASSWORD


def code_for(client) -> str:
    key = client.session[PENDING_KEY]
    return f"{TOTP(binascii.unhexlify(key.encode())).token():06d}"


@pytest.fixture
def url():
    return reverse("staff-two-factor")


def test_a_staff_member_enrols_with_the_qr_code(client, coordinator, url):
    client.force_login(coordinator)

    page = client.get(url)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()

    response = client.post(url, {"code": code_for(client), "password": PASSWORD})

    assert response.status_code == 302
    device = TOTPDevice.objects.get(user=coordinator)
    assert device.confirmed
    # The new device verifies the session: the back-office opens at once.
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_wrong_code_or_password_enrols_nothing(client, coordinator, url):
    client.force_login(coordinator)
    client.get(url)

    wrong_code = client.post(url, {"code": "000000", "password": PASSWORD})
    wrong_password = client.post(url, {"code": code_for(client), "password": "not it"})

    assert wrong_code.status_code == 400
    assert wrong_password.status_code == 400
    assert "mot de passe" in wrong_password.content.decode()
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_replacing_needs_a_verified_session_and_the_password(
    client, staff_client, coordinator, url
):
    verified = staff_client(coordinator)
    old = TOTPDevice.objects.get(user=coordinator)
    verified.get(url)

    response = verified.post(url, {"code": code_for(verified), "password": PASSWORD})

    assert response.status_code == 302
    new = TOTPDevice.objects.get(user=coordinator)
    assert new.pk != old.pk


def test_a_password_alone_cannot_move_the_second_factor(client, coordinator, url):
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    client.force_login(coordinator)  # password only, no code from the old phone
    client.get(url)

    response = client.post(url, {"code": code_for(client), "password": PASSWORD})

    assert response.status_code == 200
    assert TOTPDevice.objects.get(user=coordinator).name == "phone"


def test_patients_have_no_such_page(client, patient_user, url):
    client.force_login(patient_user)

    assert client.get(url).status_code == 403


def test_the_back_office_links_to_the_page(staff_client, coordinator, url):
    page = staff_client(coordinator).get(reverse("admin:index"))

    assert url in page.content.decode()
