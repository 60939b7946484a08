"""The tray icon's faces: one painted icon per state, or the pinned pair's price drawn into it, in a
light and a dark variant, sharp at any size and device pixel ratio.

Every shape look is drawn with QPainter on a 24-unit grid into a rounded badge (dark for a dark
panel, light with a rim for a light one), at each common tray size and at device pixel ratios 1
and 2. Colour only repeats what the shape already says, so the states stay apart for colour-blind
users and on monochrome-tinting panels:

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

With the price in the icon (``IconFace.text``), the live looks become the price in bold condensed
figures under the same mark made small (triangle up or down, flat bar; none while the 24 h change
is unknown); a stale price is grey under a clock mark, never in the live colours. DISCONNECTED and
KEY_PROBLEM keep their shapes: no price is shown while it cannot be trusted. Paused alerts add two
amber bars (a pause sign) in the top right corner of any face.

The price face is painted in device pixels, with the font's pixel size chosen per size by
measuring the text (QFontMetricsF), so the figures are hinted to the pixel grid instead of scaled.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QIcon,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)

log = logging.getLogger(__name__)

ICON_SIZES: tuple[int, ...] = (16, 22, 24, 32, 48, 64)
"""Logical sizes painted for every look (tray hosts ask for 16-24, HiDPI and docks for more)."""
PRICE_ICON_SIZES: tuple[int, ...] = (14, 16, 18, 20, 22, 24, 32, 48)
"""Logical sizes painted for a price face, so that a tray host gets figures drawn for its slot rather
than scaled from another size (trayer on a 16 px panel gives 14 px, Windows at 125 % 20 px)."""
PIXEL_RATIOS: tuple[float, ...] = (1.0, 2.0)
CACHE_FACES = 16
"""Faces kept painted (about 100 KB each): a price that ticks back and forth reuses its icons."""

_GRID = 24.0  # design units per icon edge
_FONT_FAMILIES = ["DejaVu Sans Condensed", "Liberation Sans Narrow", "Arial Narrow", "Roboto Condensed"]
_MIN_FONT_PX = 5
MIN_SQUEEZE = 0.72
"""The narrowest the price is squeezed sideways (beyond that the font gets smaller)."""
MIN_SQUEEZE_16 = 0.6
"""At 16 to 19 pixels: five characters in 14 pixels need it."""
TIGHT_BELOW_PX = 26
"""Below this many device pixels the price is drawn in fewer characters (see ``tight_text``)."""
SHORT_BELOW_PX = 18
"""Below this many device pixels the price is cut to four characters (see ``tight_text``)."""
RIM_FROM_PX = 40

BADGE = QColor("#16202e")
GREEN = QColor("#2fd27a")
RED = QColor("#ff5a5f")
NEUTRAL = QColor("#d5dbe3")
GREY = QColor("#8e99a8")
AMBER = QColor("#ffb020")


class TrayLook(enum.Enum):
    """What the tray icon shows (see the module docstring for each look's shape)."""

    IDLE = "idle"
    """Starting, or nothing to show yet: the app mark. With a price: the 24 h change is unknown."""
    UP = "up"
    """The pinned pair is up on the last 24 h (as the window's 24 h column says)."""
    DOWN = "down"
    """The pinned pair is down on the last 24 h."""
    FLAT = "flat"
    """The pinned pair's 24 h change rounds to 0.00%."""
    STALE = "stale"
    """The pinned pair's data, or the connection, is stale."""
    DISCONNECTED = "disconnected"
    """No connection: reconnecting, rate limited or stopped."""
    KEY_PROBLEM = "key_problem"
    """The API key is missing or was rejected."""


class Scheme(enum.Enum):
    """The panel's colour scheme an icon is drawn for."""

    DARK = "dark"
    """A dark panel: a dark badge, light glyphs (the app mark's own colours)."""
    LIGHT = "light"
    """A light panel: a light badge with a dark rim, dark glyphs, deeper green and red."""


@dataclass(frozen=True, slots=True)
class Palette:
    """The colours of one scheme."""

    badge: QColor
    rim: QColor | None
    green: QColor
    red: QColor
    neutral: QColor
    grey: QColor
    amber: QColor
    text: QColor
    stale_text: QColor


PALETTES: dict[Scheme, Palette] = {
    Scheme.DARK: Palette(BADGE, None, GREEN, RED, NEUTRAL, GREY, AMBER, QColor("#f4f7fb"), QColor("#8e99a8")),
    Scheme.LIGHT: Palette(
        badge=QColor("#f4f6f9"),
        rim=QColor("#5b6674"),
        green=QColor("#0b8a4a"),
        red=QColor("#d0262d"),
        neutral=QColor("#3d4652"),
        grey=QColor("#7d8795"),
        amber=QColor("#c27400"),
        text=QColor("#10151c"),
        stale_text=QColor("#8a94a2"),
    ),
}


def scheme_for(color_scheme: Qt.ColorScheme, window_lightness: int) -> Scheme:
    """The icon scheme for the platform's colour scheme; when the platform does not say
    (``Qt.ColorScheme.Unknown``), a window colour darker than mid-grey means a dark desktop."""
    if color_scheme == Qt.ColorScheme.Dark:
        return Scheme.DARK
    if color_scheme == Qt.ColorScheme.Light:
        return Scheme.LIGHT
    return Scheme.DARK if window_lightness < 128 else Scheme.LIGHT


_PRICE_LOOKS = frozenset({TrayLook.IDLE, TrayLook.UP, TrayLook.DOWN, TrayLook.FLAT, TrayLook.STALE})
"""The looks that show a price when there is one; the others keep their shape (no trustworthy price)."""


@dataclass(frozen=True, slots=True)
class IconFace:
    """Everything an icon shows: the cache key of its painted pixmaps.

    Attributes:
        look: The state.
        text: The price to draw (``compact_price``), or None for the shape alone. Ignored for the
            looks that never show a price (DISCONNECTED, KEY_PROBLEM).
        paused: Alerts are paused: a pause sign in the corner.
        scheme: The panel's colour scheme.
        label: While the icon cycles through the watchlist: the coin (``ETH``), drawn small beside
            the mark so that a price is never shown without saying whose it is.
    """

    look: TrayLook
    text: str | None = None
    paused: bool = False
    scheme: Scheme = Scheme.DARK
    label: str | None = None

    @property
    def shows_text(self) -> bool:
        return bool(self.text) and self.look in _PRICE_LOOKS


def render_face_pixmap(face: IconFace, size: int, pixel_ratio: float = 1.0) -> QPixmap:
    """Paint ``face`` at ``size`` logical pixels and ``pixel_ratio`` device pixels per logical one.

    Needs a QGuiApplication. The pixmap is ``round(size * pixel_ratio)`` pixels wide, with that
    device pixel ratio set, transparent outside the badge.
    """
    pixels = round(size * pixel_ratio)
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    pal = PALETTES[face.scheme]
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        if face.shows_text:
            assert face.text is not None
            _paint_price(painter, pixels, face, pal)
        else:
            painter.save()
            painter.scale(pixels / _GRID, pixels / _GRID)
            _PAINTERS[face.look](painter, pal)
            painter.restore()
            if face.paused:
                _paint_pause_corner(painter, pixels, pal)
    finally:
        painter.end()
    # Painted in device pixels; the ratio tells Qt (and the tray host) how to place it.
    pixmap.setDevicePixelRatio(pixel_ratio)
    return pixmap


def render_face_icon(
    face: IconFace, sizes: Iterable[int] | None = None, pixel_ratios: Iterable[float] = PIXEL_RATIOS
) -> QIcon:
    """A QIcon holding ``face`` painted at every size and pixel ratio. Needs a QGuiApplication.

    A face is painted in device pixels, so 16 px at 2x and 32 px at 1x are the same picture: it is
    painted once and added with each ratio.
    """
    if sizes is None:
        sizes = PRICE_ICON_SIZES if face.shows_text else ICON_SIZES
    icon = QIcon()
    ratios = tuple(pixel_ratios)
    painted: dict[int, QPixmap] = {}
    for size in sizes:
        for ratio in ratios:
            pixels = round(size * ratio)
            pixmap = painted.get(pixels)
            if pixmap is None:
                pixmap = painted[pixels] = render_face_pixmap(face, size, ratio)
            else:
                pixmap = QPixmap(pixmap)  # a copy that can take its own ratio
                pixmap.setDevicePixelRatio(ratio)
            icon.addPixmap(pixmap)
    return icon


def render_tray_pixmap(
    look: TrayLook, size: int, pixel_ratio: float = 1.0, scheme: Scheme = Scheme.DARK
) -> QPixmap:
    """Paint one shape look (no price); see :func:`render_face_pixmap`."""
    return render_face_pixmap(IconFace(look, scheme=scheme), size, pixel_ratio)


def render_tray_icon(
    look: TrayLook, sizes: Iterable[int] = ICON_SIZES, pixel_ratios: Iterable[float] = PIXEL_RATIOS
) -> QIcon:
    """A QIcon holding the shape ``look`` painted at every size and pixel ratio."""
    return render_face_icon(IconFace(look), sizes, pixel_ratios)


class TrayIconCache:
    """Paints each face once, on first use, and keeps the last ``CACHE_FACES`` of them: the tray
    asks for an icon on every price update, and a price that ticks back and forth repaints nothing.

    Attributes:
        renders: How many faces were painted (for the tests and the benchmark).
    """

    def __init__(self, capacity: int = CACHE_FACES) -> None:
        self._icons: OrderedDict[IconFace, QIcon] = OrderedDict()
        self._capacity = capacity
        self.renders = 0

    def icon(self, face: IconFace | TrayLook) -> QIcon:
        """The icon for ``face`` (painted now if it is not in the cache)."""
        if isinstance(face, TrayLook):
            face = IconFace(face)
        icon = self._icons.get(face)
        if icon is not None:
            self._icons.move_to_end(face)
            return icon
        icon = self._icons[face] = render_face_icon(face)
        self.renders += 1
        log.debug("painted the tray icon %s", face)
        while len(self._icons) > self._capacity:
            self._icons.popitem(last=False)
        return icon


# --- the price face, in device pixels ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TextFit:
    """How a text is drawn into an icon of ``pixels`` device pixels.

    Attributes:
        font: The font, at its chosen pixel size.
        x_scale: A horizontal squeeze (1.0: none) when even the smallest size is too wide.
        width: The text's advance after the squeeze, in device pixels.
        max_width: The width it had to fit in.
    """

    font: QFont
    x_scale: float
    width: float
    max_width: float


def price_font(pixel_size: int) -> QFont:
    """The bold condensed face the price is drawn in."""
    font = QFont()
    font.setFamilies(_FONT_FAMILIES + font.families())
    font.setBold(True)
    font.setPixelSize(pixel_size)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    return font


def _margins(pixels: int) -> tuple[int, int]:
    """(side, top/bottom) margins inside the badge."""
    return max(1, round(pixels * 0.06)), max(1, round(pixels * 0.07))


def fit_text(text: str, pixels: int, max_height: float) -> TextFit:
    """The largest pixel size at which ``text`` fits the icon's width and ``max_height``, squeezed
    sideways by down to ``MIN_SQUEEZE`` where that buys a taller text (tall narrow figures read
    better at 16 px than short wide ones)."""
    side, _ = _margins(pixels)
    max_width = pixels - 2 * side
    size = max(_MIN_FONT_PX, int(max_height / 0.76))  # digits are ~0.73 em tall in most faces
    while True:
        font = price_font(size)
        fm = QFontMetricsF(font)
        width = fm.horizontalAdvance(text)
        tall = fm.tightBoundingRect(text).height()
        squeeze = MIN_SQUEEZE if pixels >= 20 else MIN_SQUEEZE_16
        if (width * squeeze <= max_width and tall <= max_height) or size <= _MIN_FONT_PX:
            break
        size -= 1
    scale = 1.0 if width <= max_width else max_width / width
    return TextFit(font, scale, width * scale, max_width)


def tight_text(text: str, pixels: int) -> str:
    """``text`` as drawn into an icon ``pixels`` device pixels wide.

    Below ``TIGHT_BELOW_PX`` the same number in fewer characters (``3102`` for ``3,102``, ``.1706``
    for ``0.1706``). Below ``SHORT_BELOW_PX`` (14 and 16 px at 1x: about three pixels a character)
    four characters (two significant digits at least), which stay readable there: ``91k`` for
    ``91.2k``, ``152`` for ``152.3``, ``.171`` for ``0.1706``; the menu and tooltip keep the full price.
    """
    if pixels >= TIGHT_BELOW_PX:
        return text
    text = text.replace(",", "")
    if text.startswith("0.") and len(text) > 4:
        text = text[1:]
    if pixels >= SHORT_BELOW_PX:
        return text
    return _four_characters(text)


def _four_characters(text: str) -> str:
    """The number in ``text`` (``91.2k``, ``152.3``, ``.1706``) rounded to four characters with its
    unit, and at least two significant digits: ``91k``, ``152``, ``.171``, ``.0012``."""
    sign = "-" if text.startswith("-") else ""
    body = text.removeprefix("-")
    suffix = body[-1] if body and body[-1] in "kMB" else ""
    number = body.removesuffix(suffix)
    if "." not in number or "e" in number:
        return text
    try:
        value = float(number)
    except ValueError:
        return text
    room = 4 - len(suffix)
    whole, _, frac = number.partition(".")
    if value >= 1:
        decimals = max(0, room - len(whole.lstrip("0")) - 1)
    else:
        zeros = len(frac) - len(frac.lstrip("0"))
        decimals = max(room - 1, zeros + 2)
    short = f"{value:.{decimals}f}"
    if short.startswith("0."):
        short = short[1:]
    return f"{sign}{short}{suffix}"


def _paint_badge_px(p: QPainter, pixels: int, pal: Palette) -> None:
    radius = pixels * 0.2
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(pal.badge))
    if pal.rim is not None and pixels >= RIM_FROM_PX:
        # A rim only where it does not cost the figures their room: at tray sizes the light badge
        # simply disappears on a light panel, leaving dark figures, which is what the panel wants.
        rim_w = max(1.0, pixels / 24.0)
        p.setPen(QPen(pal.rim, rim_w))
        half = rim_w / 2
        p.drawRoundedRect(QRectF(half, half, pixels - rim_w, pixels - rim_w), radius, radius)
    else:
        p.drawRoundedRect(QRectF(0, 0, pixels, pixels), radius, radius)


