from django_otp.oath import totp

from conciergerie.accounts.roles import Role
from tests.factories import PASSWORD, TOTPDeviceFactory, UserFactory


def _current_code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


def test_admin_refuses_a_staff_member_without_a_device(client, adviser):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": adviser.email, "password": PASSWORD, "otp_token": "123456"},
    )

    assert response.status_code == 200  # the form again, with its errors
    assert response.context["form"].errors
    assert client.get("/admin/").status_code == 302


def test_a_password_alone_does_not_open_the_admin(client, adviser):
    client.force_login(adviser)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_opens_with_password_and_the_current_totp_code(client, db):
    device = TOTPDeviceFactory(user=UserFactory(role=Role.MEDICAL_ADVISER))

    response = client.post(
        "/admin/login/?next=/admin/",
        {
            "username": device.user.email,
            "password": PASSWORD,
            "otp_token": _current_code(device),
        },
    )

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_totp_code_is_refused(client, db):
    device = TOTPDeviceFactory(user=UserFactory(role=Role.MANAGER))
    wrong = f"{(int(_current_code(device)) + 1) % 1_000_000:06d}"

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": device.user.email, "password": PASSWORD, "otp_token": wrong},
    )

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_patient_never_reaches_the_admin(staff_client, patient_user):
    client = staff_client(patient_user)

    response = client.get("/admin/")

    assert response.status_code == 302


def test_enrolment_command_replaces_the_previous_device(adviser):
    from io import StringIO

    from django.core.management import call_command

    old = TOTPDeviceFactory(user=adviser)
    out = StringIO()

    call_command("enroll_totp", adviser.email, stdout=out)

    devices = list(adviser.totpdevice_set.all())
    assert len(devices) == 1
    assert devices[0].pk != old.pk
    assert "otpauth://totp/" in out.getvalue()
