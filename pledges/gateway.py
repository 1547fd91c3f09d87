"""The Stripe boundary: the only module that imports `stripe`.

Everything the product asks of Stripe goes through a function here that takes and returns plain
values (ids, cents, small dataclasses), so services never handle Stripe objects or exceptions and
tests can read what crossed the boundary. One configured StripeClient per process, with
`max_network_retries=2`: stripe-python then retries 5xx and connection errors itself, with the
same idempotency key.

Every HTTP request to Stripe — each network retry and each page of a listing included — first
takes a slot of the global rate limit (`pledges/ratelimit.py`), in the HTTP client itself, so no
caller can forget it. In a web request the wait is short and then the call raises
`StripeSlotBusy` (a transient error: the page says "try again", a webhook answers 503); in a
worker it raises TimeoutError after STRIPE_SLOT_WAIT_SECONDS.

Never call these inside `transaction.atomic()`: a slow Stripe would hold row locks, and a
rollback cannot take back a charge.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import requests
import stripe
from django.conf import settings

from config.metrics import CHARGES, stripe_timed

# Declines a supporter can do nothing about except use another card.
HARD_DECLINE_CODES = frozenset(
    {
        "lost_card",
        "stolen_card",
        "expired_card",
        "incorrect_number",
        "invalid_number",
        "do_not_honor",
        "pickup_card",
        "restricted_card",
        "card_not_supported",
        "invalid_account",
        "new_account_information_available",
        "fraudulent",
        "invalid_cvc",
        "incorrect_cvc",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "currency_not_supported",
        "transaction_not_allowed",
        "security_violation",
        "revocation_of_authorization",
        "stop_payment_order",
        "card_velocity_exceeded",
    }
)
# Declines that may pass on a later day.
SOFT_DECLINE_CODES = frozenset(
    {
        "insufficient_funds",
        "processing_error",
        "try_again_later",
        "generic_decline",
        "card_declined",
        "issuer_not_available",
        "approve_with_id",
        "reenter_transaction",
        "withdrawal_count_limit_exceeded",
        "call_issuer",
        "not_permitted",
    }
)


class GatewayError(Exception):
    """Stripe could not be reached or refused the request (not a card decline)."""

    def __init__(self, message: str, *, code: str = "", http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class GatewayAuthError(GatewayError):
    """401/403: our keys are wrong or revoked. Stop everything and alert staff."""


class GatewayTransientError(GatewayError):
    """429, 5xx, timeouts, connection resets: the same request may be repeated with the same key."""


class GatewayInvalidRequest(GatewayError):
    """Stripe says the request itself is wrong (a bug or a deleted object): staff must look."""


class ChargeOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    SOFT_DECLINE = "soft_decline"
    HARD_DECLINE = "hard_decline"
    PROCESSING = "processing"


@dataclass(frozen=True)
class ChargeResult:
    outcome: ChargeOutcome
    payment_intent_id: str = ""
    status: str = ""
    amount_cents: int = 0
    code: str = ""
    decline_code: str = ""
    message: str = ""
    client_secret: str = ""
    replayed: bool = False
    # The intent's metadata (pledge_id, campaign_id, attempt): which attempt an intent found by
    # a search belongs to.
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupIntentInfo:
    id: str
    status: str
    client_secret: str = ""
    customer_id: str = ""
    payment_method_id: str = ""
    error_message: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CardInfo:
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str
    amount_cents: int
    payment_intent_id: str = ""
    refund_key: str = ""


def _slot_take() -> None:
    # Imported here: ratelimit builds its StripeSlotBusy on this module's GatewayTransientError.
    from pledges import ratelimit

    ratelimit.stripe_slot_acquire()


class _SlotTakingHttpClient(stripe.RequestsClient):
    """stripe-python's requests client, taking a rate-limit slot before every HTTP request it
    sends (stripe-python calls `request` once per try, so its own retries count too).

    Its requests sessions do not read the environment on every request (`trust_env`): requests
    would otherwise walk all of os.environ twice per call for proxy settings and look for a
    ~/.netrc — a twentieth of a charge's CPU in the payments worker. The proxy the environment
    names for Stripe is read once, when the client is built (`_client`), and the CA bundle is
    stripe-python's own either way."""

    def _session_ready(self) -> None:
        # stripe-python keeps one session per thread here and makes it on first use.
        if getattr(self._thread_local, "session", None) is None:
            session = requests.Session()
            session.trust_env = False
            self._thread_local.session = session

    def request(self, method, url, headers, post_data=None):
        _slot_take()
        self._session_ready()
        return super().request(method, url, headers, post_data)

    def request_stream(self, method, url, headers, post_data=None):
        _slot_take()
        self._session_ready()
        return super().request_stream(method, url, headers, post_data)


