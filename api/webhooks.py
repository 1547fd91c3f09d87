"""Outgoing webhooks, signed as the Standard Webhooks specification says.

Each delivery is a POST of the event's JSON with the headers `webhook-id` (the event id: the
same on every retry, so the receiver can drop a repeat), `webhook-timestamp` (seconds) and
`webhook-signature` (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the endpoint's
secret), made by the `standardwebhooks` library receivers use to verify.

Retries: the first POST goes out right after the event is recorded; a failure (no answer in
WEBHOOK_TIMEOUT_SECONDS, or any status outside 2xx) is tried again after 5 s, 5 min, 30 min,
2 h, 5 h, 10 h and finally at the 24-hour mark, then given up. The schedule lives in the
database (`next_attempt_at`) and a beat sweep every minute sends what is due, so a worker
restart loses nothing. An endpoint that has failed without a single success for 24 hours is
disabled and its organization's members are emailed.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from api.models import (
    EVENT_TYPE_NAMES,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from campaigns.models import Organization

logger = logging.getLogger(__name__)

RETRY_DELAYS = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
)
GIVE_UP_AFTER = dt.timedelta(hours=24)
DISABLE_AFTER = dt.timedelta(hours=24)
# A claimed delivery is not sent again by another worker for this long.
CLAIM_LEASE = dt.timedelta(minutes=2)


# --- endpoints --------------------------------------------------------------------------------
def webhook_url_validate(url: str) -> None:
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(_("Enter the full address of your endpoint, starting https://."))
    if settings.WEBHOOK_REQUIRE_HTTPS and parts.scheme != "https":
        raise ValidationError(_("Webhook endpoints must use HTTPS."))
    if not _host_is_public(parts.hostname):
        raise ValidationError(
            _("This address is not reachable from the internet; give your endpoint's public URL.")
        )


def _host_is_public(host: str) -> bool:
    """Whether every address `host` resolves to is a public one (see `_addresses_checked`);
    any host when WEBHOOK_ALLOW_PRIVATE_HOSTS (a name need not resolve yet to be saved)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return True
    return bool(_addresses_checked(host, None))


