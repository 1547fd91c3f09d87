"""Images people post: the campaign's share card, story and post graphics, the Champion badge
and the profile-picture frame. Pillow only, drawn at twice the size and scaled down so edges
and text are smooth.

Fonts are DejaVu Sans (shipped in static/fonts with its licence); if they are missing we fall
back to Pillow's built-in font rather than failing to draw.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import get_language, gettext, ngettext
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from campaigns.images import image_validate
from campaigns.models import Campaign
from campaigns.templatetags.rallyround import money

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
SCALE = 2  # draw at 2× and downsample: anti-aliased shapes
INK = (28, 36, 48)
MUTED = (74, 85, 102)
TRACK = (226, 232, 240)
WHITE = (255, 255, 255)
SIZES = {"share": (1200, 630), "post": (1080, 1080), "story": (1080, 1920)}
SHARE_CACHE_SECONDS = 7 * 24 * 3600
FUNDING_STEP_PERCENT = 5
FRAME_SIZE = 1080
FRAME_MAX_PIXELS = 30_000_000
FRAME_RING, FRAME_INSET = 44, 8
# The photo's side inside the ring, drawn at SCALE: decoding more than this is wasted.
FRAME_PHOTO_SIZE = (FRAME_SIZE - 2 * (FRAME_RING + FRAME_INSET)) * SCALE
REDUCIBLE_MODES = {"L", "LA", "RGB", "RGBA", "I", "F"}


# --- drawing helpers --------------------------------------------------------------------------
@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        return ImageFont.load_default(size=size)


def rgb(colour: str) -> tuple[int, int, int]:
    try:
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    except (TypeError, ValueError):
        return (31, 95, 139)


def mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def text_width(draw: ImageDraw.ImageDraw, text: str, f) -> float:
    return draw.textlength(text, font=f)


def wrap(draw: ImageDraw.ImageDraw, text: str, f, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap; the last line gets an ellipsis if the text does not fit."""
    words = text.split()
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if text_width(draw, candidate, f) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_width(draw, last + "…", f) > max_width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    # A single word longer than the line: cut it.
    fixed = []
    for line in lines:
        while len(line) > 1 and text_width(draw, line, f) > max_width:
            line = line[:-2] + "…"
        fixed.append(line)
    return fixed


def fit_text(
    draw: ImageDraw.ImageDraw,
    text: str,
    max_width: float,
    max_lines: int,
    sizes: tuple[int, ...],
    bold: bool = True,
    max_height: float | None = None,
):
    """The largest font size at which `text` fits in `max_lines` lines (and `max_height`, at
    1.16 line spacing), and those lines."""
    for size in sizes:
        f = font(size, bold)
        lines = wrap(draw, text, f, max_width, max_lines + 1)
        fits_height = max_height is None or len(lines) * size * 1.16 <= max_height
        if len(lines) <= max_lines and fits_height:
            return f, lines
    f = font(sizes[-1], bold)
    return f, wrap(draw, text, f, max_width, max_lines)


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def _finish(img: Image.Image, size: tuple[int, int]) -> bytes:
    return _png(img.resize(size, Image.LANCZOS))


def _logo(campaign: Campaign) -> Image.Image | None:
    """The organization's logo rendition (or original), decoded safely, or None."""
    org = campaign.organization
    field = org.logo_small or org.logo
    if not field:
        return None
    try:
        with field.open("rb") as fh:
            data = fh.read()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
        return img.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None


def _brand(draw: ImageDraw.ImageDraw, right: int, top: int, s: int, colour) -> None:
    """The small "R Rallyround" mark, right-aligned at (right, top)."""
    f = font(22 * s, True)
    label = "Rallyround"
    w = text_width(draw, label, f)
    box = 32 * s
    x = right - w - box - 10 * s
    draw.rounded_rectangle((x, top, x + box, top + box), radius=7 * s, fill=WHITE)
    fr = font(21 * s, True)
    rw = text_width(draw, "R", fr)
    draw.text((x + (box - rw) / 2, top + 3 * s), "R", font=fr, fill=colour)
    draw.text((x + box + 10 * s, top + 2 * s), label, font=f, fill=WHITE)