@functools.cache
def _client() -> stripe.StripeClient:
    # HTTPS_PROXY / NO_PROXY as they are when the process starts (see _SlotTakingHttpClient).
    found = requests.utils.get_environ_proxies(settings.STRIPE_API_BASE)
    proxy = {k: v for k, v in found.items() if k in ("http", "https")} or None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
        http_client=_SlotTakingHttpClient(
            timeout=settings.STRIPE_TIMEOUT_SECONDS, proxy=cast(Any, proxy)
        ),
    )


def reset_client() -> None:
    """Forget the configured client (tests that point STRIPE_API_BASE elsewhere call this)."""
    _client.cache_clear()


def _plain(obj: Any) -> dict[str, Any]:
    """A Stripe object as a plain (recursive) dict: stripe-python 16 objects are not dicts and
    refuse `.get()`."""
    if obj is None:
        return {}
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    return dict(obj)


def _options(idempotency_key: str | None) -> dict[str, Any]:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


def _translate(exc: stripe.StripeError) -> GatewayError:
    status = getattr(exc, "http_status", None)
    code = getattr(exc, "code", "") or ""
    message = getattr(exc, "user_message", None) or str(exc)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return GatewayAuthError(message, code=code or "authentication", http_status=status)
    if isinstance(exc, stripe.RateLimitError | stripe.APIConnectionError) or (
        status is not None and (status == 429 or status >= 500)
    ):
        return GatewayTransientError(message, code=code or "transient", http_status=status)
    if isinstance(exc, stripe.APIError) and status is None:
        return GatewayTransientError(message, code=code or "api_error", http_status=status)
    if status == 409:
        # A conflict: the same idempotency key is still in flight (`idempotency_key_in_use`,
        # which stripe-python 16 raises as APIError or IdempotencyError with status 409) or a
        # lock timed out. Repeating the same request with the same key is the cure. (The same
        # key with a *different* body is a 400 idempotency_error: a bug, left to staff below.)
        body = exc.json_body if isinstance(exc.json_body, dict) else {}
        body_code = (body.get("error") or {}).get("code") or ""
        return GatewayTransientError(
            message, code=code or body_code or "conflict", http_status=status
        )
    return GatewayInvalidRequest(message, code=code or "invalid_request", http_status=status)


def _call(fn, *args, **kwargs):
    try:
        with stripe_timed(getattr(fn, "__qualname__", "call")):
            return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


# --- customers and saved cards ----------------------------------------------------------------
def customer_create(*, email: str, name: str = "", idempotency_key: str | None = None) -> str:
    """Create a Stripe Customer and return its id."""
    params: dict[str, Any] = {"email": email}
    if name:
        params["name"] = name
    customer = _call(
        _client().v1.customers.create, params=params, options=_options(idempotency_key)
    )
    return customer.id


def setup_intent_create(
    *, customer_id: str, metadata: dict[str, str], idempotency_key: str | None = None
) -> SetupIntentInfo:
    """A SetupIntent to save a card for later off-session charges. Nothing is charged."""
    intent = _call(
        _client().v1.setup_intents.create,
        params={
            "customer": customer_id,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": metadata,
        },
        options=_options(idempotency_key),
    )
    return _setup_info(intent)