def _paint_price(p: QPainter, pixels: int, face: IconFace, pal: Palette) -> None:
    _paint_badge_px(p, pixels, pal)
    assert face.text is not None
    text = tight_text(face.text, pixels)
    look, paused = face.look, face.paused
    side, vert = _margins(pixels)
    has_mark = look is not TrayLook.IDLE or paused or bool(face.label)
    # The price gets ~55 % of the height under a mark, all of it without one; it is the width that
    # binds at every size for five characters, so the mark rarely costs the text anything.
    share = 0.9 if not has_mark else 0.56 if pixels >= 20 else 0.64
    fit = fit_text(text, pixels, (pixels - 2 * vert) * share)
    fm = QFontMetricsF(fit.font)
    tight = fm.tightBoundingRect(text)
    if has_mark:
        baseline = pixels - vert - max(0.0, tight.bottom())  # descenders (a comma) stay inside
    else:
        baseline = (pixels + tight.height()) / 2 - tight.bottom()
    baseline = float(round(baseline))
    text_top = baseline + tight.top()
    x = (pixels - fit.width) / 2
    p.save()
    p.setFont(fit.font)
    p.setPen(pal.stale_text if look is TrayLook.STALE else pal.text)
    p.translate(round(x), baseline)
    if fit.x_scale != 1.0:
        p.scale(fit.x_scale, 1.0)
    p.drawText(QPointF(0, 0), text)
    p.restore()
    if not has_mark:
        return
    gap = max(1.0, pixels / 16)
    top = float(vert)
    bottom = text_top - gap
    height = bottom - top
    if height < 2:
        return
    width = min(height * 1.5, pixels * 0.6)
    left, right = float(side), float(pixels - side)  # the row's room for the mark
    centred = True
    if paused:
        right -= _paint_pause_bars(p, right, top, height, pal)
        centred = False  # the mark sits in the rest of the row, clear of the corner
    if face.label:
        # The coin on the left of the row, the mark made small to its right.
        left += _paint_label(p, face.label, left, top, height, pixels * 0.5, pal)
        centred = False
    if not centred:
        width = min(width, max(2.0, (right - left) * 0.85))
    # A squeezed row gets a smaller mark of the same proportions, never a sliver.
    mark_h = min(height, width / 1.2)
    cx = pixels / 2 if centred else (left + right) / 2
    _paint_mark(p, look, QRectF(cx - width / 2, top + (height - mark_h) / 2, width, mark_h), pal)


