"""OSDI 1.1 resources as DRF serializers (HAL: `_links` with `osdi:` curies).

The same serializers shape webhook payloads (`context["request"]` is then None and links are made
from SITE_URL). Money is given twice: `amount` as OSDI's decimal string of dollars and
`amount_cents` as the integer we store. Card data never appears: no brand, no last four, no
Stripe ids.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pledges.models import Pledge

OSDI_CURIE = {
    "name": "osdi",
    "href": "https://opensupporter.github.io/osdi-docs/{rel}",
    "templated": True,
}
ID_PREFIX = "rallyround"

# Pledge status → OSDI-style donation status (our exact status is `rallyround_status`).
DONATION_STATUS = {
    Pledge.Status.ACTIVE: "pledged",
    Pledge.Status.CHARGE_DUE: "pledged",
    Pledge.Status.CHARGING: "pledged",
    Pledge.Status.ACTION_REQUIRED: "pledged",
    Pledge.Status.RETRY_DUE: "pledged",
    Pledge.Status.NEEDS_NEW_METHOD: "pledged",
    Pledge.Status.NEEDS_REVIEW: "pledged",
    Pledge.Status.UNPAID: "unpaid",
    Pledge.Status.PAID: "paid",
    Pledge.Status.DISPUTED: "paid",
    Pledge.Status.REFUNDED: "refunded",
    Pledge.Status.RELEASED: "released",
    Pledge.Status.CANCELED: "canceled",
    Pledge.Status.PENDING_SETUP: "pending",
}


def api_link(context: dict, name: str, **kwargs) -> dict[str, str]:
    """{"href": absolute URL of the named API route}: the request's host when there is one."""
    path = reverse(f"api:{name}", kwargs=kwargs)
    request = context.get("request") if context else None
    href = request.build_absolute_uri(path) if request is not None else settings.SITE_URL + path
    return {"href": href}


def dollars(cents: int) -> float:
    """OSDI amounts are JSON numbers of currency units; `*_cents` fields carry the exact
    integers we store."""
    return float((Decimal(int(cents)) / 100).quantize(Decimal("0.01")))


def _split_name(name: str) -> tuple[str, str]:
    parts = (name or "").strip().split(None, 1)
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


class _Resource(serializers.Serializer):
    identifiers = serializers.SerializerMethodField()
    created_date = serializers.DateTimeField(source="created_at")
    modified_date = serializers.SerializerMethodField()
    _links = serializers.SerializerMethodField()

    kind = ""

    def get_identifiers(self, obj) -> list[str]:
        return [f"{ID_PREFIX}:{self.kind}-{obj.pk}"]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_modified_date(self, obj):
        value = getattr(obj, "modified", None) or getattr(obj, "updated_at", None)
        value = value or obj.created_at
        return serializers.DateTimeField().to_representation(value)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get__links(self, obj) -> dict:
        return {"curies": [OSDI_CURIE], **self.links(obj)}

    def links(self, obj) -> dict:
        return {}

    def person_link(self, supporter_id: int) -> dict | None:
        """The donor's/signer's person link, only when the organization may see that person."""
        visible = self.context.get("visible_people")
        if visible is None or supporter_id not in visible:
            return None
        return api_link(self.context, "person-detail", pk=supporter_id)


class EmailAddressSerializer(serializers.Serializer):
    address = serializers.EmailField()
    primary = serializers.BooleanField(default=True)
    status = serializers.CharField(default="subscribed")


class PostalAddressSerializer(serializers.Serializer):
    postal_code = serializers.CharField(allow_blank=True)
    primary = serializers.BooleanField(default=True)


class PhoneNumberSerializer(serializers.Serializer):
    number = serializers.CharField()
    primary = serializers.BooleanField(default=True)


class PersonSerializer(_Resource):
    kind = "person"
    given_name = serializers.SerializerMethodField()
    family_name = serializers.SerializerMethodField()
    email_addresses = serializers.SerializerMethodField()
    postal_addresses = serializers.SerializerMethodField()
    phone_numbers = serializers.SerializerMethodField()
    custom_fields = serializers.SerializerMethodField()

    def get_given_name(self, obj) -> str:
        return _split_name(obj.name)[0]

    def get_family_name(self, obj) -> str:
        return _split_name(obj.name)[1]

    @extend_schema_field(EmailAddressSerializer(many=True))
    def get_email_addresses(self, obj):
        return [{"address": obj.email, "primary": True, "status": "subscribed"}]

    @extend_schema_field(PostalAddressSerializer(many=True))
    def get_postal_addresses(self, obj):
        return [{"postal_code": obj.postal_code, "primary": True}] if obj.postal_code else []

    @extend_schema_field(PhoneNumberSerializer(many=True))
    def get_phone_numbers(self, obj):
        return [{"number": obj.phone, "primary": True}] if obj.phone else []

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_custom_fields(self, obj) -> dict:
        return {
            "tier": obj.tier,
            "campaign": obj.campaign.slug,
            "confirmed_date": serializers.DateTimeField().to_representation(obj.confirmed_at),
            "consent_organization_date": serializers.DateTimeField().to_representation(
                obj.consent_org_at
            ),
            "consent_organization_wording": obj.consent_org_text,
            "consent_updates": obj.consent_updates,
            "source": obj.source,
        }

    def links(self, obj) -> dict:
        return {
            "self": api_link(self.context, "person-detail", pk=obj.pk),
            "osdi:fundraising_page": api_link(
                self.context, "fundraising_page-detail", pk=obj.campaign_id
            ),
        }


