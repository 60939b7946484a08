"""The alert rule editor: a dialog that edits one move, step or level rule, shows the pair's current
price, and says what is wrong with a value instead of changing it silently."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import (
    MIN_COOLDOWN_S,
    MIN_WINDOW_S,
    LevelRule,
    MoveDirection,
    MoveRule,
    Rule,
    RuleError,
    StepRule,
    check_minimums,
)
from ccdesk.core.pairs import Pair
from ccdesk.qt.settings_dialog.widgets import grow_to_fit, message_label, show_message, stacked
from ccdesk.wording import (
    RULE_EXPIRY_PAST_TEXT,
    RULE_FAR_LEVEL_CONFIRM_TEXT,
    RULE_ONCE_CHOICES,
    alert_pair_words,
    duration_field_problem,
    level_distance_warning,
    level_field_problem,
    pct_field_problem,
    rule_price_text,
)

PriceLookup = Callable[[Pair], tuple[float, bool] | None]
"""A pair's latest price and whether it is live (fresh), or None while it has none: the dialog gets it
from the controller, which reads the quote model (widgets never reach for the network)."""

_WARNING_STYLE = "color: #8a5300;"
_PRICE_REFRESH_MS = 2000


class _NumberField(QWidget):
    """A number typed as text, with its unit after it; it never changes what was typed.

    ``value()`` reads the text as it is (None if it is not a number); the editor checks it and says
    what is wrong under the field.

    Signals:
        None of its own: its ``edit`` emits QLineEdit's.
    """

    def __init__(self, value: float | None, unit: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setAccessibleName(name)
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.unit = QLabel(unit)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(self.unit)
        self.setFocusProxy(self.edit)
        if value is not None:
            self.setValue(value)

    def setValue(self, value: float) -> None:
        """Show ``value`` (at most 12 significant digits, no exponent below 1e15)."""
        self.edit.setText(_number_text(value))

    def text(self) -> str:
        """The text as typed."""
        return self.edit.text()

    def setText(self, text: str) -> None:
        """Replace the text."""
        self.edit.setText(text)

    def value(self) -> float | None:
        """The number typed (``,`` and ``_`` as thousands separators, a trailing unit allowed), or
        None if it is not one."""
        return parse_number(self.edit.text(), self.unit.text())


class _MinutesField(_NumberField):
    """A duration typed in minutes that gives back the exact seconds it was given if left unchanged.

    Signals:
        None of its own.
    """

    def __init__(self, seconds: float, name: str, parent: QWidget | None = None) -> None:
        super().__init__(seconds / 60.0, "min", name, parent)
        self._seconds = seconds
        self._shown = self.text()

    def seconds(self) -> float | None:
        """The duration in seconds, or None if the text is not a number."""
        if self.text() == self._shown:
            return self._seconds
        minutes = self.value()
        return None if minutes is None else round(minutes * 60.0, 3)


def _buddy(text: str, field: QWidget) -> QLabel:
    """A form label whose mnemonic moves the focus to ``field`` (QFormLayout gives a label a buddy
    only when the field is a widget, not a layout, and shows a bare ``&`` otherwise)."""
    label = QLabel(text)
    label.setBuddy(field)
    return label


def _number_text(value: float) -> str:
    if value != 0 and (abs(value) >= 1e15 or abs(value) < 1e-9):
        return f"{value:.6g}"
    return f"{value:.12g}" if abs(value) < 1 else f"{value:.12f}".rstrip("0").rstrip(".")


_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?")
"""Commas that group thousands the way the window shows prices: ``91,234.5``, ``1,000,000``."""
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
"""One comma as the decimal mark: ``0,5``, ``93,6`` (what people in comma locales type)."""


def parse_number(text: str, unit: str = "") -> float | None:
    """A number typed by a person: ``1,234.5``, ``2 %`` (the field's own unit may follow), ``1e3``,
    ``0,5`` (a decimal comma); None for anything else (an empty text included). Never raises.

    A comma is never dropped silently: it groups thousands only where the groups are whole
    (``91,234.5``); else one comma is the decimal mark (``0,5`` is 0.5, never 5); else no number.
    """
    cleaned = text.strip()
    if unit and cleaned.endswith(unit):
        cleaned = cleaned[: -len(unit)].strip()
    cleaned = cleaned.replace("_", "").replace(" ", "")
    if "," in cleaned:
        if _GROUPED.fullmatch(cleaned):
            cleaned = cleaned.replace(",", "")
        elif _DECIMAL_COMMA.fullmatch(cleaned):
            cleaned = cleaned.replace(",", ".")
        else:
            return None
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


class RuleEditor(QDialog):
    """Edit one alert rule (a move or step rule, or a level rule). Stays open and says why on
    invalid input: each field's problem is said under it and nothing typed is changed.

    After ``accepted``, :attr:`rule` holds the new rule.

    Signals:
        None of its own: QDialog's ``accepted`` and ``rejected``.
    """

    DIRECTIONS = (MoveDirection.EITHER, MoveDirection.UP, MoveDirection.DOWN)  # the direction combo's order

    def __init__(
        self,
        kind: type[Rule],
        rule: Rule | None,
        watchlist: Sequence[Pair],
        parent: QWidget | None = None,
        *,
        new: bool | None = None,
        price_of: PriceLookup | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Build the editor.

        Args:
            kind: ``MoveRule`` or ``StepRule`` (the move editor, either mode) or ``LevelRule``.
            rule: The rule to edit, or None for a new one (sensible defaults).
            watchlist: The pairs to offer besides "All pairs".
            parent: The parent widget.
            new: True: ``rule`` is a template for a new rule (the title says "New"); by default
                new exactly when ``rule`` is None. The rule built keeps ``rule``'s id.
            price_of: The current price of a pair (shown, and levels far from it are warned about);
                None: no prices.
            now: Wall time, unix seconds (the expiry's default and its check).
        """
        super().__init__(parent)
        self._original = rule
        self._price_of = price_of
        self._now = now
        self._is_level = kind is LevelRule
        self._confirmed_far: str | None = None  # the level text whose warning was shown once
        self.rule: Rule | None = None
        is_new = rule is None if new is None else new
        self.setWindowTitle(
            ("New" if is_new else "Edit") + (" level alert" if self._is_level else " move alert")
        )
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.pair_combo = QComboBox()
        self.pair_combo.setAccessibleName("Pair")
        # Choices are kept in Python lists, indexed like the combo boxes: QVariant round trips of
        # Python objects (findData) do not compare them by value.
        self.pair_choices: list[Pair | None] = [None, *watchlist]
        if rule is not None and rule.sub not in self.pair_choices:
            self.pair_choices.append(rule.sub)
        self.pair_combo.addItems([alert_pair_words(sub) if sub else "All pairs" for sub in self.pair_choices])
        if rule is not None:
            self.pair_combo.setCurrentIndex(self.pair_choices.index(rule.sub))
        elif self._is_level and len(self.pair_choices) > 1:
            self.pair_combo.setCurrentIndex(1)  # a price level is about one pair
        self.price_label = QLabel()
        self.price_label.setAccessibleName("Current price")
        self.price_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(_buddy("&Pair:", self.pair_combo), stacked(self.pair_combo, self.price_label))

        move = rule if isinstance(rule, MoveRule | StepRule) else MoveRule(pct=2.0)
        self.mode_combo = QComboBox()
        self.mode_combo.setAccessibleName("Kind of move alert")
        self.mode_combo.addItems(["Within a time window", "Every further step (no window)"])
        self.mode_combo.setCurrentIndex(1 if isinstance(rule, StepRule) else 0)
        self.pct_box = _NumberField(move.pct, "%", "Move size in percent")
        self.pct_message = message_label()
        self.direction_combo = QComboBox()
        self.direction_combo.setAccessibleName("Direction")
        self.direction_combo.addItems(["Up or down", "Up", "Down"])
        self.direction_combo.setCurrentIndex(self.DIRECTIONS.index(move.direction))
        self.window_box = _MinutesField(
            rule.window_s if isinstance(rule, MoveRule) else 300.0, "Window in minutes"
        )
        self.window_message = message_label()
        self.level_edit = QLineEdit()
        self.level_edit.setAccessibleName("Price level")
        self.level_message = message_label()
        self.above_combo = QComboBox()
        self.above_combo.setAccessibleName("When the price")
        self.window_label = QLabel("&Within:")
        self.pct_label = _buddy("&Move of at least:", self.pct_box.edit)
        if not self._is_level:
            form.addRow("&Kind:", self.mode_combo)
            form.addRow(self.pct_label, stacked(self.pct_box, self.pct_message))
            form.addRow("&Direction:", self.direction_combo)
            self.window_label.setBuddy(self.window_box.edit)
            form.addRow(self.window_label, stacked(self.window_box, self.window_message))
        else:
            self.level_edit.setPlaceholderText("for example 100000")
            if isinstance(rule, LevelRule):
                self.level_edit.setText(_number_text(rule.level))
            form.addRow(
                _buddy("P&rice level:", self.level_edit), stacked(self.level_edit, self.level_message)
            )
            self.above_combo.addItems(["Rises to or above the level", "Falls to or below the level"])
            self.above_combo.setCurrentIndex(0 if not isinstance(rule, LevelRule) or rule.above else 1)
            form.addRow("Alert &when the price:", self.above_combo)
        cooldown = rule.cooldown_s if rule is not None else 900.0
        self.cooldown_box = _MinutesField(cooldown, "Quiet time after an alert, in minutes")
        self.cooldown_box.setToolTip("After an alert, the same alert for the same pair waits this long.")
        self.cooldown_message = message_label()
        form.addRow(
            _buddy("&Then quiet for:", self.cooldown_box.edit),
            stacked(self.cooldown_box, self.cooldown_message),
        )

        self.once_combo = QComboBox()
        self.once_combo.setAccessibleName("How often")
        self.once_combo.addItems(list(RULE_ONCE_CHOICES))
        self.once_combo.setCurrentIndex(1 if rule is not None and rule.once else 0)
        form.addRow("&Fire:", self.once_combo)
        self.expires_check = QCheckBox("&Expires")
        self.expires_edit = QDateTimeEdit()
        self.expires_edit.setAccessibleName("Expiry date and time")
        self.expires_edit.setCalendarPopup(True)
        self.expires_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        expires_at = rule.expires_at if rule is not None else None
        self.expires_check.setChecked(expires_at is not None)
        default_expiry = expires_at if expires_at is not None else now() + 7 * 86400
        self.expires_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(default_expiry)))
        self.expires_edit.setEnabled(expires_at is not None)
        self.expires_check.toggled.connect(self.expires_edit.setEnabled)
        self.expires_message = message_label()
        expiry_row = QHBoxLayout()
        expiry_row.addWidget(self.expires_check)
        expiry_row.addWidget(self.expires_edit, 1)
        form.addRow("Expiry:", stacked(expiry_row, self.expires_message))
        self.sound_check = QCheckBox("Play a &sound with the notification")
        self.sound_check.setChecked(rule is not None and rule.sound)
        form.addRow("", self.sound_check)
        self.enabled_check = QCheckBox("E&nabled (untick to mute the rule)")
        self.enabled_check.setChecked(rule is None or rule.enabled)
        form.addRow("", self.enabled_check)

        self.error_label = message_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.pair_combo.currentIndexChanged.connect(self._on_pair_combo_current_index_changed)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_combo_current_index_changed)
        self.pct_box.edit.textChanged.connect(self._on_pct_box_text_changed)
        self.window_box.edit.textChanged.connect(self._on_window_box_text_changed)
        self.cooldown_box.edit.textChanged.connect(self._on_cooldown_box_text_changed)
        self.level_edit.textChanged.connect(self._on_level_edit_text_changed)
        self._on_mode_combo_current_index_changed(self.mode_combo.currentIndex())
        self._price_timer = QTimer(self)
        self._price_timer.setInterval(_PRICE_REFRESH_MS)
        self._price_timer.timeout.connect(self.refresh_price)
        self.refresh_price()
        if price_of is not None:
            self._price_timer.start()
        # Room for messages under the fields. Both minimum dimensions are set explicitly, so the
        # layout never changes the shown window's minimum size (which would also make Qt's
        # offscreen platform warn "This plugin does not support propagateSizeHints()").
        hint = self.sizeHint()
        self.setMinimumSize(max(460, hint.width()), hint.height() + 4 * self.fontMetrics().lineSpacing())

    # -- what it shows ---------------------------------------------------------------------------

    @property
    def kind(self) -> type[Rule]:
        """The kind of rule the fields describe now."""
        if self._is_level:
            return LevelRule
        return StepRule if self.mode_combo.currentIndex() == 1 else MoveRule

    def sub(self) -> Pair | None:
        """The pair chosen (None: all pairs)."""
        return self.pair_choices[self.pair_combo.currentIndex()]

    def current_price(self) -> tuple[float, bool] | None:
        """The chosen pair's price and whether it is live, or None (all pairs, or no price yet)."""
        sub = self.sub()
        if sub is None or self._price_of is None:
            return None
        return self._price_of(sub)

    def refresh_price(self) -> None:
        """Show the chosen pair's current price (and re-check a level against it)."""
        sub = self.sub()
        self.price_label.setText(rule_price_text(sub, self.current_price()))
        if self._is_level:
            self._check_level_field()

    def _on_pair_combo_current_index_changed(self, _index: int) -> None:
        self._confirmed_far = None
        self.refresh_price()

    def _on_mode_combo_current_index_changed(self, index: int) -> None:
        if self._is_level:
            return  # a level rule's editor has no move fields: shown, they would be windows of their own
        step = index == 1
        self.window_box.setVisible(not step)
        self.window_label.setVisible(not step)
        self.window_message.setVisible(not step and bool(self.window_message.text()))
        self.pct_label.setText("&Step of:" if step else "&Move of at least:")
        self.pct_box.edit.setToolTip(
            "Each alert re-anchors at its price: the next one needs a further step."
            if step
            else "Compared with the price at the start of the window."
        )

    def _say(self, label: QLabel, text: str, ok: bool | None = False) -> None:
        """Show a message and grow the dialog if it no longer fits (a top-level dialog does not
        grow by itself when a word-wrapped line appears)."""
        show_message(label, text, ok)
        grow_to_fit(self)

    def _on_pct_box_text_changed(self, _text: str) -> None:
        self._say(self.pct_message, pct_field_problem(self.pct_box.text(), self.pct_box.value()) or "")

    def _on_window_box_text_changed(self, _text: str) -> None:
        problem = duration_field_problem(
            "window", self.window_box.text(), self.window_box.seconds(), MIN_WINDOW_S
        )
        self._say(self.window_message, problem or "")

    def _on_cooldown_box_text_changed(self, _text: str) -> None:
        problem = duration_field_problem(
            "quiet time", self.cooldown_box.text(), self.cooldown_box.seconds(), MIN_COOLDOWN_S
        )
        self._say(self.cooldown_message, problem or "")

    def _on_level_edit_text_changed(self, _text: str) -> None:
        self._confirmed_far = None
        self._check_level_field()

    def _check_level_field(self) -> str | None:
        """Say under the level what is wrong with it (red) or how far it is from the price
        (amber); returns the warning, if any."""
        text = self.level_edit.text()
        level = parse_number(text)
        problem = level_field_problem(text, level) if text.strip() else None
        if problem is not None:
            self._say(self.level_message, problem)
            return None
        price = self.current_price()
        warning = None if level is None or price is None else level_distance_warning(level, price[0])
        if warning:
            self.level_message.setStyleSheet(_WARNING_STYLE)
        self._say(self.level_message, warning or "", ok=None)
        if warning:
            self.level_message.setStyleSheet(_WARNING_STYLE)
        return warning

    # -- the rule --------------------------------------------------------------------------------

    def build_rule(self) -> Rule:
        """The rule the fields describe, with the edited rule's id (its controls as the fields set).

        Raises:
            ValueError: (RuleError included) with a plain message if a value is not usable.
        """
        rule = self._build_condition()
        expires_at: float | None = None
        if self.expires_check.isChecked():
            expires_at = float(self.expires_edit.dateTime().toSecsSinceEpoch())
            if expires_at <= self._now():
                raise ValueError(RULE_EXPIRY_PAST_TEXT)
        original = self._original
        return dataclasses.replace(
            rule,
            id=rule.id if original is None else original.id,
            enabled=self.enabled_check.isChecked(),
            snoozed_until=None if original is None else original.snoozed_until,
            expires_at=expires_at,
            once=self.once_combo.currentIndex() == 1,
            sound=self.sound_check.isChecked(),
            # Changing how often it fires re-arms a spent rule; otherwise it stays as it was.
            spent_at=None if original is None or not self.once_combo.currentIndex() else original.spent_at,
        )

    def _build_condition(self) -> Rule:
        sub = self.sub()
        cooldown_s = self._duration(self.cooldown_box, "quiet time", MIN_COOLDOWN_S)
        if not self._is_level:
            pct = self.pct_box.value()
            problem = pct_field_problem(self.pct_box.text(), pct)
            if problem is not None or pct is None:
                raise ValueError(problem or pct_field_problem("", None) or "")
            direction = self.DIRECTIONS[self.direction_combo.currentIndex()]
            if self.kind is StepRule:
                return StepRule(pct=pct, direction=direction, cooldown_s=cooldown_s, sub=sub)
            window_s = self._duration(self.window_box, "window", MIN_WINDOW_S)
            return MoveRule(pct=pct, window_s=window_s, direction=direction, cooldown_s=cooldown_s, sub=sub)
        text = self.level_edit.text()
        level = parse_number(text)
        problem = level_field_problem(text, level)
        if problem is not None or level is None:
            raise ValueError(problem or level_field_problem("", None) or "")
        original = self._original
        hysteresis = original.hysteresis_pct if isinstance(original, LevelRule) else 0.1
        return LevelRule(
            level=level,
            above=self.above_combo.currentIndex() == 0,
            cooldown_s=cooldown_s,
            sub=sub,
            hysteresis_pct=hysteresis,
        )

    @staticmethod
    def _duration(field: _MinutesField, what: str, minimum_s: float) -> float:
        seconds = field.seconds()
        problem = duration_field_problem(what, field.text(), seconds, minimum_s)
        if problem is not None or seconds is None:
            raise ValueError(problem or duration_field_problem(what, "", None, minimum_s) or "")
        return seconds

    def accept(self) -> None:
        """Keep the rule and close, or show why it is not valid and stay open. A level far from
        the current price is said once; a second OK keeps it."""
        try:
            rule = self.build_rule()
            check_minimums(rule)
        except (RuleError, ValueError) as exc:
            message = str(exc)
            self._say(self.error_label, message[:1].upper() + message[1:])
            return
        if self._is_level:
            warning = self._check_level_field()
            if warning and self._confirmed_far != self.level_edit.text():
                self._confirmed_far = self.level_edit.text()
                self._say(self.error_label, f"{warning} {RULE_FAR_LEVEL_CONFIRM_TEXT}", ok=None)
                self.error_label.setStyleSheet(_WARNING_STYLE)
                return
        self.rule = rule
        self._price_timer.stop()
        super().accept()

    def reject(self) -> None:
        """Close without a rule."""
        self._price_timer.stop()
        super().reject()
