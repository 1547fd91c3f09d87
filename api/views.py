"""The OSDI-shaped API: thin views over api.selectors, each scoped to the key's organization.

Any id the key cannot reach (another organization's, or none at all) is the same 403
(api/exceptions.py): refused across organizations, and nothing says whether it exists.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from actions.models import Action
from api import selectors
from api.models import ApiKey
from api.serializers import (
    OSDI_CURIE,
    AdvocacyCampaignSerializer,
    AttendanceSerializer,
    DonationSerializer,
    EventSerializer,
    FundraisingPageSerializer,
    OutreachSerializer,
    PersonSerializer,
    PersonSignupResultSerializer,
    PersonSignupSerializer,
    PetitionSerializer,
    SignatureSerializer,
    api_link,
)
from api.services import api_request_log
from api.signup import SignupClosed, person_signup

_FILTER = re.compile(r"^\s*modified_date\s+(gt|ge|lt|le)\s+'([^']+)'\s*$", re.IGNORECASE)
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)

MODIFIED_PARAMS = [
    OpenApiParameter(
        "filter",
        OpenApiTypes.STR,
        description=(
            "OSDI OData filter on `modified_date` with gt, ge, lt or le, clauses joined by "
            "`and`: `modified_date gt '2026-01-01T00:00:00Z'`."
        ),
        examples=[OpenApiExample("since", value="modified_date gt '2026-11-30T00:00:00Z'")],
    ),
    OpenApiParameter(
        "modified_since", OpenApiTypes.DATETIME, description="Only rows modified after this."
    ),
    OpenApiParameter(
        "modified_before", OpenApiTypes.DATETIME, description="Only rows modified before this."
    ),
]


def _moment(value: str, name: str) -> dt.datetime:
    parsed = parse_datetime(value.strip().replace(" ", "+")) if value else None
    if parsed is None:
        raise ValidationError(
            {name: _("Give a date and time like 2026-11-30T00:00:00Z (ISO 8601).")}
        )
    if parsed.tzinfo is None:
        raise ValidationError({name: _("Give the time zone too, e.g. a final Z for UTC.")})
    return parsed


def modified_bounds(params) -> dict[str, dt.datetime]:
    """{"gt"|"ge"|"lt"|"le": moment} from OSDI's `filter=modified_date gt '…' and …` and/or
    the plain `modified_since` (gt) / `modified_before` (lt)."""
    bounds: dict[str, dt.datetime] = {}
    raw = params.get("filter")
    if raw:
        for clause in _AND.split(raw.strip()):
            match = _FILTER.match(clause)
            if not match:
                raise ValidationError(
                    {
                        "filter": _(
                            "Only modified_date can be filtered, as "
                            "“modified_date gt '<time>'” (gt, ge, lt or le, joined by “and”)."
                        )
                    }
                )
            bounds[match.group(1).lower()] = _moment(match.group(2), "filter")
    if params.get("modified_since"):
        bounds["gt"] = _moment(params["modified_since"], "modified_since")
    if params.get("modified_before"):
        bounds["lt"] = _moment(params["modified_before"], "modified_before")
    return bounds


class OsdiPagination(PageNumberPagination):
    """OSDI paging: `page` (from 1) and `per_page` (at most 100), with `next`/`prev` links."""

    page_size = 25
    page_size_query_param = "per_page"
    max_page_size = 100

    def get_paginated_response(self, data):
        view = self.request.parser_context["view"]
        links = {
            "curies": [OSDI_CURIE],
            "self": {"href": self.request.build_absolute_uri()},
            f"osdi:{view.osdi_name}": [item["_links"]["self"] for item in data],
        }
        if self.get_next_link():
            links["next"] = {"href": self.get_next_link()}
        if self.get_previous_link():
            links["previous"] = {"href": self.get_previous_link()}
        return Response(
            {
                "total_pages": self.page.paginator.num_pages,
                "per_page": self.get_page_size(self.request),
                "page": self.page.number,
                "total_records": self.page.paginator.count,
                "_links": links,
                "_embedded": {f"osdi:{view.osdi_name}": data},
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "total_pages": {"type": "integer"},
                "per_page": {"type": "integer"},
                "page": {"type": "integer"},
                "total_records": {"type": "integer"},
                "_links": {"type": "object"},
                "_embedded": {"type": "object", "additionalProperties": schema},
            },
        }


class ApiView(APIView):
    """Every API view: log the request with the key's name once the answer is known."""

    def initial(self, request, *args, **kwargs):
        request._rr_started = time.monotonic()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = getattr(request, "auth", None)
        if isinstance(key, ApiKey):
            started = getattr(request, "_rr_started", time.monotonic())
            api_request_log(
                key=key,
                method=request.method,
                path=request.get_full_path(),
                status_code=response.status_code,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
        return response

    @property
    def organization(self):
        return self.request.auth.organization

    def get_serializer_context(self):
        return {"request": self.request, "view": self}


class _List(ApiView, generics.ListAPIView):
    pagination_class = OsdiPagination
    osdi_name = ""
    # Resources that link to people: which of those people the organization may see.
    links_people = False

    def filter_queryset(self, queryset):
        return selectors.modified_filter(
            queryset, bounds=modified_bounds(self.request.query_params)
        )

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = self.get_serializer_context()
        if self.links_people:
            context["visible_people"] = selectors.consented_supporter_ids(
                organization=self.organization, supporter_ids={o.supporter_id for o in page}
            )
        data = self.get_serializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs)


