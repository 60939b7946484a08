"""The mini panel: a small frameless always-on-top strip of prices (``BTC 91.2k ▲2.14%``), draggable,
placed where it was last left (on that screen, else on the primary one, never off-screen)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QMoveEvent,
    QPainter,
    QPaintEvent,
    QScreen,
)
from PySide6.QtWidgets import QMenu, QToolTip, QWidget

from ccdesk.core.formatting import DOWN_ARROW, UP_ARROW, compact_pct, compact_price, format_pct, format_price
from ccdesk.core.freshness import Freshness
from ccdesk.core.pairs import Pair
from ccdesk.core.quotes import Quote
from ccdesk.core.settings import DEFAULT_MINI_PANEL_OPACITY_PCT, Settings
from ccdesk.wording import (
    MINI_PANEL_MENU_FOLLOW,
    MINI_PANEL_MENU_HIDE,
    MINI_PANEL_MENU_OPACITY,
    MINI_PANEL_MENU_OPEN,
    MINI_PANEL_MENU_PAIRS,
    MINI_PANEL_STALE_MARK,
    MINI_PANEL_TITLE,
    MINI_PANEL_WAITING_MARK,
    mini_panel_description,
    mini_panel_more_text,
)

log = logging.getLogger(__name__)

MAX_PANEL_PAIRS = 8
"""The panel shows at most this many pairs (the first ones); a strip is for a glance."""
OPACITY_PRESETS_PCT = (100, 90, 80, 70, 50, 30)
SAVE_DELAY_MS = 500
"""A drag moves the window many times a second: its place is saved once it has come to rest."""
EDGE_MARGIN_PX = 16
"""Where a panel with no saved place goes: this far in from the primary screen's top-right corner."""
PAD_X, PAD_Y, GAP_PX = 8, 3, 14


# --- what the panel shows (pure) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelEntry:
    """One pair as the panel draws it.

    Attributes:
        label: The pair's short name (``BTC``; ``BTC/EUR`` or ``BTC Kraken`` where needed to tell
            the shown pairs apart).
        price: The compact price (``91.2k``), ``…`` while waiting for data.
        change: ``▲2.1%``, ``▼0.4%``, ``■0.0%`` (``compact_pct``); the stale mark for a stale
            price; ``""`` when unknown.
        sign: 1, -1, 0 (flat) or None (unknown or stale): the change's colour.
        live: The price may be shown as live (the one freshness rule); otherwise it is greyed.
    """

    label: str
    price: str
    change: str
    sign: int | None
    live: bool


class PanelSource(Protocol):
    """Where the panel reads prices: the GUI's one quote store (the price table's model)."""

    @property
    def freshness(self) -> Freshness: ...

    def quotes(self) -> Sequence[Quote]: ...


def shown_pairs(settings: Settings) -> tuple[Pair, ...]:
    """The pairs the panel shows, in watchlist order: the chosen ones, else the watchlist."""
    return settings.mini_panel_pairs or settings.watchlist


def short_labels(pairs: Sequence[Pair]) -> list[str]:
    """The shortest names that tell ``pairs`` apart: the coin (``BTC``); ``BTC/EUR`` where two
    coins are the same; ``BTC/USD Kraken`` where the pair is the same too."""
    bases = [p.base for p in pairs]
    names = [p.base if bases.count(p.base) == 1 else p.pair for p in pairs]
    return [n if names.count(n) == 1 else f"{p.pair} {p.venue}" for n, p in zip(names, pairs, strict=True)]


def panel_entries(
    pairs: Sequence[Pair], quotes: Mapping[Pair, Quote], now: float, freshness: Freshness
) -> tuple[PanelEntry, ...]:
    """What the panel shows for ``pairs`` at monotonic ``now``: a price the freshness rule does not
    call fresh is greyed and carries the stale mark instead of its change."""
    entries = []
    for pair, label in zip(pairs, short_labels(pairs), strict=True):
        q = quotes.get(pair)
        if q is None or q.price is None:
            entries.append(PanelEntry(label, MINI_PANEL_WAITING_MARK, "", None, False))
            continue
        pct = q.change_pct_24h
        if not freshness.is_fresh(q, now):
            entries.append(PanelEntry(label, compact_price(q.price), MINI_PANEL_STALE_MARK, None, False))
            continue
        change = compact_pct(pct)
        # The colour agrees with the arrow shown (a change that rounds to 0.0 % is flat).
        sign = None if not change else 1 if change[0] == UP_ARROW else -1 if change[0] == DOWN_ARROW else 0
        entries.append(PanelEntry(label, compact_price(q.price), change, sign, True))
    return tuple(entries)


