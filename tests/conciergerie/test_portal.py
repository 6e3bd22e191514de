def test_home_page_is_in_french_by_default(client, db):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr">' in html
    assert "Votre conciergerie médicale" in html
    assert 'href="tel:15"' in html  # the emergency numbers are always there


def test_home_page_speaks_english_when_asked(client, db):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert '<html lang="en">' in response.content.decode()
    assert "Your medical concierge" in response.content.decode()


def test_dashboard_asks_for_login(client, db):
    response = client.get("/dashboard/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_dashboard_greets_the_patient(client, patient_user):
    client.force_login(patient_user)

    response = client.get("/dashboard/")

    assert response.status_code == 200
    assert f"Bonjour {patient_user.first_name}" in response.content.decode()


def test_pages_carry_a_strict_content_security_policy(client, db):
    response = client.get("/")

    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
