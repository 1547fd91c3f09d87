"""Every upload endpoint refuses, with a sentence a person understands, a file that is not an
image, an image that is too large, a decompression bomb and an unsupported format; nothing is
stored when it does."""

from __future__ import annotations

import io
import random
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from campaigns.models import Campaign, Organization
from tests.campaigns.test_admin import form_data
from tests.factories import CampaignFactory, SupporterFactory, UserFactory, verified_user

pytestmark = pytest.mark.django_db

SMALL_LIMIT = 40_000  # bytes: IMAGE_MAX_BYTES for these tests, so "too large" stays quick


def _png(size=(64, 48), noise=False) -> bytes:
    img = Image.new("RGB", size, (30, 120, 200))
    if noise:
        rng = random.Random(7)
        img.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(size[0] * size[1])])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _bomb_png(width=100_000, height=100_000) -> bytes:
    """A valid PNG header claiming 10 billion pixels in a few hundred bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "GIF")
    return out.getvalue()


BAD_FILES = {
    # name: (filename, content type, bytes, words the refusal must contain)
    "not_an_image": (
        "photo.jpg",
        "image/jpeg",
        b"%PDF-1.4 not a photo at all",
        "not an image we can read",
    ),
    "script_as_svg": (
        "photo.svg",
        "image/svg+xml",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "not an image we can read",
    ),
    "too_large": ("big.png", "image/png", None, "the limit is"),
    "decompression_bomb": ("bomb.png", "image/png", None, "pixels"),
    "gif": ("moving.gif", "image/gif", None, "not supported"),
}


def bad_upload(kind: str) -> tuple[SimpleUploadedFile, str]:
    name, content_type, data, words = BAD_FILES[kind]
    if kind == "too_large":
        data = _png((160, 160), noise=True)
        assert len(data) > SMALL_LIMIT
    elif kind == "decompression_bomb":
        data = _bomb_png()
    elif kind == "gif":
        data = _gif()
    return SimpleUploadedFile(name, data, content_type=content_type), words


@pytest.fixture(autouse=True)
def _small_limit_and_private_media(settings, tmp_path):
    settings.IMAGE_MAX_BYTES = SMALL_LIMIT
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff_client():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _campaign_hero(client, upload):
    campaign = CampaignFactory(status=Campaign.Status.DRAFT)
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    data = {**form_data(client.get(url)), "hero_image": upload, "hero_alt": "A crowd"}
    response = client.post(url, data)
    campaign.refresh_from_db()
    return response, "hero_image", not campaign.hero_image


def _organization_logo(client, upload):
    org = CampaignFactory().organization
    url = f"/admin/campaigns/organization/{org.pk}/change/"
    data = {**form_data(client.get(url)), "logo": upload}
    response = client.post(url, data)
    return response, "logo", not Organization.objects.get(pk=org.pk).logo


def _update_image(client, upload):
    from outreach.models import CampaignUpdate

    campaign = CampaignFactory()
    data = {
        "campaign": campaign.pk,
        "title": "Photos from the rally",
        "audience": "everyone",
        "body": "We were many.",
        "image": upload,
        "image_alt": "People with signs",
    }
    response = client.post("/admin/outreach/campaignupdate/add/", data)
    return response, "image", not CampaignUpdate.objects.exists()


def _frame_photo(client, upload):
    campaign = CampaignFactory()
    user = verified_user(email="champion@example.org")  # /me/ pages need a proven address
    SupporterFactory(campaign=campaign, user=user, email=user.email, tier="champion")
    champion = Client()
    champion.force_login(user)
    response = champion.post(f"/me/badge/{campaign.slug}/", {"photo": upload})
    # The framed photo is never stored; a refusal must not render one.
    return response, "photo", b"data:image/png;base64" not in response.content


ENDPOINTS = {
    "campaign_hero": _campaign_hero,
    "organization_logo": _organization_logo,
    "update_image": _update_image,
    "frame_photo": _frame_photo,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_upload_is_refused_with_a_clear_message_and_nothing_stored(staff_client, endpoint, kind):
    upload, words = bad_upload(kind)
    response, field, nothing_stored = ENDPOINTS[endpoint](staff_client, upload)
    assert response.status_code in (200, 400), response.status_code
    errors = response.context["adminform"].form.errors if "adminform" in response.context else {}
    if not errors:
        errors = response.context["form"].errors
    message = " ".join(errors.get(field, []))
    assert words in message, f"{endpoint}/{kind}: {dict(errors)}"
    assert nothing_stored


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_a_real_photo_is_accepted(staff_client, endpoint):
    upload = SimpleUploadedFile("photo.png", _png(), content_type="image/png")
    response, _field, nothing_stored = ENDPOINTS[endpoint](staff_client, upload)
    assert response.status_code in (200, 302)
    assert not nothing_stored


# Every file field a person can fill in, and the endpoint above that tests it. A new upload
# field fails this test until it is added to ENDPOINTS.
UPLOAD_FIELDS = {
    "campaigns.campaign.hero_image": "campaign_hero",
    "campaigns.organization.logo": "organization_logo",
    "outreach.campaignupdate.image": "update_image",
    "outreach.forms.FrameForm.photo": "frame_photo",
}


def test_every_upload_field_is_covered():
    import importlib

    from django import forms
    from django.apps import apps
    from django.db import models

    found = set()
    for model in apps.get_models():
        for f in model._meta.get_fields():
            # Renditions made by the server (hero_small, logo_small…) are not uploads.
            if isinstance(f, models.FileField) and f.editable and not model._meta.proxy:
                found.add(f"{model._meta.label_lower}.{f.name}")
    for app in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app.name}.forms")
        except ModuleNotFoundError:
            continue
        for name, obj in vars(module).items():
            if (
                isinstance(obj, type)
                and issubclass(obj, forms.Form)
                and obj.__module__ == module.__name__
            ):
                for field_name, field in obj.base_fields.items():
                    if isinstance(field, forms.FileField):
                        found.add(f"{module.__name__}.{name}.{field_name}")
    missing = sorted(found - UPLOAD_FIELDS.keys())
    assert not missing, f"upload fields without an upload test: {missing}"
    assert set(UPLOAD_FIELDS.values()) <= set(ENDPOINTS)
