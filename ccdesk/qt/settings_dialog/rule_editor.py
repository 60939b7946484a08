"""The alert rule editor: a dialog that edits one move or level rule and says why a value is not usable."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.alerts import LevelRule, MoveDirection, MoveRule, Rule, RuleError, check_minimums
from ccdesk.core.pairs import Pair
from ccdesk.qt.settings_dialog.widgets import message_label, show_message

_MAX_MINUTES = 7 * 24 * 60.0


class _MinutesBox(QDoubleSpinBox):
    """A duration in minutes that gives back the exact seconds it was given if left unchanged.

    Signals:
        None of its own.
    """

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
    ) -> None:
        """Build the editor.

        Args:
            kind: ``MoveRule`` or ``LevelRule``.
            rule: The rule to edit, or None for a new one (sensible defaults).
            watchlist: The pairs to offer besides "All pairs".
            parent: The parent widget.
            new: True: ``rule`` is a template for a new rule (the title says "New"); by default
                new exactly when ``rule`` is None. The rule built keeps ``rule``'s id.
        """
        super().__init__(parent)
        self.kind = kind
        self.rule: Rule | None = None
        self._original = rule
        is_move = kind is MoveRule
        is_new = rule is None if new is None else new
        self.setWindowTitle(("New" if is_new else "Edit") + (" move alert" if is_move else " level alert"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.pair_combo = QComboBox()
        # Choices are kept in Python lists, indexed like the combo boxes: QVariant round trips of
        # Python objects (findData) do not compare them by value.
        self.pair_choices: list[Pair | None] = [None, *watchlist]
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
            form.addRow("&MoveDirection:", self.direction_combo)
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
        # Room for a two-line error message. Both minimum dimensions are set explicitly, so the
        # layout never changes the shown window's minimum size (which would also make Qt's
        # offscreen platform warn "This plugin does not support propagateSizeHints()").
        hint = self.sizeHint()
        self.setMinimumSize(max(420, hint.width()), hint.height() + 2 * self.fontMetrics().lineSpacing())

    def build_rule(self) -> Rule:
        """The rule the fields describe, with the edited rule's id and controls.

        Raises:
            ValueError: (RuleError included) with a plain message if a value is not usable.
        """
        rule = self._build_condition()
        original = self._original
        if original is None:
            return rule
        return dataclasses.replace(
            rule,
            id=original.id,
            enabled=original.enabled,
            snoozed_until=original.snoozed_until,
            expires_at=original.expires_at,
            once=original.once,
            sound=original.sound,
            spent_at=original.spent_at,
        )

    def _build_condition(self) -> Rule:
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
            rule = self.build_rule()
            check_minimums(rule)
            self.rule = rule
        except (RuleError, ValueError) as exc:
            message = str(exc)
            show_message(self.error_label, message[:1].upper() + message[1:])
            return
        super().accept()
