"""The tray icon's looks: one painted icon per state, told apart by shape, sharp at any scale.

Every look is drawn with QPainter on a 24-unit grid into a dark rounded badge (the app mark's
#16202e, so the glyph reads on light and dark panels alike), at each common tray size and at
device pixel ratios 1 and 2. Colour only repeats what the shape already says, so the states stay
apart for colour-blind users and on monochrome-tinting panels:

=============  ==================================  =======
look           shape                               colour
=============  ==================================  =======
IDLE           the app mark: a rising chart line   green
UP             a filled triangle pointing up        green
DOWN           a filled triangle pointing down      red
FLAT           one thick horizontal bar             light grey
STALE          a clock face with two hands          grey
DISCONNECTED   a chain link broken in two, gap cut  grey
KEY_PROBLEM    an amber badge with a dark key       amber
=============  ==================================  =======
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

log = logging.getLogger(__name__)

ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64)
"""Logical sizes painted for every look (tray hosts ask for 16-24, HiDPI and docks for more)."""
PIXEL_RATIOS: tuple[float, ...] = (1.0, 2.0)

_GRID = 24.0  # design units per icon edge

BADGE = QColor("#16202e")
GREEN = QColor("#2fd27a")
RED = QColor("#ff5a5f")
NEUTRAL = QColor("#d5dbe3")
GREY = QColor("#8e99a8")
AMBER = QColor("#ffb020")


class TrayLook(enum.Enum):
    """What the tray icon shows (see the module docstring for each look's shape)."""

    IDLE = "idle"
    """Starting, or nothing to show yet: the app mark."""
    UP = "up"
    """The pinned pair's last change was up."""
    DOWN = "down"
    """The pinned pair's last change was down."""
    FLAT = "flat"
    """The pinned pair's last change was none (or unknown)."""
    STALE = "stale"
    """The pinned pair's data, or the connection, is stale."""
    DISCONNECTED = "disconnected"
    """No connection: reconnecting, rate limited or stopped."""
    KEY_PROBLEM = "key_problem"
    """The API key is missing or was rejected."""


def render_tray_pixmap(look: TrayLook, size: int, pixel_ratio: float = 1.0) -> QPixmap:
    """Paint one look at ``size`` logical pixels and ``pixel_ratio`` device pixels per logical one.

    Needs a QGuiApplication. The pixmap is ``round(size * pixel_ratio)`` pixels wide, with that
    device pixel ratio set, transparent outside the badge.
    """
    pixels = round(size * pixel_ratio)
    pixmap = QPixmap(pixels, pixels)
    pixmap.setDevicePixelRatio(pixel_ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.scale(size / _GRID, size / _GRID)  # the painter already applies pixel_ratio
        _PAINTERS[look](painter)
    finally:
        painter.end()
    return pixmap


def render_tray_icon(
    look: TrayLook, sizes: Iterable[int] = ICON_SIZES, pixel_ratios: Iterable[float] = PIXEL_RATIOS
) -> QIcon:
    """A QIcon holding ``look`` painted at every size and pixel ratio. Needs a QGuiApplication."""
    icon = QIcon()
    ratios = tuple(pixel_ratios)
    for size in sizes:
        for ratio in ratios:
            icon.addPixmap(render_tray_pixmap(look, size, ratio))
    return icon


class TrayIconCache:
    """Paints each look once, on first use; the tray asks for icons on every price update."""

    def __init__(self) -> None:
        self._icons: dict[TrayLook, QIcon] = {}

    def icon(self, look: TrayLook) -> QIcon:
        """The icon for ``look`` (painted now if it is the first request)."""
        icon = self._icons.get(look)
        if icon is None:
            icon = self._icons[look] = render_tray_icon(look)
            log.debug("painted the %s tray icon", look.value)
        return icon


# --- painting, in 24-unit design coordinates ----------------------------------------------------


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _badge(p: QPainter, color: QColor = BADGE) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(color))
    p.drawRoundedRect(QRectF(0.5, 0.5, 23.0, 23.0), 5.0, 5.0)


def _triangle(p: QPainter, color: QColor, points: list[tuple[float, float]]) -> None:
    p.setPen(_pen(color, 1.5))  # the stroke rounds the corners and keeps small sizes solid
    p.setBrush(QBrush(color))
    p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in points]))