def setup_intent_retrieve(setup_intent_id: str) -> SetupIntentInfo:
    return _setup_info(_call(_client().v1.setup_intents.retrieve, setup_intent_id))


def _setup_info(stripe_intent: Any) -> SetupIntentInfo:
    intent = _plain(stripe_intent)
    error = intent.get("last_setup_error") or {}
    pm = intent.get("payment_method") or ""
    if not isinstance(pm, str):
        pm = pm.get("id", "")
    customer = intent.get("customer") or ""
    if not isinstance(customer, str):
        customer = customer.get("id", "")
    return SetupIntentInfo(
        id=intent["id"],
        status=intent.get("status") or "",
        client_secret=intent.get("client_secret") or "",
        customer_id=customer,
        payment_method_id=pm,
        error_message=(error.get("message") or "") if isinstance(error, dict) else "",
        metadata=dict(intent.get("metadata") or {}),
    )


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> CardInfo:
    """Attach a confirmed card to the customer (localstripe does not on confirm; Stripe does,
    and then answers this call idempotently) and return what the supporter sees of it."""
    try:
        pm = _client().v1.payment_methods.attach(
            payment_method_id, params={"customer": customer_id}
        )
    except stripe.InvalidRequestError:
        # Already attached (Stripe) — read it instead.
        pm = _call(_client().v1.payment_methods.retrieve, payment_method_id)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    card = _plain(pm).get("card") or {}
    return CardInfo(
        brand=card.get("brand") or "",
        last4=card.get("last4") or "",
        exp_month=card.get("exp_month") or None,
        exp_year=card.get("exp_year") or None,
    )


def payment_method_detach(*, payment_method_id: str) -> None:
    """Remove a saved card from its customer (a canceled pledge, a replaced card), so Stripe
    no longer holds a card we have no reason to charge. Already detached or gone is fine."""
    try:
        _client().v1.payment_methods.detach(payment_method_id)
    except stripe.InvalidRequestError:
        return
    except stripe.StripeError as exc:
        raise _translate(exc) from exc


def payment_method_usable(*, payment_method_id: str, customer_id: str) -> bool:
    """Whether Stripe still holds this card, attached to this customer (a local Stripe started
    from scratch has forgotten every card saved before)."""
    if not payment_method_id or not customer_id:
        return False
    try:
        pm = _client().v1.payment_methods.retrieve(payment_method_id)
    except stripe.InvalidRequestError:
        return False
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    customer = _plain(pm).get("customer") or ""
    if not isinstance(customer, str):
        customer = customer.get("id", "")
    return customer == customer_id


def demo_card_save(*, email: str, number: str = "4242424242424242") -> tuple[str, str, CardInfo]:
    """A customer with a test card saved for off-session charges, made server-side — only a
    local Stripe (localstripe) takes a card number from a server, so this refuses real Stripe.
    For the demo data of `make run`. Returns (customer id, payment method id, card)."""
    if not settings.STRIPE_LOCAL_COMPAT:
        raise GatewayInvalidRequest("Test cards are saved only at a local Stripe.")
    customer_id = customer_create(email=email)
    pm = _call(
        _client().v1.payment_methods.create,
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        },
    )
    setup = setup_intent_create(customer_id=customer_id, metadata={"demo": "true"})
    _call(_client().v1.setup_intents.confirm, setup.id, params={"payment_method": pm.id})
    card = payment_method_attach(payment_method_id=pm.id, customer_id=customer_id)
    return customer_id, pm.id, card


# --- charges ----------------------------------------------------------------------------------
def _payment_intent_create(params: dict[str, Any], idempotency_key: str) -> Any:
    """Create (and confirm) a PaymentIntent; its JSON comes back as a plain dict with the
    response's headers (`_IntentAnswer`). The same request as `v1.payment_intents.create`, the
    same errors and retries, without building a StripeObject tree that `_charge_result` would
    turn straight back into a dict (about a tenth of a charge's CPU in the payments worker)."""
    response = _client().raw_request(
        "post", "/v1/payment_intents", **params, **_options(idempotency_key)
    )
    # The headers as requests gives them: a case-insensitive mapping.
    return _IntentAnswer(data=response.data, headers=response.headers or {})


