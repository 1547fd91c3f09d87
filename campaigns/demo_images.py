"""Demo pictures drawn with Pillow (no downloads): soft gradients with simple shapes for campaign
heroes, and lettered marks for organization logos. Deterministic, so seeding twice draws the
same pictures."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Colour = tuple[int, int, int]


def _hex(colour: str) -> Colour:
    colour = colour.lstrip("#")
    return (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _gradient(size: tuple[int, int], top: Colour, bottom: Colour) -> Image.Image:
    width, height = size
    column = Image.new("RGB", (1, height))
    for y in range(height):
        column.putpixel((0, y), _mix(top, bottom, y / max(1, height - 1)))
    return column.resize(size)


def hero_jpeg(*, seed: int, top: str, bottom: str, accent: str, motif: str) -> bytes:
    """A 1600×1000 landscape: gradient sky, a glowing sun, soft hills and a motif
    ("fence", "houses" or "towers")."""
    rng = random.Random(seed)  # noqa: S311 — decoration, not security
    size = (1600, 1000)
    img = _gradient(size, _hex(top), _hex(bottom))
    # The glow is drawn and blurred at a quarter of the size, then scaled up: same look, fast.
    small = (size[0] // 4, size[1] // 4)
    glow = Image.new("RGBA", small, (0, 0, 0, 0))
    draw = ImageDraw.Draw(glow)
    cx, cy = rng.randint(900, 1300) // 4, rng.randint(260, 420) // 4
    for radius, alpha in ((65, 40), (45, 70), (27, 170)):
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), (*_hex(accent), alpha))
    glow = glow.filter(ImageFilter.GaussianBlur(4)).resize(size, Image.BILINEAR)
    img.paste(glow, (0, 0), glow)

    draw = ImageDraw.Draw(img, "RGBA")
    base = _hex(bottom)
    for layer in range(3):
        shade = _mix(base, (10, 20, 35), 0.35 + layer * 0.2)
        y0 = 640 + layer * 110
        points = [(0, size[1])]
        for x in range(0, size[0] + 100, 100):
            points.append((x, y0 + rng.randint(-45, 45)))
        points.append((size[0], size[1]))
        draw.polygon(points, (*shade, 235))
        if layer == 1:
            _motif(draw, motif, y0, rng, _mix(shade, (0, 0, 0), 0.35))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def _motif(draw: ImageDraw.ImageDraw, motif: str, ground: int, rng, colour: Colour) -> None:
    if motif == "fence":
        for x in range(0, 1600, 38):
            draw.rectangle((x, ground - 190, x + 6, ground + 40), (*colour, 255))
        for y in (ground - 170, ground - 95, ground - 20):
            draw.rectangle((0, y, 1600, y + 5), (*colour, 255))
        for x in range(0, 1600, 19):
            draw.line((x, ground - 200, x + 9, ground - 188), (*colour, 255), 3)
    elif motif == "houses":
        x = 80
        while x < 1550:
            w, h = rng.randint(90, 150), rng.randint(80, 150)
            draw.rectangle((x, ground - h, x + w, ground + 60), (*colour, 255))
            draw.polygon(
                [(x - 10, ground - h), (x + w // 2, ground - h - 60), (x + w + 10, ground - h)],
                (*colour, 255),
            )
            for wx in range(x + 18, x + w - 25, 38):
                draw.rectangle(
                    (wx, ground - h + 25, wx + 18, ground - h + 48), (255, 214, 140, 220)
                )
            x += w + rng.randint(30, 70)
    else:  # towers and smoke
        for x in (260, 520, 1180):
            draw.rectangle((x, ground - 320, x + 46, ground + 40), (*colour, 255))
            for i in range(6):
                r = 30 + i * 16
                cx, cy = x + 23 + i * 34, ground - 350 - i * 55
                draw.ellipse(
                    (cx - r, cy - r, cx + r, cy + r), (200, 200, 200, max(20, 120 - i * 18))
                )


def logo_png(*, initials: str, background: str, name: str) -> bytes:
    """A 600×160 logo: a rounded badge with initials and the organization's name beside it,
    lettered large enough to read when the logo is shown 64px high."""
    img = Image.new("RGBA", (600, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((4, 4, 156, 156), 30, _hex(background))
    badge_font = ImageFont.load_default(size=72)
    draw.text((80, 80), initials, fill=(255, 255, 255), font=badge_font, anchor="mm")
    name_font = ImageFont.load_default(size=46)
    lines, line = [], ""
    for word in name.split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=name_font) > 420 and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    lines = lines[:2]
    top = 80 - len(lines) * 27
    for i, text in enumerate(lines):
        draw.text((176, top + i * 54), text, fill=(28, 36, 48), font=name_font)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()
