"""Payment attempts: the one place a PaymentAttempt row is written and Stripe's answer becomes
state.

`attempt_open` writes attempt n of a pledge with its deterministic idempotency key (callers
commit it before Stripe sees the key); `attempt_record` records what Stripe said about an
attempt, whoever brings the answer (settlement task, reconciler, webhook, the supporter's
browser); `attempt_cancel` closes an attempt that will never be answered; `pledge_intent_close`
makes sure a PaymentIntent shown for 3-D Secure can no longer be paid.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.templatetags.rallyround import money
from pledges import gateway, rowsql
from pledges.gateway import (
    ChargeOutcome,
    ChargeResult,
    GatewayError,
)
from pledges.models import PAYABLE, PaymentAttempt, Pledge
from pledges.services.notify import (
    pledge_notify,
    pledge_receipt_owed,
    staff_alert,
)
from pledges.services.transitions import (
    pledge_log,
    pledge_transition,
)

log = logging.getLogger(__name__)

S = Pledge.Status
C = Campaign.Status
Outcome = PaymentAttempt.Outcome


MAX_TRIES = 3

# After the n-th soft decline, try again this much later.
RETRY_DELAYS = {1: dt.timedelta(days=1), 2: dt.timedelta(days=3)}


class SettlementError(Exception):
    """A request the settlement rules refuse (a sentence for staff)."""


class IntentStillOpen(SettlementError):
    """Stripe would not confirm that an earlier payment request is closed."""


def attempt_key(pledge_id: int, number: int) -> str:
    return f"pledge-{pledge_id}-attempt-{number}"


def attempt_open(*, pledge: Pledge, number: int, on_session: bool = False) -> PaymentAttempt:
    """Write attempt `number` of `pledge` with its deterministic idempotency key, for the
    pledge's amount. The only code that creates a PaymentAttempt: callers do it in the same
    transaction that moves the pledge to CHARGING, so the key exists in our database before
    Stripe ever sees it."""
    attempt = PaymentAttempt(
        pledge=pledge,
        number=number,
        idempotency_key=attempt_key(pledge.pk, number),
        amount_cents=pledge.amount_cents,
        currency=pledge.currency,
        on_session=on_session,
    )
    if rowsql.enabled(PaymentAttempt):
        return rowsql.row_insert(attempt)  # a charge's path: built once (pledges/rowsql.py)
    attempt.save(force_insert=True)
    return attempt


def attempt_cancel(
    *,
    attempt_id: int,
    message: str,
    now: dt.datetime | None = None,
    still: tuple[str, ...] = (Outcome.PENDING,),
) -> int:
    """Close an attempt that will never be answered (another attempt paid, Stripe never got
    it, its 3-D Secure intent was canceled) — only while its outcome is one of `still`.
    Returns 1 if it was closed, 0 if it had moved on."""
    return PaymentAttempt.objects.filter(pk=attempt_id, outcome__in=still).update(
        outcome=Outcome.CANCELED, message=message, finished_at=now or timezone.now()
    )


def attempt_note(attempt: PaymentAttempt, *, code: str, message: str) -> None:
    PaymentAttempt.objects.filter(pk=attempt.pk, outcome=Outcome.PENDING).update(
        error_code=code[:64], message=message, updated_at=timezone.now()
    )


def intent_attempt(*, pledge_id: int, result: ChargeResult) -> PaymentAttempt | None:
    """The attempt a PaymentIntent belongs to: by its id, else by the metadata we set on it."""
    if result.payment_intent_id:
        found = PaymentAttempt.objects.filter(
            pledge_id=pledge_id, stripe_payment_intent_id=result.payment_intent_id
        ).first()
        if found is not None:
            return found
    number = str(result.metadata.get("attempt", ""))
    if number.isdigit():
        return PaymentAttempt.objects.filter(pledge_id=pledge_id, number=int(number)).first()
    return None


_RESULT_TO_OUTCOME = {
    ChargeOutcome.SUCCEEDED: Outcome.SUCCEEDED,
    ChargeOutcome.REQUIRES_ACTION: Outcome.REQUIRES_ACTION,
    ChargeOutcome.SOFT_DECLINE: Outcome.SOFT_DECLINE,
    ChargeOutcome.HARD_DECLINE: Outcome.HARD_DECLINE,
}


def attempt_record(
    *,
    attempt_id: int,
    result: ChargeResult,
    source: str,
    invalid: bool = False,
    actor=None,
) -> str:
    """Write what Stripe said about an attempt and move the pledge accordingly.

    The one place an answer from Stripe becomes state, whoever brings it (settlement task,
    reconciler, webhook, the supporter's browser). Locks the pledge then the attempt, checks
    what is already recorded and applies only forward moves, so a second report of the same
    answer changes nothing. Returns the pledge's status afterwards.
    """
    now = timezone.now()
    with transaction.atomic():
        # Lock order: the pledge (found through its attempt, whose row is joined but not
        # locked), then the attempt. No related rows: a transition refreshes the pledge in
        # memory, and emails load what they need.
        pledge, attempt = _attempt_and_pledge_locked(attempt_id)
        if (
            attempt.stripe_payment_intent_id
            and result.payment_intent_id
            and attempt.stripe_payment_intent_id != result.payment_intent_id
        ):
            if result.outcome == ChargeOutcome.SUCCEEDED:
                # Money was taken by an intent this attempt does not know: it pays the pledge
                # if nothing has, else it is recorded as a duplicate and staff are alerted.
                _record_paid(pledge, attempt, result, source=source, now=now, actor=actor)
                return pledge.status
            log.error(
                "attempt %s is %s, not %s: answer ignored",
                attempt.pk,
                attempt.stripe_payment_intent_id,
                result.payment_intent_id,
            )
            return pledge.status
        outcome = Outcome.INVALID if invalid else _RESULT_TO_OUTCOME.get(result.outcome)
        if result.status == "canceled":
            outcome = Outcome.CANCELED
        _attempt_answer_write(attempt, result, outcome, now=now)
        _pledge_answer_apply(pledge, attempt, result, outcome, source=source, now=now, actor=actor)
    # The status our transaction left, read under its lock (a transition refreshes `pledge`).
    return pledge.status


def _attempt_and_pledge_locked(attempt_id: int) -> tuple[Pledge, PaymentAttempt]:
    """Lock the attempt's pledge (found through the attempt, whose row is joined, not locked),
    then the attempt: the one lock order. Built once per process on PostgreSQL (a charge's
    path, pledges/rowsql.py), through the ORM elsewhere."""
    if rowsql.enabled(Pledge):
        pledge = rowsql.row_locked(Pledge, attempt_id, through=PaymentAttempt, fk="pledge_id")
        attempt = rowsql.row_locked(PaymentAttempt, attempt_id) if pledge else None
        if pledge is None or attempt is None:
            raise PaymentAttempt.DoesNotExist(f"no payment attempt {attempt_id}")
        return pledge, attempt
    try:
        pledge = Pledge.objects.select_for_update(of=("self",)).get(attempts__pk=attempt_id)
    except Pledge.DoesNotExist:
        raise PaymentAttempt.DoesNotExist(f"no payment attempt {attempt_id}") from None
    return pledge, PaymentAttempt.objects.select_for_update().get(pk=attempt_id)


def _attempt_answer_write(
    attempt: PaymentAttempt, result: ChargeResult, outcome: str | None, *, now: dt.datetime
) -> None:
    """Step 1 of recording an answer, the attempt: pending → anything; requires_action → its
    final answer; anything but succeeded → succeeded."""
    updates: dict = {"updated_at": now}
    if result.payment_intent_id and not attempt.stripe_payment_intent_id:
        updates["stripe_payment_intent_id"] = result.payment_intent_id
    open_outcomes = {Outcome.PENDING, Outcome.REQUIRES_ACTION}
    if outcome == Outcome.SUCCEEDED:
        # Money taken is the truth about an attempt, whatever we had made of it before
        # (a request we read as rejected, a decline, a cancel that came too late).
        open_outcomes = set(Outcome) - {Outcome.SUCCEEDED}
    if outcome and attempt.outcome in open_outcomes and attempt.outcome != outcome:
        updates.update(
            outcome=outcome,
            error_code=(result.code or "")[:64],
            decline_code=(result.decline_code or "")[:64],
            message=result.message or attempt.message,
            finished_at=now if outcome != Outcome.REQUIRES_ACTION else None,
        )
    if len(updates) > 1:
        if rowsql.enabled(PaymentAttempt):  # a charge's path: built once (pledges/rowsql.py)
            rowsql.row_update_returning(PaymentAttempt, where={"id": attempt.pk}, fields=updates)
        else:
            PaymentAttempt.objects.filter(pk=attempt.pk).update(**updates)


def _pledge_answer_apply(
    pledge: Pledge,
    attempt: PaymentAttempt,
    result: ChargeResult,
    outcome: str | None,
    *,
    source: str,
    now: dt.datetime,
    actor=None,
) -> None:
    """Step 2 of recording an answer, the pledge: one branch per outcome, read as a table."""
    if outcome == Outcome.SUCCEEDED:
        _record_paid(pledge, attempt, result, source=source, now=now, actor=actor)
    elif attempt.number != pledge.attempt_count:
        # Only money taken moves a pledge on an older attempt's word; declines, 3-D Secure
        # requests and cancellations count only for the attempt the pledge is on now.
        return
    elif outcome == Outcome.REQUIRES_ACTION:
        _record_requires_action(pledge, attempt, result, source=source, now=now)
    elif outcome in (Outcome.SOFT_DECLINE, Outcome.HARD_DECLINE, Outcome.CANCELED):
        # A cancelled intent can never be paid: for the pledge it is a hard decline.
        decline = Outcome.SOFT_DECLINE if outcome == Outcome.SOFT_DECLINE else Outcome.HARD_DECLINE
        _record_declined(pledge, attempt, result, decline, source=source, now=now)
    elif outcome == Outcome.INVALID and pledge.status == S.CHARGING:
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_REVIEW,
            expected=S.CHARGING,
            updates={"lease_expires_at": None},
            actor_label=source,
            note=f"Stripe rejected the request: {result.message}",
            code=result.code,
        )
        # Staff hear of it in the run's one digest (pledges/services/digest.py), not here.
    elif result.outcome == ChargeOutcome.PROCESSING and pledge.status == S.CHARGING:
        pledge_log(
            pledge=pledge,
            note="Stripe is still processing the payment; the reconciler will check it.",
            actor_label=source,
            stripe_object_id=result.payment_intent_id,
        )


def _record_paid(pledge, attempt, result: ChargeResult, *, source, now, actor=None) -> None:
    amount = result.amount_cents or attempt.amount_cents
    if pledge.status in PAYABLE:
        pledge_transition(
            pledge=pledge,
            to=S.PAID,
            expected=pledge.status,
            updates={
                "paid_cents": amount,
                "paid_at": now,
                "stripe_payment_intent_id": result.payment_intent_id,
                "lease_expires_at": None,
                "next_attempt_at": None,
            },
            actor=actor,
            actor_label=source,
            note=f"Charged {money(amount, pledge.currency)} (attempt {attempt.number}).",
            stripe_object_id=result.payment_intent_id,
            amount_cents=amount,
            campaign_deltas={"collected_cents": amount},
        )
        if amount != pledge.amount_cents:
            staff_alert(
                subject=f"Pledge #{pledge.pk} charged a different amount",
                body=f"Pledged {money(pledge.amount_cents, pledge.currency)}, Stripe charged "
                f"{money(amount, pledge.currency)} "
                f"({result.payment_intent_id}).",
            )
        # The receipt is built and sent by the `emails` worker from the pledge's id (after
        # commit, or with its chunk's receipts): the payments worker builds no email context.
        pledge_receipt_owed(pledge.pk)
        return
    if pledge.stripe_payment_intent_id == result.payment_intent_id:
        return  # the same success reported twice (task and webhook): nothing to do
    # A second succeeded intent for a pledge already paid: the one thing that must never happen.
    pledge_log(
        pledge=pledge,
        note=f"DOUBLE CHARGE: {result.payment_intent_id} succeeded while "
        f"{pledge.stripe_payment_intent_id} had already paid this pledge.",
        actor_label=source,
        code="double_charge",
        stripe_object_id=result.payment_intent_id,
        amount_cents=amount,
    )
    staff_alert(
        subject=f"Pledge #{pledge.pk} was charged twice",
        body=f"{result.payment_intent_id} and {pledge.stripe_payment_intent_id} both succeeded. "
        f"Refund the duplicate ({result.payment_intent_id}) with one click on the pledge's "
        "page under Settlements in the admin.",
    )


def _grace_updates(pledge: Pledge, now: dt.datetime) -> dict:
    grace = pledge.grace_ends_at or now + dt.timedelta(days=settings.PAYMENT_GRACE_DAYS)
    return {"grace_ends_at": grace, "last_reminder_at": now, "lease_expires_at": None}


def _record_requires_action(pledge, attempt, result: ChargeResult, *, source, now) -> None:
    if pledge.status != S.CHARGING:
        return
    pledge_transition(
        pledge=pledge,
        to=S.ACTION_REQUIRED,
        expected=S.CHARGING,
        updates={
            "stripe_payment_intent_id": result.payment_intent_id,
            **_grace_updates(pledge, now),
        },
        actor_label=source,
        note="The bank asks the supporter to confirm the payment.",
        stripe_object_id=result.payment_intent_id,
        code=result.code or "authentication_required",
    )
    # The supporter's own new-card page sends them straight to 3-D Secure; any other recorder
    # (a reconciler resuming the attempt after the page died, a webhook) must tell them.
    if not (attempt.on_session and source == "supporter"):
        pledge_notify(pledge=pledge, template="settlement_action_required")


def _record_declined(pledge, attempt, result: ChargeResult, outcome, *, source, now) -> None:
    code = result.decline_code or result.code
    if pledge.status == S.CHARGING and attempt.on_session:
        # The supporter is on the page: tell them there, no retry schedule, no email.
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.CHARGING,
            updates={"lease_expires_at": None},
            actor_label=source,
            note=f"The new card was declined ({code}).",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
    elif pledge.status == S.CHARGING:
        soft = outcome == Outcome.SOFT_DECLINE
        if soft and attempt.number < MAX_TRIES:
            retry_at = now + RETRY_DELAYS.get(attempt.number, RETRY_DELAYS[2])
            pledge_transition(
                pledge=pledge,
                to=S.RETRY_DUE,
                expected=S.CHARGING,
                updates={"next_attempt_at": retry_at, "lease_expires_at": None},
                actor_label=source,
                note=f"Declined ({code}); trying again {retry_at:%Y-%m-%d %H:%M} UTC.",
                code=code,
                stripe_object_id=result.payment_intent_id,
            )
            return
        why = "declined three times" if soft else f"declined ({code})"
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.CHARGING,
            updates=_grace_updates(pledge, now),
            actor_label=source,
            note=f"Card {why}; the supporter is asked for another card.",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
        pledge_notify(pledge=pledge, template="settlement_new_card")
    elif pledge.status == S.ACTION_REQUIRED and (
        not result.payment_intent_id or result.payment_intent_id == pledge.stripe_payment_intent_id
    ):
        # Authentication failed or the card was declined after it: only a new card helps now.
        pledge_transition(
            pledge=pledge,
            to=S.NEEDS_NEW_METHOD,
            expected=S.ACTION_REQUIRED,
            updates={"last_reminder_at": now},
            actor_label=source,
            note=f"Payment could not be completed ({code or 'authentication failed'}).",
            code=code,
            stripe_object_id=result.payment_intent_id,
        )
        pledge_notify(pledge=pledge, template="settlement_new_card")


def pledge_intent_close(*, pledge: Pledge, note: str) -> str:
    """Make sure the PaymentIntent a supporter was shown for 3-D Secure can no longer be paid
    before anything else is charged (a tab left open could still confirm it): cancel it at
    Stripe. Returns "closed", or "paid" if it had succeeded meanwhile (then recorded as the
    payment). Raises IntentStillOpen if Stripe does not say it is canceled, and GatewayError if
    Stripe cannot be reached: in both cases nothing new may be charged yet."""
    intent_id = pledge.stripe_payment_intent_id
    if not intent_id:
        return "closed"
    try:
        result = gateway.payment_intent_cancel(intent_id)
    except GatewayError as exc:  # already canceled or succeeded, or a hiccup: read what it is
        if isinstance(exc, TimeoutError):
            raise  # no rate-limit slot (StripeSlotBusy): Stripe was not asked
        result = gateway.payment_intent_retrieve(intent_id)
    owner = intent_attempt(pledge_id=pledge.pk, result=result)
    if result.outcome == ChargeOutcome.SUCCEEDED:
        if owner is not None:
            attempt_record(attempt_id=owner.pk, result=result, source="settlement")
        return "paid"
    if result.status != "canceled":
        raise IntentStillOpen(f"{intent_id} is still {result.status}")
    if owner is not None:
        attempt_cancel(
            attempt_id=owner.pk, message=note, still=(Outcome.PENDING, Outcome.REQUIRES_ACTION)
        )
    return "closed"
