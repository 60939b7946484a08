"""Tray icon looks: painted at every size and pixel ratio, and told apart by shape, not colour alone."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from ccdesk.qt.tray_icon import (
    ICON_SIZES,
    PALETTES,
    PIXEL_RATIOS,
    PRICE_ICON_SIZES,
    IconFace,
    Scheme,
    TrayIconCache,
    TrayLook,
    fit_text,
    render_face_icon,
    render_face_pixmap,
    render_tray_icon,
    render_tray_pixmap,
    scheme_for,
    tight_text,
)

SHEET_ENV = "CCDESK_TRAY_SHEET"
PRICE_SHEET_ENV = "CCDESK_TRAY_PRICE_SHEET"


def image(look: TrayLook, size: int, ratio: float = 1.0) -> QImage:
    return render_tray_pixmap(look, size, ratio).toImage().convertToFormat(QImage.Format.Format_ARGB32)


def glyph_mask(img: QImage) -> set[tuple[int, int]]:
    """The pixels of the glyph: opaque pixels whose colour is far from the look's own badge colour.

    Each look is measured against its own badge, so the mask is the shape alone: two looks
    that differed only in colour would have the same mask.
    """
    w, h = img.width(), img.height()
    badge = img.pixelColor(max(1, w // 12), h // 2)  # the badge's left edge, inside the rounded corner
    mask = set()
    for y in range(h):
        for x in range(w):
            c = img.pixelColor(x, y)
            if c.alpha() < 128:
                continue
            dist = abs(c.red() - badge.red()) + abs(c.green() - badge.green()) + abs(c.blue() - badge.blue())
            if dist > 120:
                mask.add((x, y))
    return mask


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("look", list(TrayLook))
def test_every_look_paints_at_every_size_and_ratio(look: TrayLook) -> None:
    for size, ratio in itertools.product(ICON_SIZES, PIXEL_RATIOS):
        pixmap = render_tray_pixmap(look, size, ratio)
        px = round(size * ratio)
        assert (pixmap.width(), pixmap.height()) == (px, px)
        assert pixmap.devicePixelRatio() == ratio
        img = pixmap.toImage()
        assert img.pixelColor(0, 0).alpha() == 0  # outside the rounded badge
        assert img.pixelColor(px // 2, px // 2).alpha() == 255
        assert len(glyph_mask(img.convertToFormat(QImage.Format.Format_ARGB32))) >= px * px // 20, (
            f"{look} at {size}@{ratio}x has (almost) no glyph"
        )


@pytest.mark.usefixtures("qapp")
def test_the_icon_offers_hidpi_pixmaps() -> None:
    icon = render_tray_icon(TrayLook.UP)
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert {(s, s) for s in ICON_SIZES} <= sizes
    assert {(2 * s, 2 * s) for s in ICON_SIZES} <= sizes
    sharp = icon.pixmap(QSize(22, 22), 2.0)
    assert sharp.devicePixelRatio() == 2.0
    assert (sharp.width(), sharp.height()) == (44, 44)
    # The 2x pixmap is painted at 44 px, not the 22 px one scaled up: same as painting it directly.
    assert sharp.toImage() == render_tray_pixmap(TrayLook.UP, 22, 2.0).toImage()


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("size", [16, 22, 64])
def test_looks_differ_pairwise_in_shape(size: int) -> None:
    masks = {look: glyph_mask(image(look, size)) for look in TrayLook}
    for a, b in itertools.combinations(TrayLook, 2):
        differing = len(masks[a] ^ masks[b])
        # At least ~10% of the icon's area differs in shape between any two looks.
        assert differing >= size * size // 10, f"{a} and {b} differ in only {differing} pixels at {size} px"
        assert image(a, size) != image(b, size)


@pytest.mark.usefixtures("qapp")
def test_up_and_down_are_mirror_shapes_not_just_recoloured() -> None:
    up, down = glyph_mask(image(TrayLook.UP, 22)), glyph_mask(image(TrayLook.DOWN, 22))
    # The up triangle is wide at the bottom; the down triangle is wide at the top.
    assert sum(1 for x, y in up if y >= 15) > 2 * sum(1 for x, y in up if y <= 6)
    assert sum(1 for x, y in down if y <= 6) > 2 * sum(1 for x, y in down if y >= 15)


@pytest.mark.usefixtures("qapp")
def test_cache_paints_each_look_once() -> None:
    cache = TrayIconCache()
    first = cache.icon(TrayLook.STALE)
    assert cache.icon(TrayLook.STALE).cacheKey() == first.cacheKey()
    assert cache.icon(TrayLook.DOWN).cacheKey() != first.cacheKey()


def contact_sheet() -> QImage:
    """Every look at 22 px (1x, and 2x shown at 44 device px), 64 px, and 22 px zoomed 4x to see the
    pixels, on a light and a dark panel."""
    looks = list(TrayLook)
    cell_w, band_h = 150, 200
    sheet = QImage(20 + cell_w * len(looks), 2 * band_h, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#ffffff"))
    p = QPainter(sheet)
    font = QFont()
    font.setPixelSize(12)
    p.setFont(font)
    for band, (panel, ink) in enumerate([("#f0f0f0", "#333333"), ("#2b2b2b", "#dddddd")]):
        top = band * band_h
        p.fillRect(QRect(0, top, sheet.width(), band_h), QColor(panel))
        for i, look in enumerate(looks):
            x = 10 + i * cell_w
            p.setPen(QColor(ink))
            p.drawText(QPoint(x, top + 16), look.value)
            small = render_tray_pixmap(look, 22)
            p.drawPixmap(QPoint(x, top + 28), small)
            hidpi = render_tray_pixmap(look, 22, 2.0)
            hidpi.setDevicePixelRatio(1.0)  # show its real 44 device pixels
            p.drawPixmap(QPoint(x + 30, top + 28), hidpi)
            zoom = small.scaled(
                88, 88, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
            )
            p.drawPixmap(QPoint(x, top + 80), zoom)
            p.drawPixmap(QPoint(x + 80, top + 28), render_tray_pixmap(look, 64))
    p.end()
    return sheet


@pytest.mark.usefixtures("qapp")
def test_contact_sheet(tmp_path: Path) -> None:
    """Writes the sheet for people to look at: to tmp_path, and to $CCDESK_TRAY_SHEET if set."""
    sheet = contact_sheet()
    assert sheet.save(str(tmp_path / "tray_looks.png"))
    target = os.environ.get(SHEET_ENV)
    if target:
        assert sheet.save(target)


# --- the price in the icon (issue 10) --------------------------------------------------------------


PRICES = ("91.2k", "3,102", "0.1706", "152.3", "1.25M", "12.35")


def argb(face: IconFace, size: int, ratio: float = 1.0) -> QImage:
    return render_face_pixmap(face, size, ratio).toImage().convertToFormat(QImage.Format.Format_ARGB32)


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("text", PRICES)
def test_the_price_fits_inside_the_badge_at_every_tray_size_and_ratio(text: str) -> None:
    for size, ratio in itertools.product((16, 20, 22, 24, 32), PIXEL_RATIOS):
        px = round(size * ratio)
        shown = tight_text(text, px)
        fit = fit_text(shown, px, px * 0.5)
        assert fit.width <= fit.max_width + 0.01, (text, size, ratio)
        assert fit.x_scale >= 0.5, (text, size, ratio)  # squeezed, never crushed
        for look in (TrayLook.UP, TrayLook.IDLE, TrayLook.STALE):
            pixmap = render_face_pixmap(IconFace(look, text, paused=True), size, ratio)
            assert (pixmap.width(), pixmap.height(), pixmap.devicePixelRatio()) == (px, px, ratio)


def text_pixels(img: QImage, ink: QColor, limit: int = 90) -> set[tuple[int, int]]:
    """The pixels close to ``ink`` (the price's own colour)."""
    out = set()
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            far = abs(c.red() - ink.red()) + abs(c.green() - ink.green()) + abs(c.blue() - ink.blue())
            if c.alpha() > 200 and far < limit:
                out.add((x, y))
    return out


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("scheme", list(Scheme))
def test_no_text_pixel_touches_the_border_and_the_price_is_drawn(scheme: Scheme) -> None:
    ink = PALETTES[scheme].text
    for text, (size, ratio) in itertools.product(
        PRICES, [(16, 1.0), (22, 1.0), (24, 1.0), (32, 1.0), (16, 2.0)]
    ):
        img = argb(IconFace(TrayLook.UP, text, scheme=scheme), size, ratio)
        pixels = text_pixels(img, ink, 200)  # antialiased figures at 16 px are rarely pure ink
        px = img.width()
        assert len(pixels) >= px * px // 40, (text, size, ratio)  # there is text
        xs = [x for x, _ in pixels]
        ys = [y for _, y in pixels]
        # Not clipped: a clear column and row of badge between the figures and the edge.
        assert min(xs) >= 1, (text, size, ratio)
        assert max(xs) <= px - 2, (text, size, ratio)
        assert min(ys) >= 1, (text, size, ratio)
        assert max(ys) <= px - 2, (text, size, ratio)


@pytest.mark.usefixtures("qapp")
def test_another_price_draws_another_icon_and_the_same_price_the_same() -> None:
    for size in (16, 32):
        a = argb(IconFace(TrayLook.UP, "91.2k"), size)
        assert argb(IconFace(TrayLook.UP, "91.2k"), size) == a
        assert argb(IconFace(TrayLook.UP, "92.2k"), size) != a
        assert argb(IconFace(TrayLook.UP, "91.2k", paused=True), size) != a
    # At 16 px both are drawn as "91k"; from 18 px on the tenths show.
    assert argb(IconFace(TrayLook.UP, "91.3k"), 16) == argb(IconFace(TrayLook.UP, "91.2k"), 16)
    assert argb(IconFace(TrayLook.UP, "91.3k"), 18) != argb(IconFace(TrayLook.UP, "91.2k"), 18)


@pytest.mark.usefixtures("qapp")
def test_direction_is_a_shape_and_stale_is_never_in_the_live_colours() -> None:
    pal = PALETTES[Scheme.DARK]
    up = glyph_mask(argb(IconFace(TrayLook.UP, "91.2k"), 32))
    down = glyph_mask(argb(IconFace(TrayLook.DOWN, "91.2k"), 32))
    assert up != down  # the masks ignore colour: the triangles point different ways
    stale = argb(IconFace(TrayLook.STALE, "91.2k"), 32)
    live = argb(IconFace(TrayLook.FLAT, "91.2k"), 32)
    assert not text_pixels(stale, pal.text)  # no bright, live-looking figures
    assert text_pixels(live, pal.text)
    assert not text_pixels(stale, pal.green)
    assert not text_pixels(stale, pal.red)
    # DISCONNECTED and KEY_PROBLEM keep their shapes: no price that cannot be trusted.
    for look in (TrayLook.DISCONNECTED, TrayLook.KEY_PROBLEM):
        assert argb(IconFace(look, "91.2k"), 32) == argb(IconFace(look), 32)


@pytest.mark.usefixtures("qapp")
def test_light_and_dark_variants_differ_and_each_has_contrast() -> None:
    for look, text in ((TrayLook.UP, "91.2k"), (TrayLook.DOWN, None), (TrayLook.IDLE, None)):
        dark = argb(IconFace(look, text, scheme=Scheme.DARK), 24)
        light = argb(IconFace(look, text, scheme=Scheme.LIGHT), 24)
        assert dark != light
        assert dark.pixelColor(2, 12).lightness() < 100  # a dark badge
        assert light.pixelColor(2, 12).lightness() > 200  # a light one
    assert PALETTES[Scheme.LIGHT].text.lightness() < 60 < 200 < PALETTES[Scheme.DARK].text.lightness()


def test_scheme_follows_the_platform_then_the_window_colour() -> None:
    assert scheme_for(Qt.ColorScheme.Dark, 250) is Scheme.DARK
    assert scheme_for(Qt.ColorScheme.Light, 10) is Scheme.LIGHT
    assert scheme_for(Qt.ColorScheme.Unknown, 40) is Scheme.DARK
    assert scheme_for(Qt.ColorScheme.Unknown, 239) is Scheme.LIGHT


@pytest.mark.parametrize(
    ("text", "at_16", "at_22", "at_32"),
    [
        ("91.2k", "91k", "91.2k", "91.2k"),
        ("3,102", "3102", "3102", "3,102"),
        ("0.1706", ".171", ".1706", "0.1706"),
        ("152.3", "152", "152.3", "152.3"),
        ("12.35", "12.3", "12.35", "12.35"),
        ("1.234", "1.23", "1.234", "1.234"),
        ("9.87k", "9.9k", "9.87k", "9.87k"),
        ("99.6k", "100k", "99.6k", "99.6k"),
        ("0.0012", ".0012", ".0012", "0.0012"),
        ("1.2e-5", "1.2e-5", "1.2e-5", "1.2e-5"),
        ("-91.2k", "-91k", "-91.2k", "-91.2k"),
        ("—", "—", "—", "—"),
    ],
)
def test_tight_text_saves_characters_only_where_pixels_are_scarce(text, at_16, at_22, at_32) -> None:
    assert (tight_text(text, 16), tight_text(text, 22), tight_text(text, 32)) == (at_16, at_22, at_32)


@pytest.mark.usefixtures("qapp")
def test_a_price_icon_holds_every_size_at_both_ratios() -> None:
    icon = render_face_icon(IconFace(TrayLook.UP, "91.2k"))
    sizes = {(s.width(), s.height()) for s in icon.availableSizes()}
    assert {(s, s) for s in PRICE_ICON_SIZES} <= sizes
    pm = icon.pixmap(QSize(22, 22), 2.0)
    assert (pm.width(), pm.devicePixelRatio()) == (44, 2.0)


@pytest.mark.usefixtures("qapp")
def test_the_cache_paints_a_face_once() -> None:
    cache = TrayIconCache(capacity=2)
    a = cache.icon(IconFace(TrayLook.UP, "1"))
    assert cache.icon(IconFace(TrayLook.UP, "1")) is a
    cache.icon(IconFace(TrayLook.UP, "2"))
    cache.icon(IconFace(TrayLook.UP, "1"))
    assert cache.renders == 2
    cache.icon(IconFace(TrayLook.UP, "3"))  # evicts "2", the least recently used
    cache.icon(IconFace(TrayLook.UP, "2"))
    assert cache.renders == 4


FACES = (
    ("up", IconFace(TrayLook.UP, "91.2k")),
    ("down", IconFace(TrayLook.DOWN, "3,102")),
    ("flat", IconFace(TrayLook.FLAT, "0.1706")),
    ("no 24 h", IconFace(TrayLook.IDLE, "152.3")),
    ("stale", IconFace(TrayLook.STALE, "91.2k")),
    ("paused", IconFace(TrayLook.DOWN, "91.2k", paused=True)),
    ("cycling", IconFace(TrayLook.UP, "3,102", label="ETH")),
    ("offline", IconFace(TrayLook.DISCONNECTED, "91.2k")),
    ("key", IconFace(TrayLook.KEY_PROBLEM)),
)


def price_sheet() -> QImage:
    """Every price face at 16, 22, 32 px and 16 px at 2x, on a dark and on a light panel, at 4x zoom."""
    cells = [(16, 1.0), (22, 1.0), (32, 1.0), (16, 2.0)]
    zoom, cell, head = 4, 140, 18
    width = 80 + cell * len(cells) * 2
    sheet = QImage(width, head + cell * len(FACES) // 1, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#ffffff"))
    p = QPainter(sheet)
    p.setFont(QFont("DejaVu Sans", 8))
    for half, (scheme, panel) in enumerate(((Scheme.DARK, "#23272e"), (Scheme.LIGHT, "#e9ecef"))):
        x0 = 80 + half * cell * len(cells)
        p.fillRect(QRect(x0, 0, cell * len(cells), sheet.height()), QColor(panel))
        p.setPen(QColor("#ffffff" if scheme is Scheme.DARK else "#000000"))
        for c, (size, ratio) in enumerate(cells):
            p.drawText(
                QPoint(x0 + c * cell + 4, 13), f"{scheme.value} {size}px{' @2x' if ratio != 1 else ''}"
            )
        for r, (_name, face) in enumerate(FACES):
            for c, (size, ratio) in enumerate(cells):
                img = render_face_pixmap(
                    IconFace(face.look, face.text, face.paused, scheme, face.label), size, ratio
                )
                z = zoom if ratio == 1 else zoom // 2
                target = QRect(x0 + c * cell + 4, head + r * cell + 4, img.width() * z, img.height() * z)
                p.drawImage(target, img.toImage())
    p.setPen(QColor("#000000"))
    for r, (name, _) in enumerate(FACES):
        p.drawText(QPoint(4, head + r * cell + 60), name)
    p.end()
    return sheet


@pytest.mark.usefixtures("qapp")
def test_price_sheet(tmp_path: Path) -> None:
    """The price faces for people to look at: to tmp_path, and to $CCDESK_TRAY_PRICE_SHEET if set."""
    sheet = price_sheet()
    assert sheet.save(str(tmp_path / "tray_prices.png"))
    target = os.environ.get(PRICE_SHEET_ENV)
    if target:
        assert sheet.save(target)


@pytest.mark.usefixtures("qapp")
def test_a_picture_painted_once_serves_both_ratios_that_share_its_pixels() -> None:
    face = IconFace(TrayLook.UP, "91.2k")
    icon = render_face_icon(face, sizes=(16, 32), pixel_ratios=(1.0, 2.0))
    half = icon.pixmap(QSize(16, 16), 2.0)
    full = icon.pixmap(QSize(32, 32), 1.0)
    assert (half.width(), half.devicePixelRatio()) == (32, 2.0)
    assert (full.width(), full.devicePixelRatio()) == (32, 1.0)
    assert half.toImage().convertToFormat(QImage.Format.Format_ARGB32) == argb(face, 32)
    assert full.toImage().convertToFormat(QImage.Format.Format_ARGB32) == argb(face, 16, 2.0)