def _background(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """The campaign colour, a touch darker towards the bottom, with two soft circles."""
    w, h = size
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    darker = mix(colour, (0, 0, 0), 0.28)
    for y in range(0, h, 4):
        draw.rectangle((0, y, w, y + 4), fill=mix(colour, darker, y / h))
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    od = ImageDraw.Draw(overlay)
    r = int(min(w, h) * 0.55)
    od.ellipse((w - r, -r // 2, w + r, r + r // 2), fill=(255, 255, 255, 22))
    r2 = int(min(w, h) * 0.3)
    od.ellipse((-r2, h - r2, r2, h + r2), fill=(255, 255, 255, 16))
    return Image.alpha_composite(img.convert("RGBA"), overlay)


def _progress_panel(
    img: Image.Image,
    box: tuple[int, int, int, int],
    campaign: Campaign,
    colour: tuple[int, int, int],
    s: int,
    big: int,
    small: int,
) -> None:
    """White card: "$X pledged of $Y goal", the bar, percent and supporters."""
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    draw.rounded_rectangle(box, radius=24 * s, fill=WHITE)
    pad = 36 * s
    pledged = money(campaign.shown_pledged_cents, campaign.currency)
    goal = money(campaign.goal_cents, campaign.currency)
    fb, fs = font(big * s, True), font(small * s, False)
    ty = y0 + pad
    draw.text((x0 + pad, ty), pledged, font=fb, fill=INK)
    pw = text_width(draw, pledged, fb)
    line_gap = (big - small) * s * 0.8
    draw.text(
        (x0 + pad + pw + 12 * s, ty + line_gap),
        gettext("pledged of %(goal)s") % {"goal": goal},
        font=fs,
        fill=MUTED,
    )
    bar_y = ty + big * s + 22 * s
    bar_h = 22 * s
    draw.rounded_rectangle(
        (x0 + pad, bar_y, x1 - pad, bar_y + bar_h), radius=bar_h // 2, fill=TRACK
    )
    percent = campaign.percent_funded
    if percent:
        fill_w = max(bar_h, (x1 - x0 - 2 * pad) * percent / 100)
        draw.rounded_rectangle(
            (x0 + pad, bar_y, x0 + pad + fill_w, bar_y + bar_h), radius=bar_h // 2, fill=colour
        )
    ly = bar_y + bar_h + 18 * s
    fl = font(small * s, True)
    draw.text(
        (x0 + pad, ly), gettext("%(percent)s%% funded") % {"percent": percent}, font=fl, fill=INK
    )
    count = campaign.supporter_count
    right = ngettext("%(count)s supporter", "%(count)s supporters", count) % {"count": f"{count:,}"}
    draw.text((x1 - pad - text_width(draw, right, fl), ly), right, font=fl, fill=INK)
    del y1


def _org_header(img, campaign, x, y, s, max_h, max_w) -> None:
    """The organization's logo on a white chip, or its name."""
    draw = ImageDraw.Draw(img)
    logo = _logo(campaign)
    if logo is not None:
        inner_h = max_h - 20 * s
        ratio = inner_h / logo.height
        lw = min(max_w - 28 * s, round(logo.width * ratio))
        logo = logo.resize((lw, round(logo.height * lw / logo.width)), Image.LANCZOS)
        chip = (x, y, x + logo.width + 28 * s, y + max_h)
        draw.rounded_rectangle(chip, radius=14 * s, fill=WHITE)
        img.alpha_composite(logo, (x + 14 * s, y + (max_h - logo.height) // 2))
        return
    f = font(26 * s, True)
    name = wrap(draw, campaign.organization.name, f, max_w, 1)[0]
    draw.text((x, y + 8 * s), "A CAMPAIGN BY", font=font(16 * s, True), fill=(255, 255, 255))
    draw.text((x, y + 32 * s), name, font=f, fill=WHITE)


# --- the share card and the premium graphics ---------------------------------------------------
def campaign_graphic_png(*, campaign: Campaign, kind: str = "share", tagline: str = "") -> bytes:
    """A PNG for sharing: `share` 1200×630 (Open Graph / X card), `post` 1080×1080, `story`
    1080×1920. Campaign colour behind the title, the organization's logo, progress and
    supporters, and an optional personal tagline ("I'm an Advocate for")."""
    width, height = SIZES[kind]
    s = SCALE
    size = (width * s, height * s)
    colour = rgb(campaign.accent_colour)
    img = _background(size, colour)
    draw = ImageDraw.Draw(img)
    margin = (64 if kind == "share" else 84) * s
    inner = size[0] - 2 * margin

    header_h = (84 if kind == "share" else 104) * s
    _org_header(img, campaign, margin, margin - 8 * s, s, header_h, inner // 2)
    _brand(draw, size[0] - margin, margin + 18 * s, s, colour)

    if kind == "share":
        title_top, title_sizes, title_lines = 160 * s, (68, 62, 56, 50, 44, 40), 3
        panel = (margin, 384 * s, size[0] - margin, 584 * s)
        big, small = 44, 26
    elif kind == "post":
        title_top, title_sizes, title_lines = 300 * s, (84, 76, 68, 60, 52, 46), 4
        panel = (margin, 700 * s, size[0] - margin, 930 * s)
        big, small = 54, 30
    else:
        title_top, title_sizes, title_lines = 660 * s, (96, 88, 80, 72, 64, 56), 5
        panel = (margin, 1330 * s, size[0] - margin, 1560 * s)
        big, small = 56, 30
    title_room = panel[1] - title_top - 28 * s
    if kind == "story":
        title_room -= 200 * s  # the summary goes under the title

    y = title_top
    if tagline:
        ft = font((30 if kind == "share" else 40) * s, True)
        pill_w = text_width(draw, tagline, ft) + 40 * s
        pill_h = (48 if kind == "share" else 64) * s
        draw.rounded_rectangle(
            (margin, y - pill_h - 24 * s, margin + pill_w, y - 24 * s),
            radius=pill_h // 2,
            fill=WHITE,
        )
        draw.text((margin + 20 * s, y - pill_h - 24 * s + 7 * s), tagline, font=ft, fill=colour)
    f, lines = fit_text(
        draw,
        campaign.title,
        inner,
        title_lines,
        tuple(x * s for x in title_sizes),
        max_height=title_room,
    )
    line_h = round(f.size * 1.16)
    for line in lines:
        draw.text((margin, y), line, font=f, fill=WHITE)
        y += line_h
    if kind == "story":
        fsum = font(36 * s, False)
        y += 30 * s
        for line in wrap(draw, campaign.summary, fsum, inner, 4):
            draw.text((margin, y), line, font=fsum, fill=mix(WHITE, colour, 0.12))
            y += round(fsum.size * 1.35)

    _progress_panel(img, panel, campaign, colour, s, big, small)

    if kind != "share":
        # The share card sits next to the link itself; posts and stories need the address.
        site = settings.SITE_URL.split("://", 1)[-1]
        cta = gettext("Join me at %(url)s") % {"url": site + campaign.get_absolute_url()}
        fc = font(32 * s, True)
        cta_y = panel[3] + (30 if kind == "post" else 48) * s
        draw.text((margin, cta_y), wrap(draw, cta, fc, inner, 1)[0], font=fc, fill=WHITE)
        fn = font(26 * s, False)
        note = gettext("Pledges are charged only if the campaign reaches its goal.")
        for i, line in enumerate(wrap(draw, note, fn, inner, 2)):
            draw.text(
                (margin, cta_y + 50 * s + i * 36 * s),
                line,
                font=fn,
                fill=mix(WHITE, colour, 0.15),
            )
    return _finish(img.convert("RGB"), (width, height))


def share_image_step(campaign: Campaign) -> str:
    """What the cached share card depends on: its look, and the totals rounded to a step (every
    5 % of the goal, each supporter milestone), so it is redrawn when the numbers move enough
    to matter and served from the cache otherwise."""
    from supporters.milestones import next_supporter_milestone

    org = campaign.organization
    parts = [
        campaign.title,
        campaign.accent_colour,
        str(campaign.goal_cents),
        campaign.currency,
        org.name,
        str(org.logo_small or org.logo or ""),
        str(campaign.percent_funded // FUNDING_STEP_PERCENT),
        str(next_supporter_milestone(campaign.supporter_count)),
        settings.SITE_URL,
        get_language() or settings.LANGUAGE_CODE,  # its words are in the page's language
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def share_image_cached(*, campaign: Campaign) -> tuple[bytes, str]:
    """The 1200×630 share card from the cache, drawn on a miss. Returns (png, step key)."""
    step = share_image_step(campaign)
    key = f"outreach:share:{campaign.pk}:{step}"
    data = cache.get(key)
    if data is None:
        data = campaign_graphic_png(campaign=campaign, kind="share")
        cache.set(key, data, SHARE_CACHE_SECONDS)
    return data, step


def campaign_graphic_cached(*, campaign: Campaign, kind: str, tagline: str) -> bytes:
    """A story or post graphic from the cache (keyed like the share card, plus the tagline),
    drawn on a miss: the same few images serve every supporter of a tier."""
    digest = hashlib.sha256(tagline.encode()).hexdigest()[:8]
    key = f"outreach:graphic:{campaign.pk}:{kind}:{digest}:{share_image_step(campaign)}"
    data = cache.get(key)
    if data is None:
        data = campaign_graphic_png(campaign=campaign, kind=kind, tagline=tagline)
        cache.set(key, data, SHARE_CACHE_SECONDS)
    return data


# --- the Champion badge -----------------------------------------------------------------------
def _star(draw, cx, cy, r, fill) -> None:
    import math

    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=fill)


def champion_badge_png(*, campaign: Campaign, name: str, size: int = 1080) -> bytes:
    """A round badge on a transparent background: campaign colour, a star, "CHAMPION OF", the
    campaign title and the supporter's chosen name."""
    s = SCALE
    full = size * s
    colour = rgb(campaign.accent_colour)
    img = Image.new("RGBA", (full, full), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    pad = 12 * s
    draw.ellipse((pad, pad, full - pad, full - pad), fill=mix(colour, (0, 0, 0), 0.3))
    ring = 34 * s
    draw.ellipse((pad + ring, pad + ring, full - pad - ring, full - pad - ring), fill=WHITE)
    inner = ring + 14 * s
    draw.ellipse((pad + inner, pad + inner, full - pad - inner, full - pad - inner), fill=colour)
    # A lighter sheen across the top half.
    sheen = Image.new("RGBA", img.size, (0, 0, 0, 0))
    ImageDraw.Draw(sheen).ellipse(
        (pad + inner, pad + inner - full // 3, full - pad - inner, full // 2),
        fill=(255, 255, 255, 18),
    )
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).ellipse(
        (pad + inner, pad + inner, full - pad - inner, full - pad - inner), fill=255
    )
    img = Image.composite(Image.alpha_composite(img, sheen), img, mask)
    draw = ImageDraw.Draw(img)

    cx = full / 2
    _star(draw, cx, 250 * s * size / 1080, 64 * s * size / 1080, (255, 204, 77))
    k = size / 1080
    fl = font(round(40 * s * k), True)
    label = gettext("CHAMPION OF")
    tracking = 8 * s * k
    lw = sum(text_width(draw, ch, fl) for ch in label) + tracking * (len(label) - 1)
    x = cx - lw / 2
    for ch in label:
        draw.text((x, 350 * s * k), ch, font=fl, fill=(255, 232, 170))
        x += text_width(draw, ch, fl) + tracking

    max_w = 700 * s * k
    f, lines = fit_text(
        draw, campaign.title, max_w, 3, tuple(round(x * s * k) for x in (64, 58, 52, 46, 40))
    )
    line_h = round(f.size * 1.18)
    y = 430 * s * k + (3 - len(lines)) * line_h / 2
    for line in lines:
        w = text_width(draw, line, f)
        draw.text((cx - w / 2, y), line, font=f, fill=WHITE)
        y += line_h

    draw.line((cx - 120 * s * k, 750 * s * k, cx + 120 * s * k, 750 * s * k), fill=WHITE, width=3)
    fn, name_lines = fit_text(
        draw, name, 620 * s * k, 1, tuple(round(x * s * k) for x in (54, 48, 42, 36, 30))
    )
    w = text_width(draw, name_lines[0], fn)
    draw.text((cx - w / 2, 785 * s * k), name_lines[0], font=fn, fill=WHITE)
    fb = font(round(26 * s * k), True)
    brand = "RALLYROUND"
    w = text_width(draw, brand, fb)
    draw.text((cx - w / 2, 895 * s * k), brand, font=fb, fill=(255, 255, 255, 200))
    return _finish(img, (size, size))


def champion_badge_cached(*, campaign: Campaign, name: str) -> bytes:
    """The badge from the cache (keyed on everything drawn on it), drawn on a miss."""
    look = "\x1f".join([campaign.title, campaign.accent_colour, name, get_language() or ""])
    key = f"outreach:badge:{campaign.pk}:{hashlib.sha256(look.encode()).hexdigest()[:20]}"
    data = cache.get(key)
    if data is None:
        data = champion_badge_png(campaign=campaign, name=name)
        cache.set(key, data, SHARE_CACHE_SECONDS)
    return data


# --- update images ----------------------------------------------------------------------------
UPDATE_IMAGE_WIDTH = 1600


def update_image_clean(*, update) -> None:
    """Re-encode an update's uploaded image without metadata (EXIF can carry the GPS position
    of where a protest photo was taken) and no wider than the page and email need. The form
    validated it first; saves the update's image field."""
    field = update.image
    if not field:
        return
    with field.open("rb") as fh:
        data = fh.read()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        img = Image.open(io.BytesIO(data))
        # A JPEG decodes at 1/2, 1/4 or 1/8 scale for free; both sides stay >= the width kept,
        # whichever way the camera's rotation turns it.
        img.draft("RGB", (UPDATE_IMAGE_WIDTH, UPDATE_IMAGE_WIDTH))
        img.load()
    fmt = "PNG" if img.format == "PNG" else "JPEG"
    img = ImageOps.exif_transpose(img)
    if img.width > UPDATE_IMAGE_WIDTH:
        height = round(img.height * UPDATE_IMAGE_WIDTH / img.width)
        img = img.resize((UPDATE_IMAGE_WIDTH, height), Image.LANCZOS)
    out = io.BytesIO()
    if fmt == "JPEG":
        if img.mode != "RGB":
            img = img.convert("RGB")
        img.save(out, "JPEG", quality=84, optimize=True, progressive=True)
    else:
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            img = img.convert("RGBA")
        img.save(out, "PNG", optimize=True)
    old_name = field.name
    stem = Path(old_name).stem[:60] or "update"
    field.save(
        f"{stem}.{fmt.lower().replace('jpeg', 'jpg')}", ContentFile(out.getvalue()), save=False
    )
    if field.name != old_name:
        field.storage.delete(old_name)
    update.save(update_fields=["image"])


# --- the profile-picture frame ----------------------------------------------------------------
def frame_validate(upload) -> None:
    """Raise ValidationError (a sentence a person understands) unless `upload` is a photo we
    can safely decode: JPEG, PNG or WebP, within the byte and pixel limits, not a bomb."""
    image_validate(upload)


def framed_photo_png(*, upload, campaign: Campaign, label: str | None = None) -> bytes:
    """Square-crop the photo to a circle inside a ring in the campaign colour, with a small
    label at the bottom. Validates first; raises ValidationError for anything unreadable."""
    label = label if label is not None else gettext("Champion")
    frame_validate(upload)
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            photo = Image.open(upload)
            if photo.width * photo.height > min(FRAME_MAX_PIXELS, settings.IMAGE_MAX_PIXELS):
                raise ValidationError(
                    "That photo has too many pixels for us to frame. Please use a smaller one.",
                    code="image_too_many_pixels",
                )
            # A JPEG decodes at 1/2, 1/4 or 1/8 scale for free: no bigger than the circle needs.
            photo.draft("RGB", (FRAME_PHOTO_SIZE, FRAME_PHOTO_SIZE))
            photo.load()
            # Other formats decode in full; shrink before the RGB copy where Pillow can.
            factor = min(photo.size) // FRAME_PHOTO_SIZE
            if factor >= 2 and photo.mode in REDUCIBLE_MODES:
                photo = photo.reduce(factor)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            "That image has far too many pixels to process safely. Please upload an ordinary "
            "photo.",
            code="image_bomb",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError(
            "We could not read that photo. Please upload a JPEG, PNG or WebP.",
            code="image_unreadable",
        ) from exc
    photo = ImageOps.exif_transpose(photo).convert("RGB")

    s = SCALE
    full = FRAME_SIZE * s
    colour = rgb(campaign.accent_colour)
    ring = FRAME_RING * s
    inset = FRAME_INSET * s
    photo = ImageOps.fit(photo, (full - 2 * (ring + inset), full - 2 * (ring + inset)))
    img = Image.new("RGBA", (full, full), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse((0, 0, full - 1, full - 1), fill=colour)
    draw.ellipse((ring, ring, full - ring, full - ring), fill=WHITE)
    mask = Image.new("L", photo.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, photo.width - 1, photo.height - 1), fill=255)
    img.paste(photo, (ring + inset, ring + inset), mask)

    # The label: a pill on the ring at the bottom, white border, campaign colour.
    fl = font(52 * s, True)
    text = label.upper()
    tw = text_width(draw, text, fl)
    pill_w, pill_h = tw + 90 * s, 96 * s
    px = (full - pill_w) / 2
    py = full - pill_h - 40 * s
    draw.rounded_rectangle(
        (px - 8 * s, py - 8 * s, px + pill_w + 8 * s, py + pill_h + 8 * s),
        radius=(pill_h + 16 * s) // 2,
        fill=WHITE,
    )
    draw.rounded_rectangle((px, py, px + pill_w, py + pill_h), radius=pill_h // 2, fill=colour)
    draw.text((px + 45 * s, py + 16 * s), text, font=fl, fill=WHITE)
    return _finish(img, (FRAME_SIZE, FRAME_SIZE))
