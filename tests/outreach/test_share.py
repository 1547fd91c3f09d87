"""The share kit: meta tags, the share card, referral links, premium graphics, the Champion
badge and the profile-picture frame."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from campaigns.models import Campaign
from outreach.images import share_image_step
from supporters.models import Supporter
from tests.factories import CampaignFactory, SupporterFactory, verified_user

pytestmark = pytest.mark.django_db


def png_of(response) -> Image.Image:
    assert response["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(b"".join(response)))
    img.load()
    assert img.format == "PNG"
    return img


def assert_not_blank(img: Image.Image) -> None:
    colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None
    assert len(colours) > 50
    extrema = img.convert("L").getextrema()
    assert extrema[1] - extrema[0] > 100  # real contrast, not a flat fill


def login_as(client, campaign, tier, **kwargs):
    user = verified_user()  # supporter pages trust only a proven address (issue 12)
    supporter = SupporterFactory(
        campaign=campaign, user=user, email=user.email, tier=tier, **kwargs
    )
    client.force_login(user)
    return supporter


# --- the campaign page ------------------------------------------------------------------------
def test_campaign_page_has_open_graph_and_twitter_card_tags(client):
    campaign = CampaignFactory(title="Free buses now")
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert '<meta property="og:title" content="Free buses now">' in html
    assert f"/c/{campaign.slug}/share.png?v=" in html
    assert '<meta property="og:image:width" content="1200">' in html
    assert '<meta name="twitter:card" content="summary_large_image">' in html


def test_share_panel_links_carry_the_supporters_referral_code(client):
    campaign = CampaignFactory()
    supporter = login_as(client, campaign, "ally")
    assert supporter.share_code is None
    html = client.get(campaign.get_absolute_url()).content.decode()
    supporter.refresh_from_db()
    assert supporter.share_code
    assert f"?source={supporter.share_code}" in html
    assert "https://wa.me/?" in html
    assert "facebook.com/sharer" in html
    assert "twitter.com/intent/tweet" in html
    assert "mailto:?" in html
    # Same code next time: made once.
    client.get(campaign.get_absolute_url())
    assert Supporter.objects.get(pk=supporter.pk).share_code == supporter.share_code


def test_anonymous_share_panel_has_a_plain_link(client):
    campaign = CampaignFactory()
    html = client.get(campaign.get_absolute_url()).content.decode()
    assert "Share this campaign" in html
    assert "?source=" not in html.split("share-panel")[1].split("</section>")[0]


def test_referral_through_a_share_link_is_recorded_on_sign_on(client):
    campaign = CampaignFactory()
    sharer = SupporterFactory(campaign=campaign, share_code="abc12345")
    client.get(f"{campaign.get_absolute_url()}?source={sharer.share_code}")
    from django.test import RequestFactory

    from supporters.middleware import tracking_for

    later = RequestFactory().get("/")
    later.COOKIES = {k: m.value for k, m in client.cookies.items()}
    assert tracking_for(later, campaign.slug)["source"] == "abc12345"


# --- the share card ---------------------------------------------------------------------------
def test_share_image_is_a_1200_by_630_png_with_real_content(client):
    campaign = CampaignFactory(pledged_cents=40_000, supporter_count=120)
    img = png_of(client.get(reverse("outreach:share_image", kwargs={"slug": campaign.slug})))
    assert img.size == (1200, 630)
    assert_not_blank(img)


def test_share_image_is_cached_until_totals_move_a_step(client, django_assert_num_queries):
    campaign = CampaignFactory(goal_cents=100_000, pledged_cents=10_000)
    url = reverse("outreach:share_image", kwargs={"slug": campaign.slug})
    first = client.get(url)
    step = share_image_step(campaign)
    # 1 % more is inside the same 5 % step: same card, served from the cache.
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=11_000)
    campaign.refresh_from_db()
    assert share_image_step(campaign) == step
    again = client.get(url)
    assert again["ETag"] == first["ETag"]
    # Past the next step: a new card.
    Campaign.objects.filter(pk=campaign.pk).update(pledged_cents=16_000)
    campaign.refresh_from_db()
    assert share_image_step(campaign) != step
    assert client.get(url)["ETag"] != first["ETag"]


def test_share_image_of_a_draft_is_404(client):
    campaign = CampaignFactory(status="draft")
    assert (
        client.get(reverse("outreach:share_image", kwargs={"slug": campaign.slug})).status_code
        == 404
    )


# --- premium graphics -------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "size"), [("story", (1080, 1920)), ("post", (1080, 1080))])
def test_advocates_download_story_and_post_graphics(client, kind, size):
    campaign = CampaignFactory()
    login_as(client, campaign, "advocate")
    url = reverse("outreach:share_graphic", kwargs={"slug": campaign.slug, "kind": kind})
    response = client.get(url + "?download=1")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    img = png_of(response)
    assert img.size == size
    assert_not_blank(img)


def test_allies_get_no_premium_graphics(client):
    campaign = CampaignFactory()
    login_as(client, campaign, "ally")
    url = reverse("outreach:share_graphic", kwargs={"slug": campaign.slug, "kind": "story"})
    assert client.get(url).status_code == 403
    kit = client.get(reverse("outreach:share_kit", kwargs={"slug": campaign.slug}))
    assert kit.status_code == 200
    assert b"Become an Advocate" in kit.content
    assert b"story.png" not in kit.content


def test_dashboard_links_to_the_share_kit_and_champion_badge(client):
    campaign = CampaignFactory()
    login_as(client, campaign, "champion")
    html = client.get("/me/").content.decode()
    assert reverse("outreach:share_kit", kwargs={"slug": campaign.slug}) in html
    assert reverse("outreach:badge", kwargs={"slug": campaign.slug}) in html


# --- the Champion badge -----------------------------------------------------------------------
def test_champion_badge_is_a_real_png_with_their_name(client):
    campaign = CampaignFactory()
    login_as(client, campaign, "champion", display_name="Maria G.")
    response = client.get(reverse("outreach:badge_png", kwargs={"slug": campaign.slug}))
    assert response.status_code == 200
    img = png_of(response)
    assert img.size == (1080, 1080)
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0  # transparent corners: a round badge
    assert_not_blank(img)
    page = client.get(reverse("outreach:badge", kwargs={"slug": campaign.slug}))
    assert "Maria G." in page.content.decode()


@pytest.mark.parametrize("tier", ["ally", "advocate"])
def test_badge_is_forbidden_below_champion(client, tier):
    campaign = CampaignFactory()
    login_as(client, campaign, tier)
    assert (
        client.get(reverse("outreach:badge_png", kwargs={"slug": campaign.slug})).status_code == 403
    )
    assert client.get(reverse("outreach:badge", kwargs={"slug": campaign.slug})).status_code == 403


def test_badge_needs_a_login(client):
    campaign = CampaignFactory()
    response = client.get(reverse("outreach:badge_png", kwargs={"slug": campaign.slug}))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- the profile-picture frame ----------------------------------------------------------------
def photo_upload(size=(900, 700), fmt="JPEG", name="me.jpg") -> SimpleUploadedFile:
    buf = io.BytesIO()
    img = Image.new("RGB", size, (200, 150, 100))
    for x in range(0, size[0], 50):
        img.paste((30, 60, 90), (x, 0, x + 20, size[1]))
    img.save(buf, fmt)
    return SimpleUploadedFile(name, buf.getvalue(), content_type=f"image/{fmt.lower()}")


def png_bomb(width=100_000, height=100_000) -> bytes:
    """A tiny PNG whose header claims 10 billion pixels."""
    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data[12:29]  # b"IHDR" + 13 bytes of header data
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture
def champion_client(client):
    campaign = CampaignFactory()
    login_as(client, campaign, "champion")
    return client, reverse("outreach:badge", kwargs={"slug": campaign.slug})


def test_frame_returns_the_photo_framed_as_a_png(champion_client):
    client, url = champion_client
    response = client.post(url, {"photo": photo_upload()})
    assert response.status_code == 200
    import base64

    html = response.content.decode()
    data = html.split("data:image/png;base64,")[1].split('"')[0]
    img = Image.open(io.BytesIO(base64.b64decode(data)))
    assert img.size == (1080, 1080)
    assert img.getpixel((0, 0))[3] == 0  # circle crop
    assert img.getpixel((540, 540))[:3] != (0, 0, 0)
    assert_not_blank(img)


def test_frame_rejects_a_file_that_is_not_an_image(champion_client):
    client, url = champion_client
    fake = SimpleUploadedFile("me.jpg", b"this is not a photo", content_type="image/jpeg")
    response = client.post(url, {"photo": fake})
    assert response.status_code == 400
    assert "not an image we can read" in response.content.decode()
    assert "data:image/png" not in response.content.decode()


def test_frame_rejects_a_decompression_bomb(champion_client):
    client, url = champion_client
    bomb = SimpleUploadedFile("bomb.png", png_bomb(), content_type="image/png")
    response = client.post(url, {"photo": bomb})
    assert response.status_code == 400
    html = response.content.decode()
    assert "too many pixels" in html
    assert "data:image/png" not in html


def test_frame_rejects_a_file_that_is_too_large(champion_client, settings):
    client, url = champion_client
    settings.IMAGE_MAX_BYTES = 10_000
    response = client.post(url, {"photo": photo_upload(size=(1500, 1500), fmt="PNG")})
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()


def test_frame_rejects_a_gif(champion_client):
    client, url = champion_client
    response = client.post(url, {"photo": photo_upload(fmt="GIF", name="me.gif")})
    assert response.status_code == 400
    assert "Please upload a JPEG, PNG or WebP" in response.content.decode()
