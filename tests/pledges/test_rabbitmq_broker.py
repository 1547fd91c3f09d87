"""RabbitMQ as the broker (issue 14: "with RabbitMQ as an alternative broker if you support it").

With CELERY_BROKER_URL naming RabbitMQ, a real Celery worker consuming production's queues
settles a campaign end to end: approval (from another process) queues `collect_campaign`, the
chain marks the pledges due and hands their charges to `payments`, the worker charges each
exactly once, and /metrics reads each queue's depth from RabbitMQ. Redis stays the cache here
as in production (rate limit, page versions); this run's queues live in a vhost of their own,
made for it and deleted after it.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess

import pytest

from campaigns.models import Campaign
from config.metrics import QUEUES, _amqp_depths
from tests.pledges.settlement_support import (
    assert_ledger_clean,
)
from tests.pledges.test_worker_killed import (  # noqa: F401 (the fixture is used by name)
    approved_in_another_process,
    awaiting_approval,
    wait_for_paid,
    workers,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PLEDGES = 6


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(  # noqa: S603 (a fixed tool, fixed arguments)
        ["rabbitmqctl", *args], check=True, capture_output=True, timeout=60
    )


@pytest.fixture
def rabbitmq_vhost():
    """An amqp:// URL on a fresh RabbitMQ vhost, deleted afterwards."""
    with socket.socket() as s:
        s.settimeout(1)
        if s.connect_ex(("127.0.0.1", 5672)) != 0 or not shutil.which("rabbitmqctl"):
            pytest.skip("needs RabbitMQ on 127.0.0.1:5672 and rabbitmqctl")
    vhost = f"rr-test-{secrets.token_hex(4)}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (subprocess.CalledProcessError, PermissionError) as exc:
        pytest.skip(f"cannot make a RabbitMQ vhost here: {exc}")
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def test_a_campaign_settles_through_rabbitmq_each_pledge_charged_once(
    workers,  # noqa: F811 (the fixture imported above)
    chaos,
    rabbitmq_vhost,
    tmp_path,
):
    workers.env["CELERY_BROKER_URL"] = rabbitmq_vhost
    staff, campaign, pledges = awaiting_approval(PLEDGES)

    worker = workers.start("rabbit")
    approved_in_another_process(workers, campaign=campaign, staff=staff)
    wait_for_paid(campaign, PLEDGES, seconds=60, procs=[worker])

    banner = (tmp_path / "logs" / "rabbit.log").read_text(errors="replace")
    assert f"amqp://guest:**@127.0.0.1:5672/{rabbitmq_vhost.rsplit('/', 1)[1]}" in banner
    ledger = assert_ledger_clean(chaos, campaign)
    assert sorted(ledger["charges_by_metadata"]) == sorted(str(p.pk) for p in pledges)
    assert all(len(pis) == 1 for pis in ledger["charges_by_metadata"].values())
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SUCCEEDED
    assert campaign.collected_cents == sum(1500 + i for i in range(PLEDGES))

    # The operators' queue depth comes from RabbitMQ: every queue reported, nothing left
    # waiting on `payments` once everyone is paid.
    depths = dict(_amqp_depths(rabbitmq_vhost))
    assert set(depths) == set(QUEUES)
    assert depths["payments"] == 0
