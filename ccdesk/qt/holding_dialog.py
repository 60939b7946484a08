"""The holding dialog: how much of a pair the user holds and, optionally, what it cost in total.
It says what is wrong with a number under its field and never corrects one silently (as the rule
editor does); it writes nothing itself: the controller keeps what it reports."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ccdesk.core.formatting import format_amount, format_price, format_quantity
from ccdesk.core.holdings import Holding
from ccdesk.core.pairs import Pair
from ccdesk.qt.settings_dialog.rule_editor import parse_number
from ccdesk.qt.settings_dialog.widgets import grow_to_fit
from ccdesk.wording import cost_field_problem, pair_label, profit_text, quantity_field_problem

PROBLEM_COLORS = ("#d0342c", "#ff7a70")
"""The colour of what is wrong, on a light and on a dark window (the table's down colours)."""


def _plain_number(value: float) -> str:
    """A number as the field shows it for editing: no grouping, no trailing zeros."""
    return format_quantity(value).replace(",", "")


class HoldingDialog(QDialog):
    """Edit the holding of one pair.

    Args:
        sub: The pair.
        holding: Its holding now, or None for a new one (Remove is then disabled).
        price: The pair's price as the window shows it and whether it is live, or None: shown
            under the fields with what the holding would be worth.

    Signals:
        saved(Holding): Save with valid numbers (the dialog closes).
        removed(Pair): Remove (the dialog closes).
    """

    saved = Signal(object)
    removed = Signal(object)

    def __init__(
        self,
        sub: Pair,
        holding: Holding | None,
        price: tuple[float, bool] | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.sub = sub
        self._price = price
        self.setWindowTitle(f"Holding: {pair_label(sub)}")
        self.setAccessibleName("Holding")

        intro = QLabel(
            f"How much {sub.base} you hold at {sub.venue}, and optionally what you paid for all of "
            f"it in {sub.quote}. Kept on this computer only."
        )
        intro.setWordWrap(True)
        self.quantity = QLineEdit(_plain_number(holding.quantity) if holding else "")
        self.quantity.setPlaceholderText("for example 0.5")
        self.quantity.setAccessibleName("Quantity")
        self.quantity_problem = self._problem_label("Quantity problem")
        self.cost = QLineEdit(
            "" if holding is None or holding.cost_basis is None else _plain_number(holding.cost_basis)
        )
        self.cost.setPlaceholderText(f"optional: the total paid, in {sub.quote}")
        self.cost.setAccessibleName("Cost basis")
        self.cost_problem = self._problem_label("Cost basis problem")
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setAccessibleName("Value now")

        form = QFormLayout()
        quantity_label = QLabel(f"&Quantity ({sub.base}):")
        quantity_label.setBuddy(self.quantity)
        cost_label = QLabel(f"&Cost basis ({sub.quote}):")
        cost_label.setBuddy(self.cost)
        form.addRow(quantity_label, self.quantity)
        form.addRow("", self.quantity_problem)
        form.addRow(cost_label, self.cost)
        form.addRow("", self.cost_problem)

        self.buttons = QDialogButtonBox()
        self.save_button = self.buttons.addButton("&Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.remove_button: QPushButton = self.buttons.addButton(
            "&Remove", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        self.remove_button.setEnabled(holding is not None)
        self.remove_button.setToolTip("Forget this holding")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self._on_save)
        self.buttons.rejected.connect(self.reject)
        self.remove_button.clicked.connect(self._on_remove)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.buttons)
        self.quantity.textChanged.connect(self._on_text_changed)
        self.cost.textChanged.connect(self._on_text_changed)
        self._update_preview()
        self.setMinimumWidth(380)

    def _problem_label(self, name: str) -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        label.setStyleSheet(f"color: {PROBLEM_COLORS[dark]};")
        label.setAccessibleName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.hide()
        return label

    def problems(self) -> tuple[str | None, str | None]:
        """What is wrong with the quantity and with the cost basis as typed (None: nothing)."""
        q_text, c_text = self.quantity.text(), self.cost.text()
        q = quantity_field_problem(q_text, parse_number(q_text))
        c = cost_field_problem(c_text, parse_number(c_text), self.sub.quote)
        return q, c

    def holding(self) -> Holding | None:
        """The holding as typed, or None while a field is wrong."""
        if self.problems() != (None, None):
            return None
        quantity = parse_number(self.quantity.text())
        assert quantity is not None
        return Holding(self.sub, quantity, parse_number(self.cost.text()))

    @Slot()
    def _on_text_changed(self) -> None:
        # A problem said stays until the text changes; then it is checked again as it is typed.
        if self.quantity_problem.isVisible() or self.cost_problem.isVisible():
            self._show_problems()
        self._update_preview()

    def _show_problems(self) -> bool:
        q, c = self.problems()
        for label, text in ((self.quantity_problem, q), (self.cost_problem, c)):
            label.setText(text or "")
            label.setVisible(text is not None)
        grow_to_fit(self)
        return q is None and c is None

    def _update_preview(self) -> None:
        if self._price is None:
            self.preview.setText(f"No price for {pair_label(self.sub)} yet.")
            return
        price, live = self._price
        text = f"{pair_label(self.sub)} is at {format_price(price)}{'' if live else ' (stale)'}."
        h = self.holding()
        if h is not None:
            text += f" Worth {format_amount(h.value(price))} {self.sub.quote}"
            pl = profit_text(h.profit(price), h.profit_pct(price))
            text += f", P/L {pl}." if pl else "."
        self.preview.setText(text)

    @Slot()
    def _on_save(self) -> None:
        if not self._show_problems():
            (self.quantity if self.quantity_problem.isVisible() else self.cost).setFocus()
            return
        holding = self.holding()
        if holding is not None:
            self.saved.emit(holding)
            self.accept()

    @Slot()
    def _on_remove(self) -> None:
        self.removed.emit(self.sub)
        self.accept()