def _paint_label(
    p: QPainter, label: str, left: float, top: float, height: float, max_width: float, pal: Palette
) -> float:
    """The coin's symbol in the mark row; returns the width it took (with a gap after it)."""
    fit = fit_text(label, round(max_width) + 2 * _margins(round(max_width))[0], height)
    fm = QFontMetricsF(fit.font)
    tight = fm.tightBoundingRect(label)
    p.save()
    p.setFont(fit.font)
    p.setPen(pal.text)
    p.translate(round(left), round(top + (height + tight.height()) / 2 - tight.bottom()))
    if fit.x_scale != 1.0:
        p.scale(fit.x_scale, 1.0)
    p.drawText(QPointF(0, 0), label)
    p.restore()
    return fit.width + max(1.0, height * 0.2)


def _paint_mark(p: QPainter, look: TrayLook, box: QRectF, pal: Palette) -> None:
    p.save()
    if look is TrayLook.UP:
        _poly(
            p,
            pal.green,
            [(box.center().x(), box.top()), (box.right(), box.bottom()), (box.left(), box.bottom())],
        )
    elif look is TrayLook.DOWN:
        _poly(
            p, pal.red, [(box.left(), box.top()), (box.right(), box.top()), (box.center().x(), box.bottom())]
        )
    elif look is TrayLook.FLAT:
        h = max(1.0, box.height() * 0.4)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(pal.neutral))
        p.drawRect(QRectF(box.left(), box.center().y() - h / 2, box.width(), h))
    elif look is TrayLook.STALE:
        r = box.height() / 2
        w = max(1.0, r / 3)
        c = box.center()
        p.setPen(_pen(pal.grey, w))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(c, r - w / 2, r - w / 2)
        if r >= 3:
            p.drawLine(c, QPointF(c.x(), c.y() - r * 0.55))
            p.drawLine(c, QPointF(c.x() + r * 0.45, c.y() + r * 0.2))
    p.restore()


