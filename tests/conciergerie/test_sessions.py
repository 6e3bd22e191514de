import time

from conciergerie.accounts.middleware import SESSION_STARTED_KEY


def test_staff_sessions_expire_after_fifteen_idle_minutes(staff_client, adviser):
    client = staff_client(adviser)

    client.get("/admin/")

    assert client.session.get_expiry_age() == 15 * 60


def test_patient_sessions_expire_after_thirty_idle_minutes(client, patient_user):
    client.force_login(patient_user)

    client.get("/dashboard/")

    assert client.session.get_expiry_age() == 30 * 60


def test_staff_are_signed_out_after_twelve_hours_whatever_they_do(
    staff_client, adviser
):
    client = staff_client(adviser)
    session = client.session
    session[SESSION_STARTED_KEY] = int(time.time()) - 12 * 3600 - 1
    session.save()

    client.get("/admin/")

    assert "_auth_user_id" not in client.session
