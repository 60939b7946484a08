"""The export's words: menu items, the banner after an export or a failure (rich text, escaped),
why a store cannot be read, and the alert file's rule and delivery columns."""

from __future__ import annotations

from pathlib import Path

from ccdesk.core.alerts import Alert, MoveDirection, MoveRule
from ccdesk.core.candles import HOUR_S, MINUTE_S
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason
from ccdesk.core.export import ExportError, ExportProblem
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import ReadProblem, StoredAlert, StoreReadError
from ccdesk.wording import (
    export_delivery_words,
    export_done_text,
    export_failed_text,
    export_nothing_words,
    export_prices_action_text,
    export_rule_words,
    read_problem_words,
)

BTC = parse_pair("kraken:BTC-USD")
ALERT = Alert(
    BTC, MoveRule(pct=2.0, window_s=300.0, sub=BTC), MoveDirection.UP, 2.2, 90000.0, 91980.0, 300.0, 1.0
)


def test_the_prices_item_names_the_row() -> None:
    assert export_prices_action_text(BTC) == "Export &prices of BTC/USD · Kraken…"
    assert export_prices_action_text(None) == "Export &prices…"


def test_the_banner_counts_rows_and_escapes_the_path() -> None:
    assert export_done_text("/home/me/btc.csv", 43_200) == "Exported 43,200 rows to /home/me/btc.csv"
    assert export_done_text("/tmp/a<b>&c.csv", 1) == "Exported 1 row to /tmp/a&lt;b&gt;&amp;c.csv"
    assert export_done_text("/x.csv", 0, BTC) == (
        "<b>Nothing to export</b>: no prices of BTC/USD · Kraken are stored yet."
        " Nothing was written to /x.csv."
    )
    assert export_done_text("/a&b.csv", 0) == (
        "<b>Nothing to export</b>: no alerts are kept yet. Nothing was written to /a&amp;b.csv."
    )


def test_nothing_to_export_says_the_range_and_the_pair() -> None:
    assert export_nothing_words(BTC, MINUTE_S, 1_893_456_000.0) == (
        "nothing to export: no minute prices of BTC/USD · Kraken (kraken:BTC-USD) are stored"
        " since 2030-01-01 00:00 UTC; nothing was written"
    )
    assert export_nothing_words(BTC, HOUR_S) == (
        "nothing to export: no hour prices of BTC/USD · Kraken (kraken:BTC-USD) are stored;"
        " nothing was written"
    )
    assert export_nothing_words(None, None, 1_893_456_015.0) == (
        "nothing to export: no alerts are kept since 2030-01-01 00:00:15 UTC; nothing was written"
    )


def test_a_failed_export_says_why_and_that_nothing_was_written() -> None:
    unwritable = ExportError(ExportProblem.UNWRITABLE, Path("/ro/x.csv"), "Permission denied")
    assert export_failed_text(unwritable) == (
        "<b>The export failed</b>: /ro/x.csv cannot be written (Permission denied). Nothing was written."
    )
    corrupt = StoreReadError(ReadProblem.CORRUPT, "database disk image is malformed")
    assert "cannot be read (database disk image is malformed)" in export_failed_text(corrupt)


def test_each_read_problem_has_its_words() -> None:
    assert read_problem_words(StoreReadError(ReadProblem.NO_STORE, "/d/ccdesk.sqlite3")) == (
        "no price history yet: /d/ccdesk.sqlite3 does not exist (ccdesk keeps one once the app has run)"
    )
    assert read_problem_words(StoreReadError(ReadProblem.FOLDER, "/tmp/somedir")) == (
        "/tmp/somedir is a folder, not a history database file"
        " (give the database file itself, ccdesk.sqlite3)"
    )
    assert "no price history is kept" in read_problem_words(StoreReadError(ReadProblem.NO_STORE, ""))
    assert "newer ccdesk (schema 9" in read_problem_words(
        StoreReadError(ReadProblem.NEWER_SCHEMA, "schema 9")
    )
    assert "cannot be opened (locked)" in read_problem_words(StoreReadError(ReadProblem.UNREADABLE, "locked"))


def test_the_alert_file_says_the_rule_and_how_it_was_delivered() -> None:
    assert export_rule_words(StoredAlert(ALERT, False, None)) == (
        "BTC/USD · Kraken: up or down 2 % within 5 min (then quiet 10 min)"
    )
    assert export_delivery_words(StoredAlert(ALERT, True, None)) == "paused, not shown"
    assert export_delivery_words(StoredAlert(ALERT, False, None)).startswith("not recorded")
    tray = Delivery(ALERT, DeliveryChannel.TRAY, None, NotShownReason.NO_BACKEND)
    assert export_delivery_words(StoredAlert(ALERT, False, tray)).endswith(
        "(no desktop notification backend is available (plyer has none here))"
    )
    assert (
        export_delivery_words(StoredAlert(ALERT, False, Delivery(ALERT, DeliveryChannel.DESKTOP)))
        == "notified"
    )