def _addresses_checked(host: str, port: int | None) -> list[tuple]:
    """The addresses (getaddrinfo tuples) to connect to for `host`, resolved once: empty if the
    name does not resolve or, unless WEBHOOK_ALLOW_PRIVATE_HOSTS, if any of them is not a
    public one. An endpoint may not point into our own network (loopback, private ranges,
    cloud metadata): a webhook must not be a way to make our servers call internal services.
    The POST then connects to exactly these addresses, so a name that answers differently the
    second time it is asked (DNS rebinding) cannot steer it elsewhere."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    if not infos:
        return []
    if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS and not all(
        ipaddress.ip_address(info[4][0].split("%", 1)[0]).is_global for info in infos
    ):
        return []
    return infos


def _connect(infos: list[tuple], timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    error: OSError | None = None
    for family, type_, proto, _canonname, sockaddr in infos:
        sock = socket.socket(family, type_, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked addresses; the Host header still names the endpoint's host."""

    def __init__(self, host: str, port: int, infos: list[tuple], timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._infos = infos

    def connect(self):
        self.sock = _connect(self._infos, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses; SNI and the certificate check use the endpoint's host
    name, as for any HTTPS request."""

    def __init__(self, host: str, port: int, infos: list[tuple], timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._infos = infos

    def connect(self):
        sock = _connect(self._infos, self.timeout)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def webhook_secret_new() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_endpoint_save(
    *,
    endpoint: WebhookEndpoint | None = None,
    organization: Organization,
    url: str,
    description: str,
    events: list[str],
    is_active: bool = True,
    actor=None,
) -> WebhookEndpoint:
    """Create or update an endpoint. A new one gets its signing secret here; turning a disabled
    endpoint back on clears its failure record."""
    webhook_url_validate(url)
    unknown = set(events) - EVENT_TYPE_NAMES
    if unknown:
        raise ValidationError(_("Unknown event types: %(types)s") % {"types": sorted(unknown)})
    encoded = "," + ",".join(sorted(set(events))) + ","
    if endpoint is None:
        endpoint = WebhookEndpoint(
            organization=organization,
            secret=webhook_secret_new(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
    reactivated = is_active and not endpoint.is_active
    endpoint.organization = organization
    endpoint.url = url
    endpoint.description = description
    endpoint.events = encoded
    endpoint.is_active = is_active
    if reactivated:
        endpoint.failing_since = None
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """Give the endpoint a new signing secret and return it (to be shown once). Deliveries
    from now on are signed with it; the old one stops verifying at once."""
    endpoint.secret = webhook_secret_new()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=endpoint.secret)
    return endpoint.secret


# --- events -----------------------------------------------------------------------------------
def _supporter_data(event_type: str, object_id: int) -> tuple[Organization, dict] | None:
    from api import selectors
    from api import serializers as s
    from supporters.models import Supporter

    supporter = Supporter.objects.select_related("campaign__organization").filter(pk=object_id)
    supporter = supporter.first()
    if supporter is None:
        return None
    organization = supporter.campaign.organization
    person = selectors.people_for_organization(organization=organization).filter(pk=supporter.pk)
    person = person.first()
    if event_type == "supporter.left":
        # Gone from the rule by leaving: told only about someone it was allowed to see.
        if not (supporter.consent_org and supporter.confirmed_at):
            return None
    elif person is None:
        return None  # no consent (or not confirmed): no event at all, not even an id
    data = {
        "identifiers": [f"{s.ID_PREFIX}:person-{supporter.pk}"],
        "fundraising_page": f"{s.ID_PREFIX}:fundraising_page-{supporter.campaign_id}",
        "tier": supporter.tier,
        "consented": True,
    }
    if person is not None:
        data["person"] = s.PersonSerializer(person, context={}).data
    return organization, data


def _payload_data(event_type: str, object_id: int) -> tuple[Organization, dict] | None:
    """(organization, data) for the event, from the database as it is now; None if the object
    is gone or the event is about a person the organization may not hear about. People appear
    only with the organization's consent (the CSV export's and the API's rule); no card data
    ever. Called when the event is recorded and again for every POST, so a retry never sends
    what consent withdrawn since forbids."""
    from actions.models import ActionCompletion
    from api import selectors
    from api import serializers as s
    from campaigns.models import Campaign
    from pledges.models import Pledge

    kind = event_type.split(".", 1)[0]
    if kind == "supporter":
        return _supporter_data(event_type, object_id)
    if kind == "pledge":
        pledge = Pledge.objects.select_related("campaign__organization", "supporter").filter(
            pk=object_id
        )
        pledge = pledge.first()
        if pledge is None:
            return None
        organization = pledge.campaign.organization
        visible = selectors.consented_supporter_ids(
            organization=organization, supporter_ids={pledge.supporter_id}
        )
        data = s.DonationSerializer(pledge, context={"visible_people": visible}).data
        return organization, dict(data)
    if kind == "campaign":
        campaign = Campaign.objects.select_related("organization").filter(pk=object_id).first()
        if campaign is None:
            return None
        return campaign.organization, dict(s.FundraisingPageSerializer(campaign, context={}).data)
    if kind in ("action", "rsvp"):
        completion = (
            ActionCompletion.objects.select_related("action__campaign__organization", "supporter")
            .filter(pk=object_id)
            .first()
        )
        if completion is None:
            return None
        action = completion.action
        organization = action.campaign.organization
        visible = selectors.consented_supporter_ids(
            organization=organization, supporter_ids={completion.supporter_id}
        )
        data = {
            "identifiers": [f"{s.ID_PREFIX}:action-taken-{completion.pk}"],
            "action": {
                "identifiers": [f"{s.ID_PREFIX}:action-{action.pk}"],
                "kind": action.kind,
                "title": action.title,
            },
            "created_date": completion.created_at.isoformat(),
            "fundraising_page": f"{s.ID_PREFIX}:fundraising_page-{action.campaign_id}",
        }
        if completion.supporter_id in visible:
            data["person"] = s.api_link({}, "person-detail", pk=completion.supporter_id)
        return organization, data
    return None


def webhook_event_record(
    *, event_id: str, event_type: str, object_id: int, occurred_at: str
) -> list[int]:
    """Record the event once and one delivery per subscribed active endpoint of its
    organization. Returns the ids of deliveries to send now (none if the event was recorded
    before: a task delivered twice fans out once)."""
    if WebhookEvent.objects.filter(event_id=event_id).exists():
        return []
    built = _payload_data(event_type, object_id)
    if built is None:
        return []
    organization, data = built
    endpoints = list(
        WebhookEndpoint.objects.filter(
            organization=organization, is_active=True, events__contains=f",{event_type},"
        )
    )
    if not endpoints:
        return []
    payload = {"type": event_type, "timestamp": occurred_at, "data": data}
    now = timezone.now()
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                event_id=event_id,
                organization=organization,
                type=event_type,
                object_id=object_id,
                payload=payload,
            )
            deliveries = WebhookDelivery.objects.bulk_create(
                WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
                for endpoint in endpoints
            )
    except IntegrityError:
        return []  # the same event recorded by a concurrent run of the task
    return [d.pk for d in deliveries]


# --- delivery ---------------------------------------------------------------------------------
def _claim(delivery_id: int, now: dt.datetime) -> WebhookDelivery | None:
    won = WebhookDelivery.objects.filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True),
        pk=delivery_id,
        status=WebhookDelivery.Status.PENDING,
        endpoint__is_active=True,
    ).update(next_attempt_at=now + CLAIM_LEASE)
    if not won:
        return None
    return WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)


def _payload_now(event: WebhookEvent) -> dict | None:
    """What to POST for the event now: its data built afresh (None: not to be sent any more).
    An event recorded before object_id was kept is sent as recorded."""
    if event.object_id is None:
        return event.payload
    built = _payload_data(event.type, event.object_id)
    if built is None or built[0].pk != event.organization_id:
        return None
    return {"type": event.type, "timestamp": event.payload.get("timestamp"), "data": built[1]}


def webhook_sign(*, secret: str, event_id: str, body: str, when: dt.datetime) -> dict[str, str]:
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id=event_id, timestamp=when, data=body),
    }


def _error_text(reason: str) -> str:
    """What organizers see of a failed POST: never the network's own words ("Connection
    refused", a resolver message), which would make the endpoint form a probe of hosts and
    ports. The detail goes to our log."""
    if reason == "not_public":
        return _("The address is not a public one.")
    return _("No answer from the endpoint (no connection, or none within %(seconds)s seconds).") % {
        "seconds": f"{settings.WEBHOOK_TIMEOUT_SECONDS:g}"
    }


def _post(url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST `body` to `url`, connecting only to the addresses checked for it. A redirect is an
    answer outside 2xx (a failure), never followed: following it could lead the POST,
    signature and all, to an address nobody checked."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    try:
        port = parts.port or (443 if https else 80)
    except ValueError:
        return None, _error_text("unreachable")
    infos = _addresses_checked(parts.hostname or "", port)
    if not infos:
        return None, _error_text("not_public")
    connection_class = _PinnedHTTPSConnection if https else _PinnedHTTPConnection
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    connection = connection_class(parts.hostname, port, infos, timeout)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request(
            "POST",
            path,
            body=body.encode(),
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Rallyround-Webhooks/1",
                **headers,
            },
        )
        response = connection.getresponse()
        response.read(64 * 1024)
        return response.status, ""
    except (OSError, http.client.HTTPException) as exc:  # timeouts, TLS and refusals are OSError
        logger.info("webhook POST to %s failed: %r", parts.hostname, exc)
        return None, _error_text("unreachable")
    finally:
        connection.close()


def webhook_delivery_send(*, delivery_id: int) -> str:
    """Send one delivery if it is due and nobody else is sending it. Returns "delivered",
    "retry", "gave_up" or "skipped". Never inside a transaction: the POST can take seconds."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    endpoint, event = delivery.endpoint, delivery.event
    payload = _payload_now(event)
    if payload is None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED,
            next_attempt_at=None,
            last_error=_("Not sent: the person withdrew consent or the record is gone."),
        )
        return "gave_up"
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = webhook_sign(secret=endpoint.secret, event_id=event.event_id, body=body, when=now)
    started = time.monotonic()
    status_code, error = _post(endpoint.url, body, headers)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = f"HTTP {status_code}"
    now = timezone.now()  # the POST took time: decide on the clock as it is now
    number = delivery.attempt_count + 1
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            status_code=status_code,
            response_ms=elapsed_ms,
            error=error,
        )
        fields = {
            "attempt_count": number,
            "last_status_code": status_code,
            "last_response_ms": elapsed_ms,
            "last_error": error,
        }
        if ok:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.SUCCEEDED,
                delivered_at=now,
                next_attempt_at=None,
                **fields,
            )
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            return "delivered"
        deadline = delivery.created_at + GIVE_UP_AFTER
        if now >= deadline:
            outcome = "gave_up"
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **fields
            )
        else:
            outcome = "retry"
            delay = RETRY_DELAYS[min(number - 1, len(RETRY_DELAYS) - 1)]
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=min(now + delay, deadline), **fields
            )
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now
        )
    endpoint.refresh_from_db()
    if endpoint.failing_since and now - endpoint.failing_since >= DISABLE_AFTER:
        webhook_endpoint_disable(
            endpoint=endpoint,
            reason=_("No successful delivery for 24 hours (last: %(error)s).") % {"error": error},
        )
    return outcome


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Turn the endpoint off, give up its pending deliveries and tell the organization's
    members, once."""
    from supporters.emails import email_enqueue

    now = timezone.now()
    with transaction.atomic():
        won = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
            is_active=False, disabled_at=now, disabled_reason=reason[:300]
        )
        if not won:
            return False
        WebhookDelivery.objects.filter(
            endpoint=endpoint, status=WebhookDelivery.Status.PENDING
        ).update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
        recipients = sorted(
            set(endpoint.organization.members.values_list("email", flat=True)) - {""}
        )
        if recipients:
            email_enqueue(
                to=recipients,
                template="webhook_endpoint_disabled",
                context={
                    "organization_name": endpoint.organization.name,
                    "url": endpoint.url,
                    "reason": reason,
                    "admin_url": settings.SITE_URL
                    + reverse("admin:api_webhookendpoint_change", args=[endpoint.pk]),
                },
            )
    endpoint.refresh_from_db()
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    return True


def webhook_deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Ids of deliveries whose next try is due (for the beat sweep to hand to workers)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__is_active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
