"""The Settings dialog's general tab: staleness, start at login, window, demo, webhook, alert pause and
the mini panel."""

from __future__ import annotations

import dataclasses
import math

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from ccdesk.core.settings import (
    MINI_PANEL_OPACITY_MAX_PCT,
    MINI_PANEL_OPACITY_MIN_PCT,
    STALE_MAX_S,
    STALE_MIN_S,
    TRAY_CYCLE_MAX_S,
    TRAY_CYCLE_MIN_S,
    Settings,
    validate_webhook_url,
)
from ccdesk.qt.settings_dialog.widgets import message_label, show_message, stacked
from ccdesk.wording import MINI_PANEL_OPACITY_LABEL, MINI_PANEL_SETTING_TEXT

# Pause choices, in the order of the combo box.
PAUSE_OFF, PAUSE_UNTIL_RESUMED, PAUSE_UNTIL_TIME = range(3)


class InvalidOption(ValueError):
    """An option on the general tab is not usable; ``str(exc)`` says why in plain words.

    Attributes:
        field: The widget that holds the option.
    """

    def __init__(self, message: str, field: QWidget) -> None:
        super().__init__(message)
        self.field = field


class GeneralTab(QWidget):
    """The general tab: the options that are neither the key, the watchlist nor the alert rules.

    Signals:
        None of its own: the dialog reads the options with :meth:`apply_to`.
    """

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        """Build the tab.

        Args:
            settings: The settings to start from.
            parent: The parent widget.
        """
        super().__init__(parent)
        form = QFormLayout(self)
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

        self.tray_price_check = _check_box("Show the pinned &price in the tray icon", settings.tray_price)
        self.tray_price_check.setToolTip(
            "The price is drawn into the icon itself (every tray shows icons; few show text)."
        )
        form.addRow("", self.tray_price_check)
        self.tray_cycle_box = QSpinBox()
        self.tray_cycle_box.setRange(0, int(TRAY_CYCLE_MAX_S))
        self.tray_cycle_box.setSuffix(" s")
        self.tray_cycle_box.setSpecialValueText("off")
        self.tray_cycle_box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.tray_cycle_box.setValue(round(settings.tray_cycle_s))
        self.tray_cycle_box.setToolTip(
            f"Show each watched pair's price in the tray icon in turn (at least {TRAY_CYCLE_MIN_S:g} s each)."
        )
        self.tray_cycle_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.tray_cycle_box.setEnabled(settings.tray_price)
        self.tray_price_check.toggled.connect(self.tray_cycle_box.setEnabled)
        form.addRow("&Cycle tray pairs every:", self.tray_cycle_box)

        self.webhook_edit = QLineEdit(settings.webhook_url or "")
        self.webhook_edit.setPlaceholderText("https://example.com/hook (optional)")
        self.webhook_edit.textEdited.connect(self._on_webhook_edit_text_edited)
        webhook_hint = QLabel("Each alert is also sent there as JSON in an HTTP POST.")
        webhook_hint.setWordWrap(True)
        self.webhook_error_label = message_label()
        webhook_label = QLabel("Webhook &URL:")
        webhook_label.setBuddy(self.webhook_edit)
        form.addRow(webhook_label, stacked(self.webhook_edit, self.webhook_error_label, webhook_hint))

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
        self.pause_error_label = message_label()
        form.addRow(pause_label, stacked(pause_row, self.pause_error_label))
        self._add_mini_panel_rows(form, settings)

    def _add_mini_panel_rows(self, form: QFormLayout, settings: Settings) -> None:
        self.mini_panel_check = _check_box(MINI_PANEL_SETTING_TEXT, settings.mini_panel)
        form.addRow("", self.mini_panel_check)
        self.mini_panel_opacity_box = QSpinBox()
        self.mini_panel_opacity_box.setRange(MINI_PANEL_OPACITY_MIN_PCT, MINI_PANEL_OPACITY_MAX_PCT)
        self.mini_panel_opacity_box.setSingleStep(5)
        self.mini_panel_opacity_box.setSuffix(" %")
        self.mini_panel_opacity_box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.mini_panel_opacity_box.setValue(settings.mini_panel_opacity_pct)
        self.mini_panel_opacity_box.setAccessibleName("Mini panel opacity")
        self.mini_panel_opacity_box.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        opacity_label = QLabel(MINI_PANEL_OPACITY_LABEL)
        opacity_label.setBuddy(self.mini_panel_opacity_box)
        form.addRow(opacity_label, self.mini_panel_opacity_box)

    def apply_to(self, settings: Settings) -> Settings:
        """``settings`` with the options as the tab shows them now.

        Raises:
            InvalidOption: (a ValueError) if the webhook URL or the pause time is not valid; the
                webhook URL is checked first. :meth:`show_problem` shows it.
        """
        try:
            webhook_url = validate_webhook_url(self.webhook_edit.text())
        except ValueError as exc:
            raise InvalidOption(str(exc), self.webhook_edit) from None
        return dataclasses.replace(
            settings,
            stale_after_s=float(self.stale_box.value()),
            autostart=self.autostart_check.isChecked(),
            demo=self.demo_check.isChecked(),
            always_on_top=self.on_top_check.isChecked(),
            webhook_url=webhook_url,
            alerts_paused_until=self._paused_until(),
            tray_price=self.tray_price_check.isChecked(),
            tray_cycle_s=_tray_cycle(self.tray_cycle_box.value()),
            mini_panel=self.mini_panel_check.isChecked(),
            mini_panel_opacity_pct=self.mini_panel_opacity_box.value(),
        )

    def show_problem(self, problem: InvalidOption) -> None:
        """Show ``problem`` (from :meth:`apply_to`) under its field, in red."""
        label = self.webhook_error_label if problem.field is self.webhook_edit else self.pause_error_label
        show_message(label, str(problem))

    def _on_webhook_edit_text_edited(self, _text: str) -> None:
        show_message(self.webhook_error_label, "")

    def _on_pause_combo_current_index_changed(self, index: int) -> None:
        self.pause_until_edit.setEnabled(index == PAUSE_UNTIL_TIME)
        show_message(self.pause_error_label, "")

    def _on_pause_until_edit_date_time_changed(self, _value: QDateTime) -> None:
        show_message(self.pause_error_label, "")

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
            raise InvalidOption("Pick a time in the future to pause alerts until.", self.pause_combo)
        return float(when.toSecsSinceEpoch())


def _check_box(text: str, checked: bool) -> QCheckBox:
    box = QCheckBox(text)
    box.setChecked(checked)
    return box


def _tray_cycle(value: int) -> float:
    """The spin box's seconds as the setting: 0 stays off, 1 becomes the shortest cycle."""
    return 0.0 if value == 0 else max(TRAY_CYCLE_MIN_S, float(value))
