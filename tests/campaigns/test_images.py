"""Uploaded images: only real JPEG/PNG/WebP within limits; EXIF stripped; renditions made."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campaigns.images import campaign_hero_refresh, image_validate, organization_logo_refresh
from campaigns.models import Campaign
from tests.factories import CampaignFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def image_bytes(fmt="JPEG", size=(1600, 900), mode="RGB", exif=False) -> bytes:
    img = Image.new(mode, size, (40, 90, 140) if mode == "RGB" else None)
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SpyCam Inc"  # Make
        data[0x0131] = "Secret Editor"  # Software
        kwargs["exif"] = data.tobytes()
    img.save(out, fmt, **kwargs)
    return out.getvalue()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_jpeg_png_and_webp_are_accepted(fmt):
    image_validate(upload(image_bytes(fmt)))


def test_a_file_that_is_not_an_image_is_refused():
    with pytest.raises(ValidationError, match="not an image we can read"):
        image_validate(upload(b"%PDF-1.4 definitely not a photo", name="cv.jpg"))


def test_a_truncated_image_is_refused():
    with pytest.raises(ValidationError, match="not an image we can read"):
        image_validate(upload(image_bytes("PNG")[:200], name="cut.png"))


def test_gif_is_refused_with_the_formats_we_take():
    with pytest.raises(ValidationError, match="Please upload a JPEG, PNG or WebP"):
        image_validate(upload(image_bytes("GIF", mode="RGB"), name="a.gif"))


def test_an_image_over_the_byte_limit_is_refused(settings):
    settings.IMAGE_MAX_BYTES = 1024 * 1024
    big = upload(b"\xff\xd8" + b"0" * (2 * 1024 * 1024), name="huge.jpg")
    with pytest.raises(ValidationError, match="the limit is 1 MB"):
        image_validate(big)


def test_an_image_over_the_pixel_limit_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    with pytest.raises(ValidationError, match="more than the 1,000,000 pixels"):
        image_validate(upload(image_bytes("PNG", size=(2000, 1000))))


def test_a_decompression_bomb_is_refused_before_decoding():
    # 100 megapixels of one colour compress to a few kilobytes of PNG.
    bomb = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(bomb, "PNG")
    assert bomb.tell() < 100_000
    with pytest.raises(ValidationError) as excinfo:
        image_validate(upload(bomb.getvalue(), name="bomb.png"))
    assert excinfo.value.code in {"image_too_many_pixels", "image_bomb"}


def test_hero_refresh_strips_exif_and_makes_1200_and_600_wide_renditions():
    campaign = CampaignFactory(hero_alt="A crowd")
    source = image_bytes("JPEG", size=(2400, 1600), exif=True)
    assert Image.open(io.BytesIO(source)).getexif()  # the upload carries EXIF
    campaign.hero_image.save("crowd.jpg", upload(source), save=True)

    campaign_hero_refresh(campaign=campaign)

    campaign = Campaign.objects.get(pk=campaign.pk)
    with campaign.hero_image.open("rb") as f:
        original = Image.open(io.BytesIO(f.read()))
    assert not original.getexif()
    assert original.size == (2400, 1600)
    for field, width in (("hero_large", 1200), ("hero_small", 600)):
        with getattr(campaign, field).open("rb") as f:
            rendition = Image.open(io.BytesIO(f.read()))
        assert rendition.size == (width, width * 2 // 3)
        assert rendition.format == "JPEG"
        assert not rendition.getexif()


def test_small_hero_is_not_upscaled():
    campaign = CampaignFactory()
    campaign.hero_image.save("small.png", upload(image_bytes("PNG", size=(500, 300))), save=True)
    campaign_hero_refresh(campaign=campaign)
    with campaign.hero_large.open("rb") as f:
        assert Image.open(io.BytesIO(f.read())).size == (500, 300)


def test_removing_the_hero_removes_its_renditions():
    campaign = CampaignFactory()
    campaign.hero_image.save("a.jpg", upload(image_bytes()), save=True)
    campaign_hero_refresh(campaign=campaign)
    storage = campaign.hero_large.storage
    large_name = campaign.hero_large.name
    assert storage.exists(large_name)
    campaign.hero_image = ""
    campaign_hero_refresh(campaign=campaign)
    campaign.refresh_from_db()
    assert not campaign.hero_large
    assert not campaign.hero_small
    assert not storage.exists(large_name)


def test_logo_rendition_is_160_high_png_keeping_transparency():
    org = OrganizationFactory()
    logo = Image.new("RGBA", (900, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    logo.save(out, "PNG")
    org.logo.save("logo.png", upload(out.getvalue(), "logo.png", "image/png"), save=True)
    organization_logo_refresh(organization=org)
    with org.logo_small.open("rb") as f:
        small = Image.open(io.BytesIO(f.read()))
    assert small.size == (480, 160)
    assert small.mode == "RGBA"


def test_admin_upload_of_a_non_image_shows_a_message_and_keeps_the_old_photo(client):
    campaign = CampaignFactory(hero_alt="Old photo")
    campaign.hero_image.save("old.jpg", upload(image_bytes()), save=True)
    old_name = campaign.hero_image.name
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    from tests.campaigns.test_admin import form_data

    data = form_data(client.get(url))
    data["hero_image"] = upload(b"MZ\x90\x00 an executable", name="photo.jpg")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "That file is not an image we can read." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.hero_image.name == old_name


def test_admin_upload_makes_renditions_and_the_page_uses_them(client):
    campaign = CampaignFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    from tests.campaigns.test_admin import form_data

    data = form_data(client.get(url))
    data["hero_image"] = upload(image_bytes(size=(1800, 1200), exif=True), name="march.jpg")
    data["hero_alt"] = "Marchers on the bridge"
    response = client.post(url, data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.hero_large
    assert campaign.hero_small
    html = client.get(f"/c/{campaign.slug}/").content.decode()
    assert campaign.hero_large.url in html
    assert f"{campaign.hero_small.url} 600w" in html
    assert 'alt="Marchers on the bridge"' in html
    assert 'width="1200" height="800"' in html  # space reserved before the photo loads


def test_admin_requires_a_description_for_a_new_hero(client):
    campaign = CampaignFactory(hero_alt="")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    from tests.campaigns.test_admin import form_data

    data = form_data(client.get(url))
    data["hero_image"] = upload(image_bytes(), name="x.jpg")
    response = client.post(url, data)
    assert "Describe the photo for people using screen readers" in response.content.decode()


def test_cmyk_and_palette_images_become_rgb_renditions():
    campaign = CampaignFactory()
    cmyk = io.BytesIO()
    Image.new("CMYK", (1400, 700), (10, 200, 30, 0)).save(cmyk, "JPEG")
    campaign.hero_image.save("print.jpg", upload(cmyk.getvalue()), save=True)
    campaign_hero_refresh(campaign=campaign)
    with campaign.hero_small.open("rb") as f:
        assert Image.open(io.BytesIO(f.read())).mode == "RGB"

    org = OrganizationFactory()
    palette = io.BytesIO()
    Image.new("P", (640, 320), 3).save(palette, "PNG", transparency=0)
    org.logo.save("p.png", upload(palette.getvalue(), "p.png", "image/png"), save=True)
    organization_logo_refresh(organization=org)
    with org.logo_small.open("rb") as f:
        assert Image.open(io.BytesIO(f.read())).mode == "RGBA"


def test_colour_profile_is_kept_while_exif_goes():
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc"
    source = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 80, 40)).save(
        source, "JPEG", icc_profile=profile, exif=exif.tobytes()
    )
    campaign = CampaignFactory()
    campaign.hero_image.save("icc.jpg", upload(source.getvalue()), save=True)
    campaign_hero_refresh(campaign=campaign)
    for field in (campaign.hero_image, campaign.hero_large):
        with field.open("rb") as f:
            stored = Image.open(io.BytesIO(f.read()))
        assert stored.info.get("icc_profile") == profile
        assert not stored.getexif()


def test_replacing_the_hero_in_the_admin_deletes_the_old_files(client):
    campaign = CampaignFactory(hero_alt="Old photo")
    campaign.hero_image.save("old.jpg", upload(image_bytes()), save=True)
    campaign_hero_refresh(campaign=campaign)
    storage = campaign.hero_image.storage
    old = [campaign.hero_image.name, campaign.hero_large.name, campaign.hero_small.name]
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"
    from tests.campaigns.test_admin import form_data

    data = form_data(client.get(url))
    data["hero_image"] = upload(image_bytes(size=(1300, 900)), name="new.jpg")
    assert client.post(url, data).status_code == 302
    campaign.refresh_from_db()
    assert campaign.hero_image.name not in old
    assert storage.exists(campaign.hero_image.name)
    assert not any(storage.exists(name) for name in old)


def test_organizer_uploads_a_logo_for_their_organization_and_cannot_change_members(client):
    org = OrganizationFactory()
    organizer = UserFactory(is_staff=True)
    from django.contrib.auth.models import Group

    organizer.groups.add(Group.objects.get(name="Organizers"))
    org.members.add(organizer)
    client.force_login(organizer)
    url = f"/admin/campaigns/organization/{org.pk}/change/"
    page = client.get(url)
    assert "members" not in page.context["adminform"].form.fields
    logo = io.BytesIO()
    Image.new("RGBA", (800, 400), (20, 60, 120, 255)).save(logo, "PNG")
    data = {
        "name": org.name,
        "website": org.website,
        "address": org.address,
        "phone": org.phone,
        "about": org.about,
        "logo": upload(logo.getvalue(), "logo.png", "image/png"),
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    org.refresh_from_db()
    assert (org.logo_small_width, org.logo_small_height) == (320, 160)
    assert list(org.members.all()) == [organizer]
