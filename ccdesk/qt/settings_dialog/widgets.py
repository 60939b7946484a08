"""Small widgets the Settings dialog's tabs share: message lines under a field, stacked field columns."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

_ERROR_STYLE = "color: #b3261e;"
_OK_STYLE = "color: #1b6e35;"


def message_label() -> QLabel:
    """A hidden, word-wrapped, selectable label for a message under a field.

    Returns:
        The label; :func:`show_message` fills and shows it.
    """
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setVisible(False)
    return label


def show_message(label: QLabel, text: str, ok: bool | None = False) -> None:
    """Show ``text`` in ``label`` (red for an error, green for success, plain for None); hide if empty.

    Args:
        label: A label from :func:`message_label`.
        text: The message; empty hides the label.
        ok: False for an error (red), True for success (green), None for plain text.
    """
    label.setText(text)
    label.setStyleSheet("" if ok is None else _OK_STYLE if ok else _ERROR_STYLE)
    label.setVisible(bool(text))


def grow_to_fit(dialog: QWidget) -> None:
    """Grow a shown dialog to its layout's height at its width: a top-level dialog does not grow by
    itself when a word-wrapped message line appears, and the line would be cut off."""
    layout = dialog.layout()
    if dialog.isVisible() and layout is not None:
        need = layout.totalHeightForWidth(dialog.width())
        if need > dialog.height():
            dialog.resize(dialog.width(), need)


def stacked(*parts: QWidget | QHBoxLayout) -> QVBoxLayout:
    """A form field made of a widget or row with its message and hint lines right under it.

    Args:
        parts: The widgets and rows, top to bottom.

    Returns:
        A column for the field side of a form row.
    """
    column = QVBoxLayout()
    column.setSpacing(4)
    for part in parts:
        if isinstance(part, QWidget):
            column.addWidget(part)
        else:
            column.addLayout(part)
    return column