def detail_lines(
    pairs: Sequence[Pair], quotes: Mapping[Pair, Quote], now: float, freshness: Freshness
) -> list[str]:
    """The full lines of the panel's tooltip (built when it is asked for, not on every trade):
    ``BTC/USD: 91,230.12, 24 h +2.14%``, with ``(stale)`` after a stale price."""
    lines = []
    for pair in pairs:
        q = quotes.get(pair)
        if q is None or q.price is None:
            lines.append(f"{pair.label}: waiting for data")
            continue
        line = f"{pair.label}: {format_price(q.price)}, 24 h {format_pct(q.change_pct_24h)}"
        lines.append(line if freshness.is_fresh(q, now) else f"{line} (stale)")
    return lines


# --- where the panel goes (pure geometry) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelPlace:
    """Where the panel was left: its screen's name and its offset from that screen's top-left
    corner (an offset, so that a screen rearranged in the desktop keeps its panel)."""

    screen: str
    dx: int
    dy: int

    def to_text(self) -> str:
        return json.dumps({"screen": self.screen, "x": self.dx, "y": self.dy})

    @classmethod
    def from_text(cls, text: str | None) -> PanelPlace | None:
        """The stored place, or None when there is none or it cannot be read (a default place)."""
        if not text:
            return None
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        screen, dx, dy = obj.get("screen"), obj.get("x"), obj.get("y")
        # bool is an int subclass: "x": true is not a place.
        if not isinstance(screen, str) or type(dx) is not int or type(dy) is not int:
            return None
        return cls(screen, dx, dy)


@dataclass(frozen=True, slots=True)
class ScreenArea:
    """A screen as placement sees it: its name, whole geometry and the part free of desktop panels."""

    name: str
    geometry: QRect
    available: QRect


def clamp_into(top_left: QPoint, size: QSize, area: QRect) -> QPoint:
    """``top_left`` moved the least so that a ``size`` window lies inside ``area`` (its top-left
    corner inside when the window is larger than the area)."""
    x = max(area.left(), min(top_left.x(), area.right() + 1 - size.width()))
    y = max(area.top(), min(top_left.y(), area.bottom() + 1 - size.height()))
    return QPoint(x, y)


def place_panel(place: PanelPlace | None, size: QSize, screens: Sequence[ScreenArea]) -> QPoint:
    """The panel's top-left corner: at ``place`` on its screen if that screen is still there, else
    at the same offset on the primary screen (``screens[0]``); with no place, near the primary
    screen's top-right corner. Always inside the chosen screen's available area."""
    primary = screens[0]
    if place is None:
        area = primary.available
        corner = QPoint(area.right() + 1 - size.width() - EDGE_MARGIN_PX, area.top() + EDGE_MARGIN_PX)
        return clamp_into(corner, size, area)
    screen = next((s for s in screens if s.name == place.screen), primary)
    wanted = screen.geometry.topLeft() + QPoint(place.dx, place.dy)
    return clamp_into(wanted, size, screen.available)


def screen_areas() -> list[ScreenArea]:
    """The desktop's screens, the primary one first."""
    primary = QGuiApplication.primaryScreen()
    screens = QGuiApplication.screens()
    ordered = [primary, *(s for s in screens if s is not primary)] if primary is not None else list(screens)
    return [ScreenArea(s.name(), s.geometry(), s.availableGeometry()) for s in ordered]


# --- the colours ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PanelColors:
    background: QColor
    border: QColor
    text: QColor
    label: QColor
    up: QColor
    down: QColor
    stale: QColor


LIGHT = PanelColors(
    QColor("#f4f5f7"),
    QColor("#c4c8cf"),
    QColor("#1d1f23"),
    QColor("#4a4f57"),
    QColor("#17803f"),
    QColor("#c62a22"),
    QColor("#8a8f98"),
)
DARK = PanelColors(
    QColor("#1f2125"),
    QColor("#43474f"),
    QColor("#eceef1"),
    QColor("#b3b8c0"),
    QColor("#43d17f"),
    QColor("#ff6f66"),
    QColor("#7d828b"),
)