class _Detail(ApiView, generics.RetrieveAPIView):
    links_people = False

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        context = self.get_serializer_context()
        if self.links_people:
            context["visible_people"] = selectors.consented_supporter_ids(
                organization=self.organization, supporter_ids={obj.supporter_id}
            )
        return Response(self.get_serializer_class()(obj, context=context).data)


@extend_schema(parameters=MODIFIED_PARAMS, tags=["people"])
class PersonList(_List):
    """People: the organization's supporters who agreed to hear from it (the CSV export's
    rule). Nobody who did not consent, has not confirmed, or left is ever listed."""

    serializer_class = PersonSerializer
    osdi_name = "people"

    def get_queryset(self):
        return selectors.people_for_organization(organization=self.organization)


@extend_schema(tags=["people"])
class PersonDetail(_Detail):
    serializer_class = PersonSerializer

    def get_queryset(self):
        return selectors.people_for_organization(organization=self.organization)


@extend_schema(parameters=MODIFIED_PARAMS, tags=["fundraising_pages"])
class FundraisingPageList(_List):
    """Fundraising pages: the organization's published campaigns."""

    serializer_class = FundraisingPageSerializer
    osdi_name = "fundraising_pages"

    def get_queryset(self):
        return selectors.campaigns_for_organization(organization=self.organization)


@extend_schema(tags=["fundraising_pages"])
class FundraisingPageDetail(_Detail):
    serializer_class = FundraisingPageSerializer

    def get_queryset(self):
        return selectors.campaigns_for_organization(organization=self.organization)


@extend_schema(parameters=MODIFIED_PARAMS, tags=["donations"])
class DonationList(_List):
    """Donations: pledges with a saved card (amount, tier, status; never card data)."""

    serializer_class = DonationSerializer
    osdi_name = "donations"
    links_people = True

    def get_queryset(self):
        qs = selectors.donations_for_organization(organization=self.organization)
        if "pk" in self.kwargs:
            campaign = get_object_or_404(
                selectors.campaigns_for_organization(organization=self.organization),
                pk=self.kwargs["pk"],
            )
            qs = qs.filter(campaign=campaign)
        return qs


@extend_schema(tags=["donations"])
class DonationDetail(_Detail):
    serializer_class = DonationSerializer
    links_people = True

    def get_queryset(self):
        return selectors.donations_for_organization(organization=self.organization)


def _actions_view(kinds, serializer, name, tag):
    @extend_schema(parameters=MODIFIED_PARAMS, tags=[tag])
    class ActionList(_List):
        serializer_class = serializer
        osdi_name = name

        def get_queryset(self):
            return selectors.actions_for_organization(organization=self.organization, kinds=kinds)

    @extend_schema(tags=[tag])
    class ActionDetail(_Detail):
        serializer_class = serializer

        def get_queryset(self):
            return selectors.actions_for_organization(organization=self.organization, kinds=kinds)

    ActionList.__name__ = f"{tag.title().replace('_', '')}List"
    ActionDetail.__name__ = f"{tag.title().replace('_', '')}Detail"
    return ActionList, ActionDetail


PetitionList, PetitionDetail = _actions_view(
    [Action.Kind.PETITION], PetitionSerializer, "petitions", "petitions"
)
EventList, EventDetail = _actions_view([Action.Kind.EVENT], EventSerializer, "events", "events")
AdvocacyCampaignList, AdvocacyCampaignDetail = _actions_view(
    selectors.ADVOCACY, AdvocacyCampaignSerializer, "advocacy_campaigns", "advocacy_campaigns"
)