class FundraisingPageSerializer(_Resource):
    kind = "fundraising_page"
    origin_system = serializers.SerializerMethodField()
    name = serializers.CharField(source="slug")
    title = serializers.CharField()
    summary = serializers.CharField()
    browser_url = serializers.SerializerMethodField()
    status = serializers.CharField()
    currency = serializers.SerializerMethodField()
    goal_amount = serializers.SerializerMethodField()
    goal_cents = serializers.IntegerField()
    total_amount = serializers.SerializerMethodField()
    total_amount_cents = serializers.IntegerField(source="shown_pledged_cents")
    total_donations = serializers.IntegerField(source="shown_backer_count")
    total_supporters = serializers.IntegerField(source="supporter_count")
    collected_amount_cents = serializers.IntegerField(source="collected_cents")
    end_date = serializers.DateTimeField(source="deadline")

    def get_origin_system(self, obj) -> str:
        return "Rallyround"

    def get_browser_url(self, obj) -> str:
        return settings.SITE_URL + obj.get_absolute_url()

    def get_currency(self, obj) -> str:
        return obj.currency.upper()

    def get_goal_amount(self, obj) -> float:
        return dollars(obj.goal_cents)

    def get_total_amount(self, obj) -> float:
        return dollars(obj.shown_pledged_cents)

    def links(self, obj) -> dict:
        return {
            "self": api_link(self.context, "fundraising_page-detail", pk=obj.pk),
            "osdi:donations": api_link(self.context, "fundraising_page-donations", pk=obj.pk),
            "osdi:person_signup_helper": api_link(
                self.context, "fundraising_page-person-signup", pk=obj.pk
            ),
        }


class DonationSerializer(_Resource):
    kind = "donation"
    origin_system = serializers.SerializerMethodField()
    action_date = serializers.DateTimeField(source="created_at")
    amount = serializers.SerializerMethodField()
    amount_cents = serializers.IntegerField()
    currency = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    rallyround_status = serializers.CharField(source="status")
    tier = serializers.CharField()
    paid_amount_cents = serializers.IntegerField(source="paid_cents")
    refunded_amount_cents = serializers.IntegerField(source="refunded_cents")
    paid_date = serializers.DateTimeField(source="paid_at", allow_null=True)
    credited_amount = serializers.SerializerMethodField()
    voided = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    recipients = serializers.SerializerMethodField()

    def get_origin_system(self, obj) -> str:
        return "Rallyround"

    def get_amount(self, obj) -> float:
        return dollars(obj.amount_cents)

    def get_credited_amount(self, obj) -> float:
        return dollars(obj.refunded_cents)

    def get_voided(self, obj) -> bool:
        return obj.status in (Pledge.Status.CANCELED, Pledge.Status.RELEASED)

    def get_url(self, obj) -> str:
        return settings.SITE_URL + obj.campaign.get_absolute_url()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payment(self, obj) -> dict:
        # The method only: card brand, digits and processor ids never leave Rallyround.
        return {"method": "Credit Card"}

    def get_currency(self, obj) -> str:
        return obj.currency.upper()

    def get_status(self, obj) -> str:
        return DONATION_STATUS.get(obj.status, obj.status)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_recipients(self, obj) -> list[dict]:
        return [
            {
                "display_name": obj.campaign.title,
                "legal_name": obj.campaign.organization.name,
                "amount": dollars(obj.amount_cents),
            }
        ]

    def links(self, obj) -> dict:
        links = {
            "self": api_link(self.context, "donation-detail", pk=obj.pk),
            "osdi:fundraising_page": api_link(
                self.context, "fundraising_page-detail", pk=obj.campaign_id
            ),
        }
        person = self.person_link(obj.supporter_id)
        if person:
            links["osdi:person"] = person
        return links


class _ActionResource(_Resource):
    title = serializers.CharField()
    description = serializers.CharField(source="why_it_matters")
    browser_url = serializers.SerializerMethodField()
    total_count = serializers.IntegerField(source="completed_count")

    def get_browser_url(self, obj) -> str:
        return settings.SITE_URL + f"/c/{obj.campaign.slug}/act/{obj.pk}/"