def system_is_dark() -> bool:
    """True when the platform's colour scheme is dark (by the window colour where it does not say)."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme is Qt.ColorScheme.Dark:
        return True
    if scheme is Qt.ColorScheme.Light:
        return False
    return QGuiApplication.palette().window().color().lightness() < 128


# --- the widget ----------------------------------------------------------------------------------


class MiniPanel(QWidget):
    """The strip itself. It reads prices from a :class:`PanelSource` on ``refresh`` (the controller
    calls it for each quote batch and the view clock for staleness) and repaints only when what it
    shows changed. Its menu and keys only request; the controller decides and saves.

    Signals:
        hide_requested(): "Hide panel", Escape, or the window manager's close.
        open_window_requested(): "Open ccdesk", or a double click.
        opacity_chosen(int): an opacity preset, in percent.
        pairs_chosen(object): the pairs to show (a tuple of Pair; empty: follow the watchlist).
        moved(): the panel came to rest at a new place (read it with :meth:`place`).
    """

    hide_requested = Signal()
    open_window_requested = Signal()
    opacity_chosen = Signal(int)
    pairs_chosen = Signal(object)
    moved = Signal()

    def __init__(self, source: PanelSource, parent: QWidget | None = None) -> None:
        # Tool: no taskbar entry (X11 sets _NET_WM_WINDOW_TYPE_UTILITY; Windows, a tool window).
        flags = Qt.WindowType.FramelessWindowHint | Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint
        super().__init__(parent, flags)
        self._source = source
        self.setWindowTitle(MINI_PANEL_TITLE)
        self.setAccessibleName(MINI_PANEL_TITLE)
        self.setObjectName("miniPanel")
        # Showing it must not take the focus from what the user is typing in.
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        # macOS hides tool windows while the app is inactive; a glance strip stays.
        self.setAttribute(Qt.WidgetAttribute.WA_MacAlwaysShowToolWindow)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._watchlist: tuple[Pair, ...] = ()
        self._chosen: tuple[Pair, ...] = ()
        self._pairs: tuple[Pair, ...] = ()
        self._entries: tuple[PanelEntry, ...] | None = None
        self._more = 0
        self._quotes: dict[Pair, Quote] = {}
        self._now = 0.0
        self._freshness = Freshness()
        self._opacity_pct = DEFAULT_MINI_PANEL_OPACITY_PCT
        self.setWindowOpacity(self._opacity_pct / 100)
        self._dark = system_is_dark()
        self._font = QFont(self.font())
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        self._metrics = QFontMetrics(self._font)
        self._bold_metrics = QFontMetrics(self._bold)
        self._runs: list[tuple[int, str, QFont, QColor]] = []  # x, text, font, colour: what paint draws
        self._drag_offset: QPoint | None = None
        self._placed = False
        self._widest = 0
        self.repaints_requested = 0
        """How many times a change in what it shows asked for a repaint (for tests and benchmarks)."""
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):  # a monitor unplugged or rearranged: stay visible
            app.screenRemoved.connect(self._on_screens_changed)
            app.primaryScreenChanged.connect(self._on_screens_changed)
        self._relayout()

    # -- settings --------------------------------------------------------------------------------

    def apply_settings(self, settings: Settings) -> None:
        """Follow the watchlist, the chosen pairs and the opacity."""
        self._watchlist = settings.watchlist
        self._chosen = settings.mini_panel_pairs
        pairs = shown_pairs(settings)
        self._more = max(0, len(pairs) - MAX_PANEL_PAIRS)
        pairs = pairs[:MAX_PANEL_PAIRS]
        if pairs != self._pairs:
            self._pairs = pairs
            self._entries = None  # show them at the next refresh
            self._widest = 0  # other pairs: fit them afresh
        self.set_opacity_pct(settings.mini_panel_opacity_pct)

    def set_opacity_pct(self, pct: int) -> None:
        if pct != self._opacity_pct:
            self._opacity_pct = pct
            self.setWindowOpacity(pct / 100)

    def opacity_pct(self) -> int:
        return self._opacity_pct

    def set_dark(self, dark: bool) -> None:
        """Draw with the dark (or light) colours; the system's scheme sets this on its own."""
        if dark != self._dark:
            self._dark = dark
            self._relayout()

    def is_dark(self) -> bool:
        return self._dark

    # -- prices ----------------------------------------------------------------------------------

    def refresh(self, now: float) -> float | None:
        """Show the source's prices for monotonic ``now``; returns when a shown price next turns
        stale (None: not before new data, or hidden: a hidden panel costs nothing)."""
        if not self.isVisible():
            return None
        freshness = self._source.freshness
        wanted = set(self._pairs)
        quotes = {q.sub: q for q in self._source.quotes() if q.sub in wanted}
        self._quotes, self._now, self._freshness = quotes, now, freshness  # for the tooltip
        entries = panel_entries(self._pairs, quotes, now, freshness)
        if entries != self._entries:
            self._entries = entries
            self._relayout()
        upcoming = [at for at in (freshness.stale_at(q, now) for q in quotes.values()) if at is not None]
        return min(upcoming) if upcoming else None

    def entries(self) -> tuple[PanelEntry, ...]:
        return self._entries or ()

    def text(self) -> str:
        """What the panel shows, as one line: ``BTC 91.2k ▲2.1%  ETH 3,102 stale``."""
        parts = [" ".join(p for p in (e.label, e.price, e.change) if p) for e in self.entries()]
        if self._more:
            parts.append(mini_panel_more_text(self._more))
        return "  ".join(parts)

    # -- place -----------------------------------------------------------------------------------

    def place(self) -> PanelPlace | None:
        """Where the panel is now (its screen and offset), or None before it was first placed."""
        if not self._placed:
            return None
        screen: QScreen | None = self.screen()
        centre = self.frameGeometry().center()
        for s in QGuiApplication.screens():  # the screen under its centre, if any
            if s.geometry().contains(centre):
                screen = s
                break
        if screen is None:
            return None
        top_left = self.pos() - screen.geometry().topLeft()
        return PanelPlace(screen.name(), top_left.x(), top_left.y())

    def restore_place(self, place: PanelPlace | None) -> None:
        """Move to ``place`` (see :func:`place_panel`): on its screen if it is still there, else
        the primary screen, always fully visible."""
        self.move(place_panel(place, self.size(), screen_areas()))
        self._placed = True
        self._save_timer.stop()  # placing is not a move by the user

    def ensure_on_screen(self) -> None:
        """Pull the panel back inside its screen (it grew wider, or the screen changed)."""
        place = self.place()
        if place is not None:
            self.move(place_panel(place, self.size(), screen_areas()))

    # -- painting --------------------------------------------------------------------------------

    def _request_repaint(self) -> None:
        self.repaints_requested += 1
        self.update()

    def _segments(self) -> list[tuple[str, QFont, QColor]]:
        """The text runs in drawing order (each with its font and colour); a gap between pairs."""
        c = DARK if self._dark else LIGHT
        runs: list[tuple[str, QFont, QColor]] = []
        for i, e in enumerate(self.entries()):
            if i:
                runs.append(("", self._font, c.text))  # the gap between pairs
            grey = not e.live
            runs.append((e.label, self._font, c.stale if grey else c.label))
            runs.append((e.price, self._bold, c.stale if grey else c.text))
            if e.change:
                colour = c.stale if grey else c.up if e.sign == 1 else c.down if e.sign == -1 else c.label
                runs.append((e.change, self._font, colour))
        if self._more:
            runs.append(("", self._font, c.text))
            runs.append((mini_panel_more_text(self._more), self._font, c.label))
        if not runs:
            runs.append((MINI_PANEL_WAITING_MARK, self._font, c.stale))
        return runs

    def _relayout(self) -> None:
        """Place the runs, resize to them (growing or shrinking from the left edge), repaint once."""
        fm, bold = self._metrics, self._bold_metrics
        space = fm.horizontalAdvance(" ")
        x = PAD_X
        runs = []
        for text, font, colour in self._segments():
            if not text:
                x += GAP_PX - space
                continue
            runs.append((x, text, font, colour))
            x += (bold if font is self._bold else fm).horizontalAdvance(text) + space
        self._runs = runs
        # Wide enough for the widest text so far (for these pairs and this font): "▲2.1%" becoming
        # "▼12.3%" and back does not resize the window (an X11 configure each time) nor make a
        # panel parked against the right edge jump sideways.
        width = max(40, x - space + PAD_X, self._widest)
        self._widest = width
        height = max(fm.height(), bold.height()) + 2 * PAD_Y
        if QSize(width, height) != self.size():
            self.setFixedSize(width, height)
            self.ensure_on_screen()
        self.setAccessibleDescription(self.text())
        self._request_repaint()

    def tooltip_text(self) -> str:
        """The tooltip: every shown pair's full price and change, then how to use the panel."""
        return mini_panel_description(detail_lines(self._pairs, self._quotes, self._now, self._freshness))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            QToolTip.showText(event.globalPos(), self.tooltip_text(), self)
            return True
        return super().event(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        c = DARK if self._dark else LIGHT
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        p.fillRect(self.rect(), c.background)
        p.setPen(c.border)
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        baseline = PAD_Y + max(self._metrics.ascent(), self._bold_metrics.ascent())
        for x, text, font, colour in self._runs:
            p.setFont(font)
            p.setPen(colour)
            p.drawText(x, baseline, text)
        p.end()

    # -- the user --------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        handle = self.windowHandle()
        # The window manager moves it where it can (Wayland allows nothing else); by hand otherwise.
        if handle is not None and handle.startSystemMove():
            self._drag_offset = None
        else:
            self._drag_offset = event.globalPosition().toPoint() - self.pos()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_offset is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.move(event.globalPosition().toPoint() - self._drag_offset)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag_offset is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_offset = None
            self.ensure_on_screen()  # dropped half off the screen: pulled back in
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.open_window_requested.emit()  # a glance led to a closer look
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def moveEvent(self, event: QMoveEvent) -> None:
        super().moveEvent(event)
        if self._placed and self.isVisible():
            self._save_timer.start()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide_requested.emit()
            event.accept()
            return
        if event.key() == Qt.Key.Key_Menu or (
            event.key() == Qt.Key.Key_F10 and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.build_menu().exec(self.mapToGlobal(QPoint(0, self.height())))
            event.accept()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Closed by the window manager (Alt+F4): the same as "Hide panel", so the setting follows.
        # Accepted (it hides): Qt 6 cancels QApplication.quit() while a window refuses to close.
        event.accept()
        self.hide_requested.emit()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.build_menu().exec(event.globalPos())

    def build_menu(self) -> QMenu:
        """The right-click menu, built when asked (nothing to keep up to date while it is closed)."""
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        opacity = menu.addMenu(MINI_PANEL_MENU_OPACITY)
        group = QActionGroup(opacity)
        presets = sorted({*OPACITY_PRESETS_PCT, self._opacity_pct}, reverse=True)
        for pct in presets:
            action = QAction(f"{pct} %", opacity)
            action.setCheckable(True)
            action.setChecked(pct == self._opacity_pct)
            action.setData(pct)
            action.triggered.connect(self._on_opacity_action_triggered)
            group.addAction(action)
            opacity.addAction(action)
        pairs = menu.addMenu(MINI_PANEL_MENU_PAIRS)
        follow = QAction(MINI_PANEL_MENU_FOLLOW, pairs)
        follow.setCheckable(True)
        follow.setChecked(not self._chosen)
        follow.triggered.connect(self._on_follow_action_triggered)
        pairs.addAction(follow)
        pairs.addSeparator()
        shown = self._ticked()
        for pair in self._watchlist:
            action = QAction(f"{pair.pair} · {pair.venue}", pairs)
            action.setCheckable(True)
            action.setChecked(pair in shown)
            action.setData(str(pair))
            action.triggered.connect(self._on_pair_action_triggered)
            pairs.addAction(action)
        menu.addSeparator()
        menu.addAction(MINI_PANEL_MENU_OPEN, self.open_window_requested.emit)
        menu.addAction(MINI_PANEL_MENU_HIDE, self.hide_requested.emit)
        return menu

    def _ticked(self) -> set[Pair]:
        return set(self._chosen or self._pairs)

    @Slot()
    def _on_opacity_action_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.opacity_chosen.emit(int(action.data()))

    @Slot()
    def _on_follow_action_triggered(self) -> None:
        self.pairs_chosen.emit(())

    @Slot(bool)
    def _on_pair_action_triggered(self, checked: bool) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        pair = next((p for p in self._watchlist if str(p) == action.data()), None)
        if pair is None:
            return
        # Following the watchlist, the boxes of the pairs shown are ticked: a change starts a choice.
        chosen = self._ticked()
        if checked:
            chosen.add(pair)
        else:
            chosen.discard(pair)
        self.pairs_chosen.emit(tuple(p for p in self._watchlist if p in chosen))

    @Slot()
    def _on_save_timer_timeout(self) -> None:
        self.moved.emit()

    @Slot(Qt.ColorScheme)
    def _on_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        self.set_dark(system_is_dark())

    @Slot(QScreen)
    def _on_screens_changed(self, _screen: QScreen) -> None:
        # After Qt has moved the window off a removed screen (queued: it does so on the same signal).
        QTimer.singleShot(0, self.ensure_on_screen)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # desktops that switch by palette only
            self.set_dark(system_is_dark())
        elif event.type() == QEvent.Type.FontChange:  # the desktop's font changed
            self._font = QFont(self.font())
            self._bold = QFont(self._font)
            self._bold.setBold(True)
            self._metrics = QFontMetrics(self._font)
            self._bold_metrics = QFontMetrics(self._bold)
            self._widest = 0
            self._relayout()
        super().changeEvent(event)
