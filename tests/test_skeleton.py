"""The platform's plumbing: the health check. (The state machines are tested in
tests/pledges/test_transitions.py.)"""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"] is True
    assert set(body) == {"ok", "database", "broker"}