def _poly(p: QPainter, color: QColor, points: list[tuple[float, float]]) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(color))
    p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in points]))


def _paint_pause_bars(p: QPainter, right: float, top: float, height: float, pal: Palette) -> float:
    """Two amber bars ending at ``right``; returns the width they take (with a gap before them)."""
    bar = max(1.0, round(height * 0.28))
    gap = max(1.0, round(bar * 0.8))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(pal.amber))
    left = right - 2 * bar - gap
    p.drawRect(QRectF(left, top, bar, height))
    p.drawRect(QRectF(left + bar + gap, top, bar, height))
    return 2 * bar + 2 * gap


def _paint_pause_corner(p: QPainter, pixels: int, pal: Palette) -> None:
    """The pause sign on a shape look: a badge-coloured disc in the top right holding two bars."""
    d = pixels * 0.46
    rect = QRectF(pixels - d, 0, d, d)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(pal.badge))
    p.drawEllipse(rect)
    inner = d * 0.5
    _paint_pause_bars(p, rect.center().x() + inner * 0.45, rect.center().y() - inner / 2, inner, pal)


# --- painting the shape looks, in 24-unit design coordinates ------------------------------------


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _badge(p: QPainter, pal: Palette, color: QColor | None = None) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    if pal.rim is not None and color is None:
        p.setPen(QPen(pal.rim, 1.0))
    p.setBrush(QBrush(color if color is not None else pal.badge))
    p.drawRoundedRect(QRectF(0.5, 0.5, 23.0, 23.0), 5.0, 5.0)