@dataclass(frozen=True)
class _IntentAnswer:
    data: dict[str, Any]
    headers: Mapping[str, str]


def _charge_result(stripe_intent: Any) -> ChargeResult:
    if isinstance(stripe_intent, _IntentAnswer):
        intent, headers = stripe_intent.data, stripe_intent.headers
    else:
        intent = _plain(stripe_intent)
        response = getattr(stripe_intent, "last_response", None)
        headers = (response.headers or {}) if response is not None else {}
    status = intent.get("status") or ""
    if status == "succeeded":
        outcome = ChargeOutcome.SUCCEEDED
    elif status in {"requires_action", "requires_confirmation"}:
        outcome = ChargeOutcome.REQUIRES_ACTION
    elif status == "processing":
        outcome = ChargeOutcome.PROCESSING
    elif status == "requires_payment_method" and _needs_authentication(intent):
        # Real Stripe, off-session: the bank wants 3-D Secure, so the intent goes back to
        # requires_payment_method with this error (localstripe says requires_action instead).
        # The supporter can still confirm it on-session with the saved card.
        outcome = ChargeOutcome.REQUIRES_ACTION
    else:  # requires_payment_method: the last attempt was declined
        error = intent.get("last_payment_error") or {}
        decline = error.get("decline_code") or ""
        outcome = (
            ChargeOutcome.HARD_DECLINE
            if decline in HARD_DECLINE_CODES
            else ChargeOutcome.SOFT_DECLINE
        )
        return ChargeResult(
            outcome=outcome,
            payment_intent_id=intent["id"],
            status=status,
            amount_cents=int(intent.get("amount") or 0),
            code=error.get("code") or "",
            decline_code=decline,
            message=error.get("message") or "",
            metadata=dict(intent.get("metadata") or {}),
        )
    replayed = headers.get("Idempotent-Replayed") == "true"
    return ChargeResult(
        outcome=outcome,
        payment_intent_id=intent["id"],
        status=status,
        amount_cents=int(intent.get("amount_received") or intent.get("amount") or 0),
        client_secret=intent.get("client_secret") or "",
        replayed=replayed,
        metadata=dict(intent.get("metadata") or {}),
    )


def _needs_authentication(intent: dict[str, Any]) -> bool:
    error = intent.get("last_payment_error") or {}
    return "authentication_required" in (error.get("code"), error.get("decline_code"))


def _decline_result(exc: stripe.CardError) -> ChargeResult:
    code = exc.code or ""
    error = (exc.json_body or {}).get("error", {}) if isinstance(exc.json_body, dict) else {}
    decline = error.get("decline_code") or ""
    pi = error.get("payment_intent") or {}
    if code == "authentication_required" or decline == "authentication_required":
        outcome = ChargeOutcome.REQUIRES_ACTION
    elif decline in HARD_DECLINE_CODES or code in HARD_DECLINE_CODES:
        outcome = ChargeOutcome.HARD_DECLINE
    else:
        outcome = ChargeOutcome.SOFT_DECLINE
    return ChargeResult(
        outcome=outcome,
        payment_intent_id=pi.get("id", "") if isinstance(pi, dict) else "",
        status=pi.get("status", "") if isinstance(pi, dict) else "",
        code=code,
        decline_code=decline,
        message=getattr(exc, "user_message", None) or str(exc),
        client_secret=pi.get("client_secret", "") if isinstance(pi, dict) else "",
    )


