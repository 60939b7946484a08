"""CSV export from the window (offscreen, the real desktop assembly and a real SQLite store): the
ccdesk menu's items name the selected row, Qt's own save dialog asks where, the export runs on a
background job and the banner says where it went (read back here) or why it failed."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QFileDialog

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.autostart import Autostart
from ccdesk.core.candles import HOUR_S, Candle
from ccdesk.core.delivery import Delivery, DeliveryChannel
from ccdesk.core.export import ALERT_HEADER, CANDLE_HEADER, ExportRequest
from ccdesk.core.pairs import parse_pair
from ccdesk.core.secrets import SecretStore
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import MemoryStore
from ccdesk.core.store import Store
from ccdesk.desktop import Desktop, build_desktop
from ccdesk.qt.export_actions import ExportActions
from ccdesk.sim import start_demo
from ccdesk.wording import EXPORT_HOUR_FILTER, EXPORT_MINUTE_FILTER
from tests.fakes import InMemoryKeyring
from tests.pairs import ETH
from tests.window_scene import NOW, filled_window

BTC = parse_pair("kraken:BTC-USD")
H0 = 1_764_738_000  # 2025-12-03T05:00:00Z
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"


def fill(path: Path) -> None:
    store = Store.open(path)
    assert store.ready.wait(5)
    store.record_candles(
        BTC, [Candle(H0 + i * 60, 91000 + i, 91001 + i, 90999 + i, 91000.5 + i, 2) for i in range(75)]
    )
    alert = Alert(
        BTC, MoveRule(pct=2.0, window_s=300.0), MoveDirection.DOWN, -2.5, 92000.0, 89700.0, 300.0, H0 + 90.0
    )
    store.record_alert(alert, paused=False)
    store.record_delivery(Delivery(alert, DeliveryChannel.DESKTOP))
    assert store.flush()
    store.close()


def desktop(qtbot, tmp_path: Path, store_path: Path | None) -> Desktop:
    d = build_desktop(
        Settings(watchlist=(BTC, ETH), rules=()),
        MemoryStore(),
        secrets=SecretStore("ccdesk-test", backend=InMemoryKeyring()),
        env={},
        autostart=Autostart(env={"XDG_CONFIG_HOME": str(tmp_path)}),
        start_demo=start_demo,
        notify_fn=lambda **_kw: None,
        store_path=store_path,
    )
    qtbot.addWidget(d.window)
    d.controller.alerts.open()  # the store, as start() opens it (no stream: nothing here needs one)
    d.window.show()
    qtbot.waitExposed(d.window)
    return d


@pytest.fixture
def app(qtbot, tmp_path: Path):
    db = tmp_path / "data" / "ccdesk.sqlite3"
    db.parent.mkdir()
    fill(db)
    d = desktop(qtbot, tmp_path, db)
    yield d
    d.controller.alerts.close(2.0)
    d.jobs.shutdown()


def actions(d: Desktop) -> ExportActions:
    found = d.window.findChild(ExportActions)
    assert isinstance(found, ExportActions)
    return found


def choose(qtbot, dialog: QFileDialog, path: Path, name_filter: str | None = None) -> None:
    assert dialog.testOption(QFileDialog.Option.DontUseNativeDialog)  # offscreen: Qt's own dialog
    assert dialog.isVisible()
    if name_filter is not None:
        dialog.selectNameFilter(name_filter)
    dialog.selectFile(str(path))
    dialog.accept()


def banner_text(d: Desktop) -> str:
    return "\n".join(d.window.banner.messages())


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_the_menu_items_name_the_selected_row(app: Desktop) -> None:
    ea = actions(app)
    texts = [a.text() for a in app.window.app_menu.actions()]
    i = texts.index(ea.prices_action.text())
    assert texts[i - 1] == ""  # a separator before and after the two items, Hide after them
    assert texts[i + 1 : i + 4] == ["&Export alert history…", "", "&Hide"]
    keys = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
    assert len(keys) == len(set(keys)), keys  # every item of the menu keeps its own access key
    app.window.table.clearSelection()
    app.window.table.setCurrentIndex(app.window.proxy.index(-1, 0))
    ea.update_actions()
    assert ea.prices_action.text() == "Export &prices…"
    assert not ea.prices_action.isEnabled()
    assert ea.alerts_action.isEnabled()
    assert app.window.select_pair(ETH)
    assert ea.prices_action.text() == "Export &prices of ETH/USD · CCCAGG…"
    assert ea.prices_action.isEnabled()


def test_prices_export_through_the_dialog_is_read_back(qtbot, app: Desktop, tmp_path: Path) -> None:
    assert app.window.select_pair(BTC)
    ea = actions(app)
    ea.prices_action.trigger()
    dialog = ea.dialog
    assert dialog is not None
    assert dialog.windowTitle() == "Export prices of BTC/USD · Kraken"
    assert Path(dialog.selectedFiles()[0]).name.startswith("ccdesk-kraken-BTC-USD-minute-")
    out = tmp_path / "btc minutes.csv"
    with qtbot.waitSignal(ea.export_requested) as request:
        choose(qtbot, dialog, out)
    assert request.args == [ExportRequest(out, BTC, 60)]
    qtbot.waitUntil(lambda: "Exported" in banner_text(app), timeout=5000)
    assert banner_text(app) == f"Exported 75 rows to {out}"
    rows = read(out)
    assert rows[0] == list(CANDLE_HEADER)
    assert rows[1] == [
        "2025-12-03T05:00:00Z",
        str(H0),
        "91000",
        "91001",
        "90999",
        "91000.5",
        "2",
        "kraken:BTC-USD",
    ]
    assert len(rows) == 76
    assert ea.dialog is None


def test_the_hour_filter_exports_hours(qtbot, app: Desktop, tmp_path: Path) -> None:
    assert app.window.select_pair(BTC)
    ea = actions(app)
    dialog = ea.ask(BTC)
    assert dialog.nameFilters() == [EXPORT_MINUTE_FILTER, EXPORT_HOUR_FILTER]
    dialog.selectNameFilter(EXPORT_HOUR_FILTER)
    dialog.filterSelected.emit(EXPORT_HOUR_FILTER)  # what choosing it in the combo box does
    assert "-hour-" in Path(dialog.selectedFiles()[0]).name  # the suggested name follows the filter
    out = tmp_path / "hours.csv"
    with qtbot.waitSignal(ea.export_requested) as request:
        choose(qtbot, dialog, out, EXPORT_HOUR_FILTER)
    assert request.args[0].period_s == HOUR_S
    qtbot.waitUntil(lambda: "Exported" in banner_text(app), timeout=5000)
    assert [r[0] for r in read(out)] == ["time_utc", "2025-12-03T05:00:00Z", "2025-12-03T06:00:00Z"]


def test_alert_history_export_is_read_back(qtbot, app: Desktop, tmp_path: Path) -> None:
    ea = actions(app)
    ea.alerts_action.trigger()
    dialog = ea.dialog
    assert dialog is not None
    assert dialog.windowTitle() == "Export alert history"
    out = tmp_path / "alerts"  # no suffix typed: the dialog adds .csv
    choose(qtbot, dialog, out)
    qtbot.waitUntil(lambda: "Exported" in banner_text(app), timeout=5000)
    written = tmp_path / "alerts.csv"
    assert banner_text(app) == f"Exported 1 row to {written}"
    header, row = read(written)
    got = dict(zip(header, row, strict=True))
    assert header == list(ALERT_HEADER)
    assert (got["direction"], got["change_pct"], got["delivered"]) == ("down", "-2.5", "notified")
    assert got["rule"] == "All pairs: up or down 2 % within 5 min (then quiet 10 min)"


def test_a_pair_with_no_stored_prices_says_so(qtbot, app: Desktop, tmp_path: Path) -> None:
    out = tmp_path / "eth.csv"
    app.controller.export(ExportRequest(out, ETH, 60))
    qtbot.waitUntil(lambda: "Nothing to export" in banner_text(app), timeout=5000)
    assert banner_text(app) == (
        "<b>Nothing to export</b>: no prices of ETH/USD · CCCAGG are stored yet."
        f" Nothing was written to {out}."
    )
    assert not out.exists()  # no header-only file
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_a_failed_export_says_so_and_writes_nothing(qtbot, app: Desktop, tmp_path: Path) -> None:
    bad = tmp_path / "no such folder" / "btc.csv"
    app.controller.export(ExportRequest(bad, BTC, 60))
    qtbot.waitUntil(lambda: "failed" in banner_text(app), timeout=5000)
    assert banner_text(app) == (
        f"<b>The export failed</b>: {bad} cannot be written (No such file or directory). Nothing was written."
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert app.window.grab().save(str(SHOTS / "export-failed.png"))
    assert not bad.parent.exists()


def test_without_a_store_the_export_says_no_history_is_kept(qtbot, tmp_path: Path) -> None:
    d = desktop(qtbot, tmp_path, None)
    try:
        out = tmp_path / "alerts.csv"
        d.controller.export(ExportRequest(out, None))
        qtbot.waitUntil(lambda: "failed" in banner_text(d), timeout=5000)
        assert "no price history is kept" in banner_text(d)
        assert not out.exists()
    finally:
        d.controller.alerts.close(2.0)
        d.jobs.shutdown()


# A popup under the offscreen platform: it cannot raise the menu or grab the keyboard (harmless here).
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_screenshot_of_the_export_menu(qtbot) -> None:
    window = filled_window(gap=False)  # the window as a user sees it, with live prices
    qtbot.addWidget(window)
    ea = ExportActions(window, window.app_menu, before=window.hide_action)
    window.refresh(NOW)
    window.resize(600, 300)
    window.show()
    qtbot.waitExposed(window)
    assert window.select_pair(BTC)
    menu = window.app_menu
    bar = window.menuBar()
    at = bar.mapToGlobal(bar.actionGeometry(menu.menuAction()).bottomLeft())
    menu.popup(at)
    qtbot.waitExposed(menu)
    menu.setActiveAction(ea.prices_action)
    assert ea.prices_action.text() == "Export &prices of BTC/USD · Kraken…"
    shot = window.grab()
    painter = QPainter(shot)
    painter.drawPixmap(window.mapFromGlobal(at), menu.grab())
    painter.end()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert shot.save(str(SHOTS / "export-menu.png"))
    menu.hide()
