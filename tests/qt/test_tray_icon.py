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
    PIXEL_RATIOS,
    TrayIconCache,
    TrayLook,
    render_tray_icon,
    render_tray_pixmap,
)

SHEET_ENV = "CCDESK_TRAY_SHEET"


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