def _triangle(p: QPainter, color: QColor, points: list[tuple[float, float]]) -> None:
    p.setPen(_pen(color, 1.5))  # the stroke rounds the corners and keeps small sizes solid
    p.setBrush(QBrush(color))
    p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in points]))


def _paint_idle(p: QPainter, pal: Palette) -> None:
    # resources/ccdesk.svg, scaled from its 256-unit box to 24 units.
    _badge(p, pal)
    k = _GRID / 256.0
    line = [(40, 188), (92, 132), (128, 156), (180, 92), (216, 64)]
    path = QPainterPath(QPointF(line[0][0] * k, line[0][1] * k))
    for x, y in line[1:]:
        path.lineTo(x * k, y * k)
    p.setPen(_pen(pal.green, 2.6))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(pal.green))
    p.drawEllipse(QPointF(216 * k, 64 * k), 2.4, 2.4)


def _paint_up(p: QPainter, pal: Palette) -> None:
    _badge(p, pal)
    _triangle(p, pal.green, [(12.0, 4.8), (19.8, 18.2), (4.2, 18.2)])


def _paint_down(p: QPainter, pal: Palette) -> None:
    _badge(p, pal)
    _triangle(p, pal.red, [(4.2, 5.8), (19.8, 5.8), (12.0, 19.2)])


