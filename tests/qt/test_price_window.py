"""The main window's own behaviour: close to tray or quit, banner, history, always on top, About."""

import pytest
from PySide6.QtCore import Qt

from ccdesk import __version__
from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.pairs import parse_pair
from ccdesk.qt.alert_history import AlertHistoryModel
from ccdesk.qt.price_window import PriceWindow, about_text
from ccdesk.qt.quote_model import QuoteTableModel


@pytest.fixture
def window(qtbot):
    w = PriceWindow(QuoteTableModel(), AlertHistoryModel())
    qtbot.addWidget(w)
    w.show()
    return w


def test_close_hides_to_the_tray_when_there_is_one(qtbot, window):
    window.close_to_tray = True
    with qtbot.waitSignal(window.hidden, timeout=1000):
        window.close()
    assert not window.isVisible()


def test_close_quits_when_there_is_no_tray(qtbot, window):
    window.close_to_tray = False
    with qtbot.waitSignal(window.quit_requested, timeout=1000):
        window.close()


def test_banner_history_and_always_on_top(qtbot, window):
    window.show_banner("No system tray was found")
    assert window.banner.isVisible()
    assert window.banner.label.text() == "No system tray was found"
    rule = MoveRule(pct=2.0)
    for base, at in (("BTC", 1_700_000_000.0), ("ETH", 1_700_000_060.0)):
        alert = Alert(
            parse_pair(f"{base}-USD"), rule, MoveDirection.UP, 2.1, 100.0, 102.1, 300.0, at, elapsed_s=40
        )
        window.history_model.add(alert, paused=False)
    first = window.history.model().index(0, 0)
    assert "ETH/USD · CCCAGG up 2.1 % in 40 s" in first.data()
    assert first.data().endswith("delivering…")
    assert window.tabs.tabText(1) == "Alerts (2)"
    with qtbot.waitSignal(window.always_on_top_changed, timeout=1000) as blocker:
        window.on_top_action.trigger()
    assert blocker.args == [True]
    window.set_always_on_top(True)
    assert window.windowFlags() & Qt.WindowType.WindowStaysOnTopHint


def test_about_text_shows_the_package_version():
    assert f"ccdesk {__version__}" in about_text()
    assert __version__ != "0+unknown"