def _records_view(kinds, serializer, name, tag, *, outreach=False):
    class RecordMixin:
        links_people = True

        def parent_action(self):
            return get_object_or_404(
                selectors.actions_for_organization(organization=self.organization, kinds=kinds),
                pk=self.kwargs["pk"],
            )

        def get_queryset(self):
            action = self.parent_action()
            if outreach:
                return selectors.outreaches_for_action(action=action)
            return selectors.completions_for_action(action=action)

    @extend_schema(parameters=MODIFIED_PARAMS, tags=[tag])
    class RecordList(RecordMixin, _List):
        serializer_class = serializer
        osdi_name = name

    @extend_schema(tags=[tag])
    class RecordDetail(RecordMixin, _Detail):
        serializer_class = serializer
        lookup_url_kwarg = "item"

    RecordList.__name__ = f"{name.title()}List"
    RecordDetail.__name__ = f"{name.title()}Detail"
    return RecordList, RecordDetail


SignatureList, SignatureDetail = _records_view(
    [Action.Kind.PETITION], SignatureSerializer, "signatures", "petitions"
)
AttendanceList, AttendanceDetail = _records_view(
    [Action.Kind.EVENT], AttendanceSerializer, "attendances", "events"
)
OutreachList, _OutreachDetail = _records_view(
    selectors.ADVOCACY, OutreachSerializer, "outreaches", "advocacy_campaigns", outreach=True
)


class PersonSignup(ApiView):
    """OSDI person signup helper: add an Ally to this campaign, with the consent they gave on
    your site. It goes through the same sign-on as the campaign page: the person is emailed a
    link and counts (and appears under people) only once they confirm. An address that is
    already a supporter is left exactly as it is. The answer is the same in every case, so it
    never tells whether an address is on the list."""

    serializer_class = PersonSignupSerializer

    @extend_schema(
        tags=["fundraising_pages"],
        request=PersonSignupSerializer,
        responses={202: PersonSignupResultSerializer},
        examples=[
            OpenApiExample(
                "signup",
                request_only=True,
                value={
                    "person": {
                        "given_name": "Rosa",
                        "family_name": "Parks",
                        "email_addresses": [{"address": "rosa@example.org"}],
                        "postal_addresses": [{"postal_code": "94609"}],
                    },
                    "consent": {
                        "organization": True,
                        "updates": True,
                        "wording": "Yes, Bay Climate Coalition may contact me.",
                    },
                },
            )
        ],
    )
    def post(self, request, pk: int):
        campaign = get_object_or_404(
            selectors.campaigns_for_organization(organization=self.organization), pk=pk
        )
        payload = PersonSignupSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        person, consent = payload.validated_data["person"], payload.validated_data["consent"]
        postal = (person.get("postal_addresses") or [{}])[0].get("postal_code", "")
        name = " ".join(filter(None, [person["given_name"], person.get("family_name", "")]))
        try:
            person_signup(
                campaign=campaign,
                email=person["email_addresses"][0]["address"],
                name=name,
                postal_code=postal[:12],
                consent_org=consent["organization"],
                consent_updates=consent["updates"],
                wording=consent["wording"],
                source=f"api:{request.auth.name}",
            )
        except SignupClosed:
            return Response(
                {"detail": _("This campaign is not taking new supporters.")},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {
                "status": "pending_confirmation",
                "message": _(
                    "We emailed the person a link to confirm. They appear under people once "
                    "they confirm (and only if they agreed to hear from your organization)."
                ),
            },
            status=status.HTTP_202_ACCEPTED,
        )


class EntryPoint(ApiView):
    """The API's entry point: a link to each collection."""

    @extend_schema(tags=["entry point"], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        context = {"request": request}
        names = (
            ("osdi:people", "person-list"),
            ("osdi:fundraising_pages", "fundraising_page-list"),
            ("osdi:donations", "donation-list"),
            ("osdi:petitions", "petition-list"),
            ("osdi:events", "event-list"),
            ("osdi:advocacy_campaigns", "advocacy_campaign-list"),
        )
        return Response(
            {
                "motd": _("Rallyround OSDI API for %(org)s") % {"org": self.organization.name},
                "vendor_name": "Rallyround",
                "product_name": "Rallyround",
                "osdi_version": "1.1",
                "_links": {
                    "curies": [OSDI_CURIE],
                    "self": {"href": request.build_absolute_uri()},
                    **{rel: api_link(context, name) for rel, name in names},
                },
            }
        )
