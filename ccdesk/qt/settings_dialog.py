"""The Settings dialog: API key, watchlist, alert rules and general options. Widgets only.

The dialog edits a copy of :class:`~ccdesk.core.settings.Settings` and reports what the user
chose through signals. It never touches the network, the keyring or the settings file: the
controller runs the key check (``verify_requested`` -> :meth:`SettingsDialog.show_verify_result`),
stores the key (``key_entered``) and saves and applies the settings (``settings_accepted``).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence

from PySide6.QtCore import QDateTime, QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import Direction, LevelRule, MoveRule, Rule, RuleError
from ccdesk.core.formatting import format_duration, format_price
from ccdesk.core.secrets import MAX_KEY_LENGTH, ApiKey, InvalidApiKey
from ccdesk.core.settings import (
    MAX_WATCHLIST,
    STALE_MAX_S,
    STALE_MIN_S,
    Settings,
    parse_pair_input,
    validate_webhook_url,
)
from ccdesk.core.subs import Sub, SubError

logger = logging.getLogger(__name__)

API_KEYS_URL = "https://www.cryptocompare.com/cryptopian/api-keys"
_ERROR_STYLE = "color: #b3261e;"
_OK_STYLE = "color: #1b6e35;"
_MAX_MINUTES = 7 * 24 * 60.0

# Pause choices, in the order of the combo box.
PAUSE_OFF, PAUSE_UNTIL_RESUMED, PAUSE_UNTIL_TIME = range(3)


def describe_rule(rule: Rule, watchlist: Sequence[Sub] = ()) -> str:
    """One line for a rule: ``All pairs: up or down 2 % within 5 min (then quiet 15 min)``.

    Args:
        rule: The rule.
        watchlist: If given, a per-pair rule whose pair is not in it says so.
    """
    who = "All pairs" if rule.sub is None else rule.sub.label
    if isinstance(rule, MoveRule):
        way = {Direction.EITHER: "up or down", Direction.UP: "up", Direction.DOWN: "down"}[rule.direction]
        what = f"{way} {rule.pct:g} % within {format_duration(rule.window_s)}"
    else:
        way = "rises to {} or above" if rule.above else "falls to {} or below"
        what = way.format(format_price(rule.level))
    text = f"{who}: {what} (then quiet {format_duration(rule.cooldown_s)})"
    if watchlist and rule.sub is not None and rule.sub not in watchlist:
        text += " \u2014 pair not in the watchlist"
    return text


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(False)
    return label


def _show_message(label: QLabel, text: str, ok: bool | None = False) -> None:
    """Show ``text`` in ``label`` (red for an error, green for success, plain for None); hide if empty."""
    label.setText(text)
    label.setStyleSheet("" if ok is None else _OK_STYLE if ok else _ERROR_STYLE)
    label.setVisible(bool(text))


class _MinutesBox(QDoubleSpinBox):
    """A duration in minutes that gives back the exact seconds it was given if left unchanged."""

    def __init__(self, seconds: float, minimum_min: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(1)
        self.setRange(minimum_min, _MAX_MINUTES)
        self.setSuffix(" min")
        self.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._seconds = seconds
        self.setValue(seconds / 60.0)
        self._shown = self.value()

    def seconds(self) -> float:
        """The duration in seconds."""
        value = self.value()
        return self._seconds if value == self._shown else round(value * 60.0, 3)


class RuleEditor(QDialog):
    """Edit one alert rule (a move or a level rule). Stays open and says why on invalid input.

    After ``accepted``, :attr:`rule` holds the new rule.
    """

    DIRECTIONS = (Direction.EITHER, Direction.UP, Direction.DOWN)  # the direction combo's order

    def __init__(
        self,
        kind: type[MoveRule] | type[LevelRule],
        rule: Rule | None,
        watchlist: Sequence[Sub],
        parent: QWidget | None = None,
    ) -> None:
        """Build the editor.

        Args:
            kind: ``MoveRule`` or ``LevelRule``.
            rule: The rule to edit, or None for a new one (sensible defaults).
            watchlist: The pairs to offer besides "All pairs".
            parent: The parent widget.
        """
        super().__init__(parent)
        self.kind = kind
        self.rule: Rule | None = None
        self._original = rule
        is_move = kind is MoveRule
        self.setWindowTitle(("Edit" if rule else "New") + (" move alert" if is_move else " level alert"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.pair_combo = QComboBox()
        # Choices are kept in Python lists, indexed like the combo boxes: QVariant round trips of
        # Python objects (findData) do not compare them by value.
        self.pair_choices: list[Sub | None] = [None, *watchlist]
        if rule is not None and rule.sub not in self.pair_choices:
            self.pair_choices.append(rule.sub)
        self.pair_combo.addItems([sub.label if sub else "All pairs" for sub in self.pair_choices])
        if rule is not None:
            self.pair_combo.setCurrentIndex(self.pair_choices.index(rule.sub))
        elif not is_move and len(self.pair_choices) > 1:
            self.pair_combo.setCurrentIndex(1)  # a price level is about one pair
        form.addRow("&Pair:", self.pair_combo)

        self.pct_box = QDoubleSpinBox()
        self.direction_combo = QComboBox()
        self.window_box = _MinutesBox(rule.window_s if isinstance(rule, MoveRule) else 300.0, 0.1)
        self.level_edit = QLineEdit()
        self.above_combo = QComboBox()
        if is_move:
            move = rule if isinstance(rule, MoveRule) else MoveRule(pct=2.0)
            self.pct_box.setRange(0.01, 1000.0)
            self.pct_box.setDecimals(2)
            self.pct_box.setSuffix(" %")
            self.pct_box.setAlignment(Qt.AlignmentFlag.AlignRight)
            self.pct_box.setValue(move.pct)
            form.addRow("&Move of at least:", self.pct_box)
            self.direction_combo.addItems(["Up or down", "Up", "Down"])
            self.direction_combo.setCurrentIndex(self.DIRECTIONS.index(move.direction))
            form.addRow("&Direction:", self.direction_combo)
            form.addRow("&Within:", self.window_box)
        else:
            self.level_edit.setPlaceholderText("for example 100000")
            if isinstance(rule, LevelRule):
                self.level_edit.setText(f"{rule.level:.12g}")
            form.addRow("P&rice level:", self.level_edit)
            self.above_combo.addItems(["Rises to or above the level", "Falls to or below the level"])
            self.above_combo.setCurrentIndex(0 if not isinstance(rule, LevelRule) or rule.above else 1)
            form.addRow("Alert &when the price:", self.above_combo)
        cooldown = rule.cooldown_s if rule is not None else 900.0
        self.cooldown_box = _MinutesBox(cooldown, 0.0)
        self.cooldown_box.setToolTip("After an alert, the same alert for the same pair waits this long.")
        form.addRow("&Then quiet for:", self.cooldown_box)

        self.error_label = _message_label()
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
        # Room for a two-line error message. Both minimum dimensions are set explicitly, so the
        # layout never changes the shown window's minimum size (which would also make Qt's
        # offscreen platform warn "This plugin does not support propagateSizeHints()").
        hint = self.sizeHint()
        self.setMinimumSize(max(420, hint.width()), hint.height() + 2 * self.fontMetrics().lineSpacing())

    def build_rule(self) -> Rule:
        """The rule the fields describe.

        Raises:
            ValueError: (RuleError included) with a plain message if a value is not usable.
        """
        sub = self.pair_choices[self.pair_combo.currentIndex()]
        cooldown_s = self.cooldown_box.seconds()
        if self.kind is MoveRule:
            return MoveRule(
                pct=self.pct_box.value(),
                window_s=self.window_box.seconds(),
                direction=self.DIRECTIONS[self.direction_combo.currentIndex()],
                cooldown_s=cooldown_s,
                sub=sub,
            )
        text = self.level_edit.text().strip().replace(",", "").replace("_", "").replace(" ", "")
        if not text:
            raise ValueError("Enter the price level, for example 100000.")
        try:
            level = float(text)
        except ValueError:
            raise ValueError("The price level must be a number, for example 100000 or 0.25.") from None
        if not math.isfinite(level):
            raise ValueError("The price level must be a number, for example 100000 or 0.25.")
        original = self._original
        hysteresis = original.hysteresis_pct if isinstance(original, LevelRule) else 0.1
        return LevelRule(
            level=level,
            above=self.above_combo.currentIndex() == 0,
            cooldown_s=cooldown_s,
            sub=sub,
            hysteresis_pct=hysteresis,
        )

    def accept(self) -> None:
        """Keep the rule and close, or show why it is not valid and stay open."""
        try:
            self.rule = self.build_rule()
        except (RuleError, ValueError) as exc:
            message = str(exc)
            _show_message(self.error_label, message[:1].upper() + message[1:])
            return
        super().accept()


class SettingsDialog(QDialog):
    """Settings: API key, watchlist, alert rules and general options.

    Editing changes nothing outside the dialog until OK. The widgets are public attributes so
    that tests can drive them.

    Signals:
        verify_requested(ApiKey): The user asked to check the typed key. Run the check off the
            GUI thread, then call :meth:`show_verify_result`.
        key_entered(ApiKey): On OK, if the user typed a key: store it (keyring only).
        settings_accepted(Settings): On OK (after ``key_entered``): the new settings.
    """

    verify_requested = Signal(object)
    key_entered = Signal(object)
    settings_accepted = Signal(object)

    def __init__(self, settings: Settings, key_status: str, parent: QWidget | None = None) -> None:
        """Build the dialog.

        Args:
            settings: The settings to start from.
            key_status: One line on the stored key, e.g. "A key is stored in the keyring (ab…yz)".
            parent: The parent widget.
        """
        super().__init__(parent)
        self.setWindowTitle("ccdesk settings")
        self.setMinimumSize(560, 460)
        self._initial = settings
        self._watchlist: list[Sub] = list(settings.watchlist)
        self._pinned: Sub | None = settings.pinned
        self._rules: list[Rule] = list(settings.rules)
        self.rule_editor: RuleEditor | None = None
        self._editing_row: int | None = None

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_key_tab(key_status), "&API key")
        self.tabs.addTab(self._build_watchlist_tab(), "&Watchlist")
        self.tabs.addTab(self._build_alerts_tab(), "A&lerts")
        self.tabs.addTab(self._build_general_tab(settings), "&General")

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(self.buttons)

        self._refresh_watchlist()
        self._refresh_rules()
        self.key_edit.setFocus()  # the first tab is the key; most people open settings to enter one

    # --- API key tab ---

    def _build_key_tab(self, key_status: str) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)

        self.key_status_label = QLabel(key_status)
        self.key_status_label.setWordWrap(True)
        form.addRow("Stored key:", self.key_status_label)

        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setMaxLength(MAX_KEY_LENGTH + 64)  # room for pasted whitespace, stripped later
        self.key_edit.setPlaceholderText("Paste a key to replace the stored one")
        self.key_edit.setAccessibleName("New API key")
        self.key_edit.textChanged.connect(self._on_key_edit_text_changed)
        self.show_key_button = QToolButton()
        self.show_key_button.setText("Show")
        self.show_key_button.setCheckable(True)
        self.show_key_button.setAccessibleName("Show the typed key")
        self.show_key_button.toggled.connect(self._on_show_key_button_toggled)
        self.verify_button = QPushButton("&Verify")
        self.verify_button.setEnabled(False)
        self.verify_button.setAutoDefault(False)
        self.verify_button.clicked.connect(self._on_verify_button_clicked)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.show_key_button)
        key_row.addWidget(self.verify_button)
        key_label = QLabel("&New key:")
        key_label.setBuddy(self.key_edit)
        self.key_error_label = _message_label()
        self.verify_result_label = _message_label()
        form.addRow(key_label, _stacked(key_row, self.key_error_label, self.verify_result_label))

        help_label = QLabel(
            f'Create a free key at <a href="{API_KEYS_URL}">cryptocompare.com</a> '
            "(Account \u2192 API keys). The key is stored only in your system keyring, "
            "never in a file. Demo mode needs no key."
        )
        help_label.setWordWrap(True)
        help_label.setOpenExternalLinks(True)
        help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        form.addRow(help_label)
        QWidget.setTabOrder(self.key_edit, self.show_key_button)
        QWidget.setTabOrder(self.show_key_button, self.verify_button)
        return page

    def set_key_status(self, text: str) -> None:
        """Replace the one-line status of the stored key."""
        self.key_status_label.setText(text)

    def show_verify_result(self, text: str, ok: bool) -> None:
        """Show the outcome of a key check (from ``describe()``), green if ``ok``, red if not."""
        self.verify_button.setEnabled(bool(self.key_edit.text().strip()))
        _show_message(self.verify_result_label, text, ok)

    def _typed_key(self) -> ApiKey | None:
        """The typed key, None if the field is blank; shows the problem and raises if invalid."""
        text = self.key_edit.text()
        if not text.strip():
            return None
        try:
            key = ApiKey(text)
        except InvalidApiKey as exc:  # the message never contains the text
            message = str(exc)
            _show_message(self.key_error_label, message[:1].upper() + message[1:] + ".")
            raise
        _show_message(self.key_error_label, "")
        return key

    def _on_key_edit_text_changed(self, text: str) -> None:
        self.verify_button.setEnabled(bool(text.strip()))
        _show_message(self.key_error_label, "")
        _show_message(self.verify_result_label, "")

    def _on_show_key_button_toggled(self, shown: bool) -> None:
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.show_key_button.setText("Hide" if shown else "Show")

    def _on_verify_button_clicked(self) -> None:
        try:
            key = self._typed_key()
        except InvalidApiKey:
            return
        if key is None:
            return
        self.verify_button.setEnabled(False)
        _show_message(self.verify_result_label, "Checking the key with CryptoCompare\u2026", None)
        logger.debug("key check requested for %s", key)  # masked by ApiKey
        self.verify_requested.emit(key)

    # --- watchlist tab ---

    def _build_watchlist_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)

        self.watch_list = QListWidget()
        self.watch_list.setAccessibleName("Watchlist")
        self.watch_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.watch_list.currentRowChanged.connect(self._update_watch_buttons)
        self.up_button = QPushButton("Move &up")
        self.down_button = QPushButton("Move &down")
        self.pin_button = QPushButton("Show in &tray")
        self.pin_button.setToolTip("The tray icon's tooltip shows this pair's price.")
        self.remove_button = QPushButton("&Remove")
        side = QVBoxLayout()
        for button, slot in (
            (self.up_button, self._on_up_button_clicked),
            (self.down_button, self._on_down_button_clicked),
            (self.pin_button, self._on_pin_button_clicked),
            (self.remove_button, self._on_remove_button_clicked),
        ):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            side.addWidget(button)
        side.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.watch_list, 1)
        top.addLayout(side)
        layout.addLayout(top, 1)

        box = QGroupBox("Add a pair")
        grid = QGridLayout(box)
        self.base_edit = QLineEdit()
        self.base_edit.setPlaceholderText("BTC")
        self.quote_edit = QLineEdit()
        self.quote_edit.setPlaceholderText("USD")
        self.exchange_edit = QLineEdit()
        self.exchange_edit.setPlaceholderText("all exchanges")
        self.add_button = QPushButton("Add &pair")
        self.add_button.setAutoDefault(False)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        for column, (text, edit) in enumerate(
            (("&Coin:", self.base_edit), ("Curre&ncy:", self.quote_edit), ("&Exchange:", self.exchange_edit))
        ):
            label = QLabel(text)
            label.setBuddy(edit)
            edit.textEdited.connect(self._on_pair_edit_text_edited)
            edit.installEventFilter(self)
            grid.addWidget(label, 0, column)
            grid.addWidget(edit, 1, column)
        grid.addWidget(self.add_button, 1, 3)
        hint = QLabel(
            "Leave the exchange blank for CryptoCompare's average of all exchanges (CCCAGG). "
            "Exchange names are spelled as on CryptoCompare, e.g. Coinbase, Binance, Kraken."
        )
        hint.setWordWrap(True)
        self.pair_error_label = _message_label()
        grid.addWidget(self.pair_error_label, 2, 0, 1, 4)
        grid.addWidget(hint, 3, 0, 1, 4)
        layout.addWidget(box)
        QWidget.setTabOrder(self.base_edit, self.quote_edit)
        QWidget.setTabOrder(self.quote_edit, self.exchange_edit)
        QWidget.setTabOrder(self.exchange_edit, self.add_button)
        return page

    def _refresh_watchlist(self, select: int | None = None) -> None:
        row = self.watch_list.currentRow() if select is None else select
        self.watch_list.clear()
        for sub in self._watchlist:
            pinned = sub == self._pinned
            item = QListWidgetItem(f"{sub.label}    (shown in tray)" if pinned else sub.label)
            item.setToolTip(str(sub))
            if pinned:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.watch_list.addItem(item)
        if self._watchlist:
            self.watch_list.setCurrentRow(max(0, min(row, len(self._watchlist) - 1)))
        self._update_watch_buttons()

    def _update_watch_buttons(self) -> None:
        row = self.watch_list.currentRow()
        has = 0 <= row < len(self._watchlist)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < len(self._watchlist) - 1)
        self.remove_button.setEnabled(has)
        self.pin_button.setEnabled(has and self._watchlist[row] != self._pinned)

    def _on_pair_edit_text_edited(self, _text: str) -> None:
        _show_message(self.pair_error_label, "")

    def _on_add_button_clicked(self) -> None:
        self.add_pair()

    def add_pair(self) -> bool:
        """Add the pair typed in the add row; on bad input show why and add nothing.

        Returns:
            True if the pair was added.
        """
        try:
            sub = parse_pair_input(self.base_edit.text(), self.quote_edit.text(), self.exchange_edit.text())
        except SubError as exc:
            _show_message(self.pair_error_label, str(exc))
            return False
        if sub in self._watchlist:
            _show_message(self.pair_error_label, f"{sub.label} is already in the watchlist.")
            self.watch_list.setCurrentRow(self._watchlist.index(sub))
            return False
        if len(self._watchlist) >= MAX_WATCHLIST:
            _show_message(self.pair_error_label, f"The watchlist is full ({MAX_WATCHLIST} pairs).")
            return False
        self._watchlist.append(sub)
        if self._pinned is None:
            self._pinned = sub
        _show_message(self.pair_error_label, "")
        for edit in (self.base_edit, self.quote_edit, self.exchange_edit):
            edit.clear()
        self.base_edit.setFocus()
        self._refresh_watchlist(select=len(self._watchlist) - 1)
        self._refresh_rules()
        return True

    def _move_current(self, step: int) -> None:
        row = self.watch_list.currentRow()
        other = row + step
        if 0 <= row < len(self._watchlist) and 0 <= other < len(self._watchlist):
            self._watchlist[row], self._watchlist[other] = self._watchlist[other], self._watchlist[row]
            self._refresh_watchlist(select=other)

    def _on_up_button_clicked(self) -> None:
        self._move_current(-1)

    def _on_down_button_clicked(self) -> None:
        self._move_current(+1)

    def _on_pin_button_clicked(self) -> None:
        row = self.watch_list.currentRow()
        if 0 <= row < len(self._watchlist):
            self._pinned = self._watchlist[row]
            self._refresh_watchlist(select=row)

    def _on_remove_button_clicked(self) -> None:
        row = self.watch_list.currentRow()
        if not 0 <= row < len(self._watchlist):
            return
        removed = self._watchlist.pop(row)
        if removed == self._pinned:
            self._pinned = self._watchlist[0] if self._watchlist else None
        self._refresh_watchlist(select=row)
        self._refresh_rules()

    # --- alerts tab ---

    def _build_alerts_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        intro = QLabel("An alert shows a notification (and calls the webhook, if set).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.rule_list = QListWidget()
        self.rule_list.setAccessibleName("Alert rules")
        self.rule_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rule_list.currentRowChanged.connect(self._update_rule_buttons)
        self.rule_list.itemActivated.connect(self._on_rule_list_item_activated)
        self.add_move_button = QPushButton("Add &move alert\u2026")
        self.add_level_button = QPushButton("Add le&vel alert\u2026")
        self.edit_rule_button = QPushButton("&Edit\u2026")
        self.remove_rule_button = QPushButton("&Remove")
        side = QVBoxLayout()
        for button, slot in (
            (self.add_move_button, self._on_add_move_button_clicked),
            (self.add_level_button, self._on_add_level_button_clicked),
            (self.edit_rule_button, self._on_edit_rule_button_clicked),
            (self.remove_rule_button, self._on_remove_rule_button_clicked),
        ):
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            side.addWidget(button)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.rule_list, 1)
        row.addLayout(side)
        layout.addLayout(row, 1)
        hint = QLabel(
            "A move alert compares each price with the price at the start of the window. "
            "A level alert fires when the price crosses the level, not while it stays beyond it."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        return page

    def _refresh_rules(self, select: int | None = None) -> None:
        row = self.rule_list.currentRow() if select is None else select
        self.rule_list.clear()
        for rule in self._rules:
            self.rule_list.addItem(describe_rule(rule, self._watchlist))
        if self._rules:
            self.rule_list.setCurrentRow(max(0, min(row, len(self._rules) - 1)))
        self._update_rule_buttons()

    def _update_rule_buttons(self) -> None:
        has = 0 <= self.rule_list.currentRow() < len(self._rules)
        self.edit_rule_button.setEnabled(has)
        self.remove_rule_button.setEnabled(has)

    def _open_rule_editor(self, kind: type[MoveRule] | type[LevelRule], row: int | None) -> RuleEditor:
        rule = None if row is None else self._rules[row]
        editor = RuleEditor(kind, rule, self._watchlist, self)
        editor.accepted.connect(self._on_rule_editor_accepted)
        self.rule_editor = editor
        self._editing_row = row
        editor.open()
        return editor

    def _on_add_move_button_clicked(self) -> None:
        self._open_rule_editor(MoveRule, None)

    def _on_add_level_button_clicked(self) -> None:
        self._open_rule_editor(LevelRule, None)

    def _on_edit_rule_button_clicked(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self._rules):
            rule = self._rules[row]
            self._open_rule_editor(MoveRule if isinstance(rule, MoveRule) else LevelRule, row)

    def _on_rule_list_item_activated(self, _item: QListWidgetItem) -> None:
        self._on_edit_rule_button_clicked()

    def _on_rule_editor_accepted(self) -> None:
        editor, row = self.rule_editor, self._editing_row
        self.rule_editor, self._editing_row = None, None
        if editor is None or editor.rule is None:
            return
        rule = editor.rule
        editor.deleteLater()
        others = [r for i, r in enumerate(self._rules) if i != row]
        if rule in others:  # the same rule twice would alert once anyway
            self._refresh_rules(select=self._rules.index(rule))
            return
        if row is None:
            self._rules.append(rule)
            row = len(self._rules) - 1
        else:
            self._rules[row] = rule
        self._refresh_rules(select=row)

    def _on_remove_rule_button_clicked(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self._rules):
            del self._rules[row]
            self._refresh_rules(select=row)

    # --- general tab ---

    def _build_general_tab(self, settings: Settings) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.stale_box = QSpinBox()
        self.stale_box.setRange(int(STALE_MIN_S), int(STALE_MAX_S))
        self.stale_box.setSuffix(" s")
        self.stale_box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.stale_box.setValue(round(settings.stale_after_s))
        self.stale_box.setToolTip("A price with no update for this long is greyed out as stale.")
        self.stale_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        form.addRow("Mark prices &stale after:", self.stale_box)

        self.autostart_check = _check_box("Start ccdesk when I log &in", settings.autostart)
        self.on_top_check = _check_box("Keep the window above &other windows", settings.always_on_top)
        self.demo_check = _check_box("&Demo mode: simulated prices, no API key needed", settings.demo)
        for check in (self.autostart_check, self.on_top_check, self.demo_check):
            form.addRow("", check)

        self.webhook_edit = QLineEdit(settings.webhook_url or "")
        self.webhook_edit.setPlaceholderText("https://example.com/hook (optional)")
        self.webhook_edit.textEdited.connect(self._on_webhook_edit_text_edited)
        webhook_hint = QLabel("Each alert is also sent there as JSON in an HTTP POST.")
        webhook_hint.setWordWrap(True)
        self.webhook_error_label = _message_label()
        webhook_label = QLabel("Webhook &URL:")
        webhook_label.setBuddy(self.webhook_edit)
        form.addRow(webhook_label, _stacked(self.webhook_edit, self.webhook_error_label, webhook_hint))

        self.pause_combo = QComboBox()
        self.pause_combo.addItems(["Alerts are on", "Paused until I resume them", "Paused until\u2026"])
        self.pause_until_edit = QDateTimeEdit()
        self.pause_until_edit.setCalendarPopup(True)
        self.pause_until_edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.pause_until_edit.setAccessibleName("Pause alerts until")
        now = QDateTime.currentDateTime()
        paused = settings.alerts_paused_until
        if paused is None or (math.isfinite(paused) and paused <= now.toSecsSinceEpoch()):
            self.pause_combo.setCurrentIndex(PAUSE_OFF)
            self.pause_until_edit.setDateTime(now.addSecs(3600))
        elif math.isinf(paused):
            self.pause_combo.setCurrentIndex(PAUSE_UNTIL_RESUMED)
            self.pause_until_edit.setDateTime(now.addSecs(3600))
        else:
            self.pause_combo.setCurrentIndex(PAUSE_UNTIL_TIME)
            self.pause_until_edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(paused)))
        self._pause_initial = (self.pause_combo.currentIndex(), self.pause_until_edit.dateTime(), paused)
        self.pause_combo.currentIndexChanged.connect(self._on_pause_combo_current_index_changed)
        self.pause_until_edit.setEnabled(self.pause_combo.currentIndex() == PAUSE_UNTIL_TIME)
        self.pause_until_edit.dateTimeChanged.connect(self._on_pause_until_edit_date_time_changed)
        pause_row = QHBoxLayout()
        pause_row.addWidget(self.pause_combo)
        pause_row.addWidget(self.pause_until_edit)
        pause_row.addStretch(1)
        pause_label = QLabel("&Pause alerts:")
        pause_label.setBuddy(self.pause_combo)
        self.pause_error_label = _message_label()
        form.addRow(pause_label, _stacked(pause_row, self.pause_error_label))
        return page

    def _on_webhook_edit_text_edited(self, _text: str) -> None:
        _show_message(self.webhook_error_label, "")

    def _on_pause_combo_current_index_changed(self, index: int) -> None:
        self.pause_until_edit.setEnabled(index == PAUSE_UNTIL_TIME)
        _show_message(self.pause_error_label, "")

    def _on_pause_until_edit_date_time_changed(self, _value: QDateTime) -> None:
        _show_message(self.pause_error_label, "")

    def _paused_until(self) -> float | None:
        index = self.pause_combo.currentIndex()
        if index == PAUSE_OFF:
            return None
        if index == PAUSE_UNTIL_RESUMED:
            return math.inf
        initial_index, initial_when, initial_value = self._pause_initial
        if index == initial_index and self.pause_until_edit.dateTime() == initial_when:
            return initial_value  # unchanged: keep the exact stored time
        when = self.pause_until_edit.dateTime()
        if when <= QDateTime.currentDateTime():
            raise ValueError("Pick a time in the future to pause alerts until.")
        return float(when.toSecsSinceEpoch())

    # --- result ---

    def current_settings(self) -> Settings:
        """The settings as the dialog shows them now.

        Raises:
            ValueError: with a plain message if the webhook URL or pause time is not valid.
        """
        return dataclasses.replace(
            self._initial,
            watchlist=tuple(self._watchlist),
            pinned=self._pinned,
            rules=tuple(self._rules),
            stale_after_s=float(self.stale_box.value()),
            autostart=self.autostart_check.isChecked(),
            demo=self.demo_check.isChecked(),
            always_on_top=self.on_top_check.isChecked(),
            webhook_url=validate_webhook_url(self.webhook_edit.text()),
            alerts_paused_until=self._paused_until(),
        )

    def accept(self) -> None:
        """Check the input; if it is all valid emit ``key_entered`` and ``settings_accepted`` and close.

        Otherwise show the problem next to its field, switch to that tab, and stay open.
        """
        try:
            key = self._typed_key()
        except InvalidApiKey:
            self._show_tab_with(self.key_edit)
            return
        try:
            validate_webhook_url(self.webhook_edit.text())
        except ValueError as exc:
            _show_message(self.webhook_error_label, str(exc))
            self._show_tab_with(self.webhook_edit)
            return
        try:
            settings = self.current_settings()
        except ValueError as exc:
            _show_message(self.pause_error_label, str(exc))
            self._show_tab_with(self.pause_combo)
            return
        if key is not None:
            self.key_entered.emit(key)
        self.settings_accepted.emit(settings)
        super().accept()

    def _show_tab_with(self, widget: QWidget) -> None:
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is not None and page.isAncestorOf(widget):
                self.tabs.setCurrentIndex(index)
                break
        widget.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Enter in the add-pair fields adds the pair instead of pressing OK (closing the dialog)."""
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and watched in (self.base_edit, self.quote_edit, self.exchange_edit)
        ):
            self.add_pair()
            return True
        return super().eventFilter(watched, event)


def _stacked(*parts: QWidget | QHBoxLayout) -> QVBoxLayout:
    """A form field made of a widget or row with its message and hint lines right under it."""
    column = QVBoxLayout()
    column.setSpacing(4)
    for part in parts:
        if isinstance(part, QWidget):
            column.addWidget(part)
        else:
            column.addLayout(part)
    return column


def _check_box(text: str, checked: bool) -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    return box
