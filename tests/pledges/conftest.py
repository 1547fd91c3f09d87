"""Fixtures the pledges tests share."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.pledges.stripe_disputes import stripe_disputes_fixture  # noqa: F401 - the stripe_disputes fixture


@pytest.fixture
def staff():
    """Platform staff (a superuser) who approves collection and decides reviews."""
    return UserFactory(email="staff@example.org", is_staff=True, is_superuser=True)