def _paint_idle(p: QPainter) -> None:
    # resources/ccdesk.svg, scaled from its 256-unit box to 24 units.
    _badge(p)
    k = _GRID / 256.0
    line = [(40, 188), (92, 132), (128, 156), (180, 92), (216, 64)]
    path = QPainterPath(QPointF(line[0][0] * k, line[0][1] * k))
    for x, y in line[1:]:
        path.lineTo(x * k, y * k)
    p.setPen(_pen(GREEN, 2.6))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(GREEN))
    p.drawEllipse(QPointF(216 * k, 64 * k), 2.4, 2.4)


def _paint_up(p: QPainter) -> None:
    _badge(p)
    _triangle(p, GREEN, [(12.0, 4.8), (19.8, 18.2), (4.2, 18.2)])


def _paint_down(p: QPainter) -> None:
    _badge(p)
    _triangle(p, RED, [(4.2, 5.8), (19.8, 5.8), (12.0, 19.2)])


def _paint_flat(p: QPainter) -> None:
    _badge(p)
    p.setPen(_pen(NEUTRAL, 4.0))
    p.drawLine(QPointF(5.5, 12.0), QPointF(18.5, 12.0))


def _paint_stale(p: QPainter) -> None:
    _badge(p)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_pen(GREY, 2.2))
    p.drawEllipse(QPointF(12.0, 12.0), 7.6, 7.6)
    p.setPen(_pen(GREY, 2.2))
    p.drawLine(QPointF(12.0, 12.0), QPointF(12.0, 7.2))
    p.drawLine(QPointF(12.0, 12.0), QPointF(15.6, 13.8))


def _paint_disconnected(p: QPainter) -> None:
    _badge(p)
    p.setBrush(Qt.BrushStyle.NoBrush)
    # Two chain-link halves on the rising diagonal, pulled apart; two sparks across the gap.
    p.translate(12.0, 12.0)
    p.rotate(-45.0)
    p.setPen(_pen(GREY, 2.2))
    p.drawRoundedRect(QRectF(-10.6, -3.6, 8.6, 7.2), 3.6, 3.6)
    p.drawRoundedRect(QRectF(2.0, -3.6, 8.6, 7.2), 3.6, 3.6)
    p.setPen(_pen(GREY, 1.8))
    p.drawLine(QPointF(0.0, -5.6), QPointF(0.0, -8.6))
    p.drawLine(QPointF(0.0, 5.6), QPointF(0.0, 8.6))


def _paint_key_problem(p: QPainter) -> None:
    _badge(p, AMBER)
    # A key: a ring (bow), a shaft, two teeth. Dark on amber, so it is not another grey state.
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_pen(BADGE, 2.6))
    p.drawEllipse(QPointF(7.6, 12.0), 3.6, 3.6)
    p.drawLine(QPointF(11.2, 12.0), QPointF(19.6, 12.0))
    p.drawLine(QPointF(19.6, 12.0), QPointF(19.6, 16.0))
    p.drawLine(QPointF(16.2, 12.0), QPointF(16.2, 15.0))


_PAINTERS = {
    TrayLook.IDLE: _paint_idle,
    TrayLook.UP: _paint_up,
    TrayLook.DOWN: _paint_down,
    TrayLook.FLAT: _paint_flat,
    TrayLook.STALE: _paint_stale,
    TrayLook.DISCONNECTED: _paint_disconnected,
    TrayLook.KEY_PROBLEM: _paint_key_problem,
}