class PetitionSerializer(_ActionResource):
    kind = "petition"
    petition_text = serializers.CharField()

    def links(self, obj) -> dict:
        return {
            "self": api_link(self.context, "petition-detail", pk=obj.pk),
            "osdi:signatures": api_link(self.context, "petition-signatures", pk=obj.pk),
            "osdi:fundraising_page": api_link(
                self.context, "fundraising_page-detail", pk=obj.campaign_id
            ),
        }


class EventSerializer(_ActionResource):
    kind = "event"
    start_date = serializers.DateTimeField(source="event_starts_at", allow_null=True)
    end_date = serializers.DateTimeField(source="event_ends_at", allow_null=True)
    timezone = serializers.CharField(source="event_timezone")
    capacity = serializers.IntegerField(source="event_capacity", allow_null=True)
    location = serializers.SerializerMethodField()

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_location(self, obj) -> dict:
        return {"venue": obj.event_place, "address_lines": [obj.event_address]}

    def links(self, obj) -> dict:
        return {
            "self": api_link(self.context, "event-detail", pk=obj.pk),
            "osdi:attendances": api_link(self.context, "event-attendances", pk=obj.pk),
        }


class AdvocacyCampaignSerializer(_ActionResource):
    kind = "advocacy_campaign"
    type = serializers.SerializerMethodField()
    targets = serializers.SerializerMethodField()

    def get_type(self, obj) -> str:
        return "phone" if obj.kind == "call" else "email"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_targets(self, obj) -> list[dict]:
        if obj.kind == "call":
            return [{"title": t.office, "name": t.name} for t in obj.targets.all()]
        return [{"name": obj.email_to_name}] if obj.email_to_name else []

    def links(self, obj) -> dict:
        return {
            "self": api_link(self.context, "advocacy_campaign-detail", pk=obj.pk),
            "osdi:outreaches": api_link(self.context, "advocacy_campaign-outreaches", pk=obj.pk),
        }


class _CompletionResource(_Resource):
    """A signature, attendance or emailed outreach: a counted ActionCompletion."""

    action_route = ""

    def links(self, obj) -> dict:
        links = {
            "self": api_link(
                self.context, f"{self.action_route}-{self.kind}", pk=obj.action_id, item=obj.pk
            ),
            f"osdi:{self.action_route}": api_link(
                self.context, f"{self.action_route}-detail", pk=obj.action_id
            ),
        }
        person = self.person_link(obj.supporter_id)
        if person:
            links["osdi:person"] = person
        return links


class SignatureSerializer(_CompletionResource):
    kind = "signature"
    action_route = "petition"


class AttendanceSerializer(_CompletionResource):
    kind = "attendance"
    action_route = "event"
    status = serializers.SerializerMethodField()

    def get_status(self, obj) -> str:
        return "accepted"


class OutreachSerializer(_Resource):
    """A call (CallOutcome, with the target and how it went) or a sent email (completion)."""

    kind = "outreach"
    type = serializers.SerializerMethodField()
    targets = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    def get_identifiers(self, obj) -> list[str]:
        prefix = "call" if hasattr(obj, "target_id") else "email"
        return [f"{ID_PREFIX}:outreach-{prefix}-{obj.pk}"]

    def get_type(self, obj) -> str:
        return "phone" if hasattr(obj, "target_id") else "email"

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_targets(self, obj) -> list[dict]:
        if hasattr(obj, "target_id"):
            return [{"title": obj.target.office, "name": obj.target.name}]
        action = obj.action
        return [{"name": action.email_to_name}] if action.email_to_name else []

    def get_outcome(self, obj) -> str:
        return getattr(obj, "outcome", "sent")

    def links(self, obj) -> dict:
        links = {
            "osdi:advocacy_campaign": api_link(
                self.context, "advocacy_campaign-detail", pk=obj.action_id
            )
        }
        person = self.person_link(obj.supporter_id)
        if person:
            links["osdi:person"] = person
        return links


class SignupPersonSerializer(serializers.Serializer):
    given_name = serializers.CharField(max_length=60)
    family_name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    email_addresses = EmailAddressSerializer(many=True, allow_empty=False)
    postal_addresses = PostalAddressSerializer(many=True, required=False)


class SignupConsentSerializer(serializers.Serializer):
    organization = serializers.BooleanField(
        help_text="The person ticked “may the organization contact me”."
    )
    updates = serializers.BooleanField(default=False)
    wording = serializers.CharField(
        max_length=1000, help_text="The exact consent wording the person was shown."
    )


class PersonSignupSerializer(serializers.Serializer):
    """OSDI person signup helper, with the consent the person gave on your site."""

    person = SignupPersonSerializer()
    consent = SignupConsentSerializer()


class PersonSignupResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()