def _paint_flat(p: QPainter, pal: Palette) -> None:
    _badge(p, pal)
    p.setPen(_pen(pal.neutral, 4.0))
    p.drawLine(QPointF(5.5, 12.0), QPointF(18.5, 12.0))


def _paint_stale(p: QPainter, pal: Palette) -> None:
    _badge(p, pal)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_pen(pal.grey, 2.2))
    p.drawEllipse(QPointF(12.0, 12.0), 7.6, 7.6)
    p.setPen(_pen(pal.grey, 2.2))
    p.drawLine(QPointF(12.0, 12.0), QPointF(12.0, 7.2))
    p.drawLine(QPointF(12.0, 12.0), QPointF(15.6, 13.8))


def _paint_disconnected(p: QPainter, pal: Palette) -> None:
    _badge(p, pal)
    p.setBrush(Qt.BrushStyle.NoBrush)
    # Two chain-link halves on the rising diagonal, pulled apart; two sparks across the gap.
    p.translate(12.0, 12.0)
    p.rotate(-45.0)
    p.setPen(_pen(pal.grey, 2.2))
    p.drawRoundedRect(QRectF(-10.6, -3.6, 8.6, 7.2), 3.6, 3.6)
    p.drawRoundedRect(QRectF(2.0, -3.6, 8.6, 7.2), 3.6, 3.6)
    p.setPen(_pen(pal.grey, 1.8))
    p.drawLine(QPointF(0.0, -5.6), QPointF(0.0, -8.6))
    p.drawLine(QPointF(0.0, 5.6), QPointF(0.0, 8.6))


def _paint_key_problem(p: QPainter, pal: Palette) -> None:
    _badge(p, pal, pal.amber)
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
