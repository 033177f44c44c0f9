"""Draws the app's icons (the check mark of favicon.svg on the accent colour) as PNG files.

The PNGs are committed, so neither a build nor a server needs Pillow. Run again after a
change of colour or shape:
    .bootstrap/bin/uv run --no-project --with pillow scripts/make-icons.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ACCENT = (79, 70, 229, 255)  # --accent in app.css and the fill of favicon.svg
WHITE = (255, 255, 255, 255)
OUT = Path(__file__).parents[1] / "src" / "todo" / "web" / "static" / "icons"
# Drawn this many times larger, then scaled down: Pillow draws without anti-aliasing.
SUPERSAMPLE = 4
# favicon.svg's check mark, on its 32-unit grid.
CHECK = [(9.0, 16.5), (13.5, 21.0), (23.0, 11.5)]
STROKE = 3.2


def _check(draw: ImageDraw.ImageDraw, origin: float, unit: float) -> None:
    points = [(origin + x * unit, origin + y * unit) for x, y in CHECK]
    width = round(STROKE * unit)
    draw.line(points, fill=WHITE, width=width, joint="curve")
    for x, y in (points[0], points[-1]):  # round caps, as stroke-linecap="round"
        radius = width / 2
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=WHITE)


def icon(size: int, *, maskable: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        # The platform cuts its own shape: the colour fills everything, and the mark stays
        # inside the central 80% "safe zone" that every mask keeps.
        draw.rectangle((0, 0, big, big), fill=ACCENT)
        unit = big * 0.8 / 32
        _check(draw, (big - 32 * unit) / 2, unit)
    else:
        unit = big / 32
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=7 * unit, fill=ACCENT)
        _check(draw, 0, unit)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
        icon(size, maskable=True).save(OUT / f"maskable-{size}.png", optimize=True)


if __name__ == "__main__":
    main()