def payment_intent_charge_off_session(
    *,
    amount_cents: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    metadata: dict[str, str],
    idempotency_key: str,
    description: str = "",
) -> ChargeResult:
    """Charge a saved card with the supporter away. Card declines come back as a result;
    transport and account problems raise GatewayError subclasses (see _translate)."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency,
        "customer": customer_id,
        "payment_method": payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
    }
    if description and not settings.STRIPE_LOCAL_COMPAT:
        params["description"] = description
    try:
        with stripe_timed("charge_off_session"):
            intent = _payment_intent_create(params, idempotency_key)
    except stripe.CardError as exc:
        result = _decline_result(exc)
        CHARGES.labels(outcome=str(result.outcome)).inc()
        return result
    except stripe.StripeError as exc:
        error = _translate(exc)
        CHARGES.labels(outcome=f"error:{type(error).__name__}").inc()
        raise error from exc
    result = _charge_result(intent)
    CHARGES.labels(outcome=str(result.outcome)).inc()
    return result


def payment_intent_retrieve(payment_intent_id: str) -> ChargeResult:
    return _charge_result(_call(_client().v1.payment_intents.retrieve, payment_intent_id))


def payment_intents_for_pledge(pledge_id: int, *, customer_id: str = "") -> list[ChargeResult]:
    """Every PaymentIntent Stripe holds for a pledge, found by its `pledge_id` metadata.

    Lists the customer's intents, which Stripe answers from its own records at once — not the
    search API, which Stripe documents as eventually consistent (an intent created a moment ago
    may not be found yet, and a second charge would look safe). localstripe cannot filter a
    list by customer, so there every intent is listed and filtered (fine for test sizes).
    """
    client = _client()
    if customer_id and not settings.STRIPE_LOCAL_COMPAT:
        page = _call(client.v1.payment_intents.list, params={"customer": customer_id, "limit": 100})
    elif not settings.STRIPE_LOCAL_COMPAT:  # no customer to list by: search is all there is
        found = _call(
            client.v1.payment_intents.search,
            params={"query": f"metadata['pledge_id']:'{int(pledge_id)}'", "limit": 100},
        )
        return [_charge_result(pi) for pi in found.data]
    else:
        page = _call(client.v1.payment_intents.list, params={"limit": 100})
    return [
        _charge_result(pi)
        for pi in page.auto_paging_iter()
        if (_plain(pi).get("metadata") or {}).get("pledge_id") == str(pledge_id)
    ]


def payment_intent_charge_on_session(
    *,
    amount_cents: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    metadata: dict[str, str],
    idempotency_key: str,
) -> ChargeResult:
    """Charge a card with the supporter present (the new-card page). If the bank wants 3-D
    Secure the result is REQUIRES_ACTION with a client secret for Stripe.js to finish."""
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": currency,
        "customer": customer_id,
        "payment_method": payment_method_id,
        "confirm": True,
        "metadata": metadata,
    }
    try:
        intent = _payment_intent_create(params, idempotency_key)
    except stripe.CardError as exc:
        return _decline_result(exc)
    except stripe.StripeError as exc:
        raise _translate(exc) from exc
    return _charge_result(intent)


def payment_intent_cancel(payment_intent_id: str) -> ChargeResult:
    """Cancel an intent nobody should confirm any more (a 3-D Secure request the supporter
    replaced with a new card). Stripe refuses if it already succeeded: the caller re-reads it."""
    return _charge_result(_call(_client().v1.payment_intents.cancel, payment_intent_id))


# --- refunds ----------------------------------------------------------------------------------
def refund_create(*, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> RefundInfo:
    """Refund part of a payment. The key also goes into the refund's metadata, so a refund can
    be found again after Stripe has forgotten the key (refunds_for_intent)."""
    refund = _call(
        _client().v1.refunds.create,
        params={
            "payment_intent": payment_intent_id,
            "amount": amount_cents,
            "metadata": {"refund_key": idempotency_key},
        },
        options=_options(idempotency_key),
    )
    return _refund_info(refund, payment_intent_id)


def _refund_info(refund: Any, payment_intent_id: str = "") -> RefundInfo:
    data = _plain(refund)
    return RefundInfo(
        id=data["id"],
        # Stripe: pending, requires_action, succeeded, failed or canceled.
        status=data.get("status") or "",
        amount_cents=int(data.get("amount") or 0),
        payment_intent_id=payment_intent_id or str(data.get("payment_intent") or ""),
        refund_key=(data.get("metadata") or {}).get("refund_key", ""),
    )


def refund_retrieve(refund_id: str) -> RefundInfo:
    return _refund_info(_call(_client().v1.refunds.retrieve, refund_id))


def refunds_for_intent(payment_intent_id: str) -> list[RefundInfo]:
    """Every refund Stripe holds on a payment (a list: consistent, unlike search)."""
    client = _client()
    if settings.STRIPE_LOCAL_COMPAT:  # localstripe cannot filter the list
        page = _call(client.v1.refunds.list, params={"limit": 100})
    else:
        page = _call(
            client.v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100}
        )
    found = [_refund_info(r) for r in page.auto_paging_iter()]
    return [r for r in found if r.payment_intent_id == payment_intent_id]


# --- what a webhook may only re-read (never trust its payload) ----------------------------
@dataclass(frozen=True)
class ChargeState:
    """A charge as Stripe holds it now: which intent it belongs to, and how much of it was
    captured and refunded."""

    id: str
    payment_intent_id: str
    amount_cents: int
    amount_captured_cents: int
    amount_refunded_cents: int
    paid: bool


def charge_retrieve(charge_id: str) -> ChargeState:
    data = _plain(_call(_client().v1.charges.retrieve, charge_id))
    pi = data.get("payment_intent") or ""
    if isinstance(pi, dict):
        pi = pi.get("id", "")
    amount = int(data.get("amount") or 0)
    captured = data.get("amount_captured")
    return ChargeState(
        id=data.get("id") or charge_id,
        payment_intent_id=pi,
        amount_cents=amount,
        amount_captured_cents=amount if captured is None else int(captured),
        amount_refunded_cents=int(data.get("amount_refunded") or 0),
        paid=bool(data.get("paid")),
    )


@dataclass(frozen=True)
class DisputeState:
    """A dispute as Stripe holds it now (`status`: warning_needs_response, needs_response,
    under_review, won, lost, warning_closed, ...)."""

    id: str
    status: str
    amount_cents: int
    payment_intent_id: str
    charge_id: str
    reason: str = ""


def dispute_retrieve(dispute_id: str) -> DisputeState:
    data = _plain(_call(_client().v1.disputes.retrieve, dispute_id))

    def _id(value) -> str:
        return value.get("id", "") if isinstance(value, dict) else (value or "")

    payment_intent_id = _id(data.get("payment_intent"))
    charge_id = _id(data.get("charge"))
    if not payment_intent_id and charge_id:
        payment_intent_id = charge_retrieve(charge_id).payment_intent_id
    return DisputeState(
        id=data.get("id") or dispute_id,
        status=data.get("status") or "",
        amount_cents=int(data.get("amount") or 0),
        payment_intent_id=payment_intent_id,
        charge_id=charge_id,
        reason=data.get("reason") or "",
    )


# --- webhooks ---------------------------------------------------------------------------------
class WebhookSignatureError(Exception):
    """The payload was not signed with our webhook secret (or is not a Stripe event)."""


class WebhookPayloadError(WebhookSignatureError):
    """Signed, but not an event we can read: no id, type or `data.object`."""


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str
    object_type: str
    data: dict[str, Any]


def webhook_event_verify(*, payload: bytes, signature: str | None) -> WebhookEvent:
    """Check the Stripe-Signature header and parse the event, or raise WebhookSignatureError."""
    try:
        event = _client().construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError) as exc:
        raise WebhookSignatureError(str(exc)) from exc
    try:
        data = _plain(event["data"]["object"])
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        raise WebhookPayloadError("the event has no data.object") from exc
    # A stripe-python 16 Event is an object, not a dict: it has no .get().
    if not data or not getattr(event, "id", "") or not getattr(event, "type", ""):
        raise WebhookPayloadError("the event has no id, type or data.object")
    return WebhookEvent(
        id=event.id,
        type=event.type,
        object_id=data.get("id", ""),
        object_type=data.get("object", ""),
        data=data,
    )
