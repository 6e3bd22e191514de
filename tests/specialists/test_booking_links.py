"""The directory's slot links carry their time encoded, offset sign included."""

import html
import re
from urllib.parse import parse_qs, urlsplit

from django.utils.dateparse import parse_datetime

from tests.appointments.factories import open_practitioner


def test_a_slot_link_keeps_the_plus_sign_of_its_offset(client, patient):
    practitioner = open_practitioner()
    client.force_login(patient.user)

    page = client.get(practitioner.get_absolute_url()).content.decode()

    links = [
        html.unescape(href)
        for href in re.findall(r'href="([^"]*starts_at=[^"]*)"', page)
    ]
    assert links
    query = urlsplit(links[0]).query
    assert "+" not in query
    assert "%2B" in query
    starts_at = parse_datetime(parse_qs(query)["starts_at"][0])
    assert starts_at is not None
    assert starts_at.utcoffset() is not None
    assert client.get(links[0]).status_code == 200
