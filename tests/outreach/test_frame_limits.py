"""The profile-picture frame decodes a stranger's photo on the server: what it may cost is
bounded by decoded bytes (mode × pixels), not only by the file size or the pixel count, and a
user can frame only so many photos an hour (issue 12 §4: a 233 kB 16-bit PNG under the pixel
limit cost ~350 MB; six at once 2.1 GB)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from campaigns.images import decoded_bytes, image_validate
from tests.factories import CampaignFactory
from tests.outreach.test_share import login_as, photo_upload

pytestmark = pytest.mark.django_db


def png_16_bit(size=(3000, 3000)) -> SimpleUploadedFile:
    """A flat 16-bit greyscale PNG: a few kilobytes on the wire, 2 bytes a pixel decoded and 4
    more once turned into RGB."""
    buf = io.BytesIO()
    Image.new("I;16", size, 1234).save(buf, "PNG")
    return SimpleUploadedFile("deep.png", buf.getvalue(), content_type="image/png")


@pytest.fixture
def tight(settings):
    # Scaled down so the test allocates little: 10 M pixels, 32 MB decoded.
    settings.IMAGE_MAX_PIXELS = 10_000_000
    settings.IMAGE_MAX_DECODED_BYTES = 32 * 1024 * 1024
    return settings


@pytest.fixture
def champion_client(client):
    from allauth.account.models import EmailAddress

    campaign = CampaignFactory()
    supporter = login_as(client, campaign, "champion")
    # A proven address: only then is the supporter row this account's.
    EmailAddress.objects.update_or_create(
        user=supporter.user, email=supporter.email, defaults={"verified": True, "primary": True}
    )
    return client, reverse("outreach:badge", kwargs={"slug": campaign.slug})


def test_a_small_16_bit_png_under_the_pixel_limit_is_refused_for_its_decoded_size(
    tight, champion_client
):
    upload = png_16_bit()  # 9 M pixels: under the pixel limit
    assert upload.size < 100_000
    client, url = champion_client
    response = client.post(url, {"photo": upload})
    assert response.status_code == 400
    html = response.content.decode()
    assert "memory to process" in html
    assert "data:image/png" not in html


def test_an_ordinary_photo_of_the_same_pixel_count_is_still_framed(tight, champion_client):
    client, url = champion_client
    response = client.post(url, {"photo": photo_upload(size=(2500, 2500))})
    assert response.status_code == 200
    assert "data:image/png" in response.content.decode()


def test_decoded_bytes_count_the_mode_and_the_rgb_copy():
    assert decoded_bytes(Image.new("RGB", (10, 10))) == 400
    assert decoded_bytes(Image.new("I;16", (10, 10))) == 600
    assert decoded_bytes(Image.new("I", (10, 10))) == 800


def test_the_default_limit_refuses_the_attack_png_and_takes_a_24_megapixel_photo(settings):
    """Default limits: the 36 M-pixel 16-bit PNG (the reported attack) is refused before it is
    decoded; a 24 M-pixel camera JPEG is not."""
    header_only = Image.new("I;16", (1, 1))
    header_only._size = (6000, 6000)  # what Image.open reports for the attack file
    assert decoded_bytes(header_only) > settings.IMAGE_MAX_DECODED_BYTES
    camera = Image.new("RGB", (1, 1))
    camera._size = (6000, 4000)
    assert decoded_bytes(camera) <= settings.IMAGE_MAX_DECODED_BYTES


def test_admin_uploads_share_the_decoded_size_limit(tight):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="memory to process"):
        image_validate(png_16_bit())


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_for_the_frame(champion_client, monkeypatch):
    """JPEG can be decoded at 1/2, 1/4 or 1/8 scale (Image.draft): the frame needs ~2000 px."""
    from outreach import images

    seen = []
    real_fit = images.ImageOps.fit

    def spy(photo, size, *args, **kwargs):
        seen.append(photo.size)
        return real_fit(photo, size, *args, **kwargs)

    monkeypatch.setattr(images.ImageOps, "fit", spy)
    client, url = champion_client
    response = client.post(url, {"photo": photo_upload(size=(4800, 4800))})
    assert response.status_code == 200
    assert seen
    assert max(seen[0]) <= 2400


def test_a_user_frames_only_so_many_photos_an_hour(champion_client, settings):
    settings.PHOTO_FRAME_RATE_LIMITS = {"user": 2, "window_seconds": 3600}
    client, url = champion_client
    answers = [client.post(url, {"photo": photo_upload(size=(300, 300))}) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    html = answers[-1].content.decode()
    assert "framed several photos" in html
    assert "data:image/png" not in html


def test_a_large_update_photo_is_decoded_at_a_reduced_scale(settings, tmp_path, monkeypatch):
    """An update's photo is stored at most 1600 px wide: a 4800 px JPEG decodes at 1/2 scale."""
    from django.core.files.base import ContentFile

    from outreach import images
    from outreach.models import CampaignUpdate

    settings.MEDIA_ROOT = tmp_path
    buf = io.BytesIO()
    Image.new("RGB", (4800, 3600), (200, 150, 100)).save(buf, "JPEG")
    update = CampaignUpdate(campaign=CampaignFactory(), title="Rally", body="We marched.")
    update.image.save("rally.jpg", ContentFile(buf.getvalue()), save=False)
    update.save()
    seen = []
    real_resize = Image.Image.resize

    def spy(self, size, *args, **kwargs):
        seen.append(self.size)
        return real_resize(self, size, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "resize", spy)
    images.update_image_clean(update=update)
    assert seen
    assert seen[0][0] <= 2400
    with Image.open(update.image.path) as stored:
        assert stored.width == images.UPDATE_IMAGE_WIDTH
