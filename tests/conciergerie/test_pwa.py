"""The portal installs as a web app and has an offline page."""


def test_the_manifest_describes_an_installable_app(client, db):
    response = client.get("/manifest.webmanifest")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = response.json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/dashboard/"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


def test_every_page_links_the_manifest(client, db):
    html = client.get("/").content.decode()

    assert 'rel="manifest" href="/manifest.webmanifest"' in html


def test_the_service_worker_covers_the_whole_portal_and_precaches_offline(client, db):
    response = client.get("/service-worker.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert '"/offline/"' in response.content.decode()


def test_the_offline_page_is_in_french(client, db):
    response = client.get("/offline/")

    assert response.status_code == 200
    assert "Vous êtes hors ligne" in response.content.decode()
