"""CSV export on a real SQLite file: the format (header, ISO and unix times, numbers as stored, no
locale), the CSV-injection guard, the atomic write (a failed export leaves nothing), the export
reads (pairs stored, streamed candles and alerts, a corrupt or missing file as a typed problem) and a
30-day minute export whose memory stays flat."""

from __future__ import annotations

import csv
import io
import locale
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccdesk.core import export
from ccdesk.core.alerts import Alert, LevelRule, MoveDirection, MoveRule
from ccdesk.core.candles import HOUR_S, MINUTE_S, Candle
from ccdesk.core.delivery import Delivery, DeliveryChannel, NotShownReason
from ccdesk.core.export import (
    ALERT_HEADER,
    CANDLE_HEADER,
    ExportError,
    ExportProblem,
    ExportRequest,
    alert_rows,
    candle_rows,
    default_file_name,
    export_file,
    number_text,
    peek_rows,
    run_export,
    safe_text,
)
from ccdesk.core.pairs import parse_pair
from ccdesk.core.store import (
    ReadProblem,
    Store,
    StoreReadError,
    iter_alerts,
    iter_candles,
    read_candle_series,
)

KRAKEN_BTC = parse_pair("kraken:BTC-USD")
SHIB = parse_pair("binance:SHIB-USDT")
H0 = 1_764_739_200  # 2025-12-03T05:20:00Z, a minute boundary (checked below)
MOVE = MoveRule(pct=2.0, window_s=300.0, direction=MoveDirection.EITHER, cooldown_s=900.0)
LEVEL = LevelRule(level=95_000.0, above=True, sub=KRAKEN_BTC)


def opened(path: Path) -> Store:
    store = Store.open(path)
    assert store.ready.wait(5)
    return store


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ccdesk.sqlite3"
    store = opened(path)
    store.record_candles(
        KRAKEN_BTC,
        [
            Candle(H0, 91234.5, 91300.25, 91200.0, 91250.1, 7),
            Candle(H0 + 60, 91250.1, 91260, 91240, 91255, 3),
        ],
    )
    store.record_candles(SHIB, [Candle(H0, 0.00001234, 0.0000125, 0.0000122, 0.00001241, 2)])
    moved = Alert(
        KRAKEN_BTC, MOVE, MoveDirection.DOWN, -2.1, 93000.0, 91047.0, 300.0, H0 + 5.25, elapsed_s=40.0
    )
    level = Alert(KRAKEN_BTC, LEVEL, MoveDirection.UP, 0.5, 94990.0, 95010.0, 0.0, H0 + 120.0, level=95_000.0)
    store.record_alert(moved, paused=False)
    store.record_delivery(Delivery(moved, DeliveryChannel.TRAY, None, NotShownReason.NO_BACKEND, "-no bus"))
    store.record_alert(level, paused=True)
    assert store.flush()
    store.close()
    return path


def test_minute_boundary() -> None:
    assert H0 % MINUTE_S == 0


def test_candle_file_has_a_header_iso_and_unix_times_and_numbers_as_stored(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    n = export_file(out, CANDLE_HEADER, candle_rows(KRAKEN_BTC, iter_candles(db, KRAKEN_BTC, MINUTE_S)))
    assert n == 2
    assert read(out) == [
        list(CANDLE_HEADER),
        ["2025-12-03T05:20:00Z", str(H0), "91234.5", "91300.25", "91200", "91250.1", "7", "kraken:BTC-USD"],
        ["2025-12-03T05:21:00Z", str(H0 + 60), "91250.1", "91260", "91240", "91255", "3", "kraken:BTC-USD"],
    ]
    assert out.read_bytes().count(b"\r\n") == 3  # RFC 4180 line ends


def test_small_prices_are_never_written_with_an_exponent(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "shib.csv"
    export_file(out, CANDLE_HEADER, candle_rows(SHIB, iter_candles(db, SHIB, MINUTE_S)))
    row = read(out)[1]
    assert row[2:6] == ["0.00001234", "0.0000125", "0.0000122", "0.00001241"]
    assert [float(x) for x in row[2:6]] == [0.00001234, 0.0000125, 0.0000122, 0.00001241]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (91234.5, "91234.5"),
        (1e21, "1000000000000000000000"),
        (-2.1, "-2.1"),
        (3.0, "3"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_number_text_reads_back_as_the_same_float(value: float, text: str) -> None:
    assert number_text(value) == text
    assert float(text) == value


def test_a_comma_decimal_locale_changes_nothing(db: Path, tmp_path: Path) -> None:
    old = locale.setlocale(locale.LC_NUMERIC)
    try:
        try:
            locale.setlocale(locale.LC_NUMERIC, "de_DE.UTF-8")
        except locale.Error:
            pytest.skip("no de_DE locale on this machine")
        out = tmp_path / "de.csv"
        export_file(out, CANDLE_HEADER, candle_rows(KRAKEN_BTC, iter_candles(db, KRAKEN_BTC, MINUTE_S)))
        assert read(out)[1][2] == "91234.5"
    finally:
        locale.setlocale(locale.LC_NUMERIC, old)


def test_the_hour_file_is_the_rolled_up_hour(db: Path) -> None:
    rows = list(candle_rows(KRAKEN_BTC, iter_candles(db, KRAKEN_BTC, HOUR_S)))
    assert rows == [
        ("2025-12-03T05:00:00Z", H0 - 20 * 60, "91234.5", "91300.25", "91200", "91255", 10, "kraken:BTC-USD")
    ]


@pytest.mark.parametrize("bad", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\r=x"])
def test_text_cells_a_spreadsheet_would_run_are_quoted(bad: str) -> None:
    assert safe_text(bad) == "'" + bad
    assert safe_text("kraken:BTC-USD") == "kraken:BTC-USD"


def test_alert_file_words_codes_and_the_injection_guard(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.csv"
    rows = alert_rows(
        iter_alerts(db),
        rule_words=lambda s: "=HYPERLINK(evil)" if s.alert.level else "BTC/USD: up or down 2 %",
        delivery_words=lambda s: "paused, not shown" if s.paused else "in the tray (no notification service)",
    )
    assert export_file(out, ALERT_HEADER, rows) == 2
    header, first, second = read(out)
    assert header == list(ALERT_HEADER)
    got = dict(zip(header, first, strict=True))
    assert got["time_utc"] == "2025-12-03T05:20:05Z"
    assert got["unix_s"] == str(H0 + 5.25)
    assert got["pair"] == "kraken:BTC-USD"
    assert got["rule"] == "BTC/USD: up or down 2 %"
    assert '"pct":2.0' in got["rule_json"]
    assert (got["direction"], got["change_pct"], got["from_price"], got["to_price"]) == (
        "down",
        "-2.1",
        "93000",
        "91047",
    )
    assert got["change_pct"] == "-2.1"  # a number stays a number, minus and all
    assert (got["paused"], got["channel"], got["not_shown"]) == ("0", "tray", "no_backend")
    assert got["detail"] == "'-no bus"
    got = dict(zip(header, second, strict=True))
    assert got["rule"] == "'=HYPERLINK(evil)"
    assert (got["level"], got["paused"], got["delivered"], got["channel"]) == (
        "95000",
        "1",
        "paused, not shown",
        "",
    )


def test_without_words_the_alert_columns_hold_codes(db: Path) -> None:
    rows = list(alert_rows(iter_alerts(db)))
    assert rows[0][3] == rows[0][4]  # the rule as JSON
    assert (rows[0][11], rows[1][11]) == ("tray", "paused")


def test_alerts_since_and_oldest_first(db: Path) -> None:
    assert [s.alert.at for s in iter_alerts(db)] == [H0 + 5.25, H0 + 120.0]
    assert [s.alert.at for s in iter_alerts(db, since=H0 + 60)] == [H0 + 120.0]


def test_candle_pairs_lists_what_is_stored(db: Path) -> None:
    series = read_candle_series(db)
    assert [(s.sub, s.pair, s.period_s, s.count) for s in series] == [
        ("binance:SHIB-USDT", SHIB, MINUTE_S, 1),
        ("binance:SHIB-USDT", SHIB, HOUR_S, 1),
        ("kraken:BTC-USD", KRAKEN_BTC, MINUTE_S, 2),
        ("kraken:BTC-USD", KRAKEN_BTC, HOUR_S, 1),
    ]
    assert (series[2].first, series[2].last) == (H0, H0 + 60)
    store = opened(db)  # the Store's own methods read the same
    assert store.candle_pairs() == series
    assert list(store.iter_candles(KRAKEN_BTC, MINUTE_S, since=H0 + 60)) == [
        Candle(H0 + 60, 91250.1, 91260, 91240, 91255, 3)
    ]
    assert len(list(store.all_alerts())) == 2
    store.close()


def test_a_store_kept_nowhere_says_so() -> None:
    store = opened_none()
    with pytest.raises(StoreReadError) as err:
        store.candle_pairs()
    assert err.value.problem is ReadProblem.NO_STORE
    store.close()


def opened_none() -> Store:
    store = Store.open(None)
    assert store.ready.wait(5)
    return store


def test_a_missing_a_corrupt_and_a_newer_file_are_typed_problems(tmp_path: Path) -> None:
    with pytest.raises(StoreReadError) as err:
        read_candle_series(tmp_path / "none.sqlite3")
    assert err.value.problem is ReadProblem.NO_STORE
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database at all, just text " * 200)
    with pytest.raises(StoreReadError) as err:
        list(iter_candles(junk, KRAKEN_BTC, MINUTE_S))
    assert err.value.problem is ReadProblem.CORRUPT
    assert junk.read_bytes().startswith(b"this is not")  # a reader never touches the file
    newer = tmp_path / "newer.sqlite3"
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreReadError) as err:
        list(iter_alerts(newer))
    assert err.value.problem is ReadProblem.NEWER_SCHEMA


def test_a_failed_export_leaves_no_file_and_keeps_the_old_one(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    out.write_text("the previous export\n")

    def broken() -> Iterator[export.Row]:
        yield from candle_rows(KRAKEN_BTC, iter_candles(db, KRAKEN_BTC, MINUTE_S))
        raise StoreReadError(ReadProblem.CORRUPT, "database disk image is malformed")

    with pytest.raises(StoreReadError):
        export_file(out, CANDLE_HEADER, broken())
    assert out.read_text() == "the previous export\n"
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("ccdesk.sqlite3")] == ["btc.csv"]


def test_no_rows_write_no_file_and_keep_the_old_one(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "btc.csv"
    future = candle_rows(KRAKEN_BTC, iter_candles(db, KRAKEN_BTC, MINUTE_S, H0 + 86_400))
    assert export_file(out, CANDLE_HEADER, future) == 0
    assert not out.exists()  # no header-only file
    out.write_text("the previous export\n")
    assert export_file(out, ALERT_HEADER, alert_rows(iter_alerts(db, H0 + 86_400))) == 0
    assert out.read_text() == "the previous export\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_run_export_of_a_pair_with_no_candles_writes_nothing(db: Path, tmp_path: Path) -> None:
    store = opened(db)
    try:
        out = tmp_path / "eth.csv"
        assert run_export(store, ExportRequest(out, parse_pair("okx:ETH-USDT"))) == 0
        assert not out.exists()
        assert run_export(store, ExportRequest(out, KRAKEN_BTC)) == 2
        assert len(read(out)) == 3
    finally:
        store.close()


def test_peek_rows_reads_one_row_to_know_and_gives_them_all_back() -> None:
    assert peek_rows(iter([])) is None
    taken: list[int] = []

    def rows() -> Iterator[export.Row]:
        for i in range(3):
            taken.append(i)
            yield ("r", i)

    some = peek_rows(rows())
    assert some is not None
    assert taken == [0]  # the rest stay streamed
    assert list(some) == [("r", 0), ("r", 1), ("r", 2)]


def test_a_folder_as_the_database_is_its_own_problem(tmp_path: Path) -> None:
    with pytest.raises(StoreReadError) as err:
        read_candle_series(tmp_path)
    assert (err.value.problem, err.value.detail) == (ReadProblem.FOLDER, str(tmp_path))
    with pytest.raises(StoreReadError) as err:
        list(iter_alerts(tmp_path))
    assert err.value.problem is ReadProblem.FOLDER


def test_an_unwritable_folder_is_an_export_error(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError) as err:
        export_file(tmp_path / "no" / "such" / "folder.csv", CANDLE_HEADER, iter([]))
    assert err.value.problem is ExportProblem.UNWRITABLE
    assert "No such file" in err.value.reason
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    with pytest.raises(ExportError):
        export_file(folder, CANDLE_HEADER, iter([]))
    assert [p.name for p in folder.iterdir()] == []
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_default_file_names_say_what_is_inside() -> None:
    assert default_file_name(KRAKEN_BTC, MINUTE_S, H0) == "ccdesk-kraken-BTC-USD-minute-2025-12-03.csv"
    assert (
        default_file_name(parse_pair("5~CCCAGG~BTC~USD"), HOUR_S, H0)
        == "ccdesk-5-CCCAGG-BTC-USD-hour-2025-12-03.csv"
    )
    assert default_file_name(None, None, H0) == "ccdesk-alerts-2025-12-03.csv"


def test_a_30_day_minute_export_streams_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.sqlite3"
    opened(path).close()  # the schema
    start = H0 - 30 * 86400
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    "kraken:BTC-USD",
                    MINUTE_S,
                    start + i * 60,
                    90000 + i / 7,
                    90010 + i / 7,
                    89990 + i / 7,
                    90001 + i / 3,
                    i % 50,
                )
                for i in range(43_200)
            ),
        )
    out = tmp_path / "big.csv"
    tracemalloc.start()
    try:
        n = export_file(out, CANDLE_HEADER, candle_rows(KRAKEN_BTC, iter_candles(path, KRAKEN_BTC, MINUTE_S)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = out.stat().st_size
    assert n == 43_200
    assert size > 3_000_000
    # One page of rows at a time: the peak is a small fraction of the file (a joined string, or a
    # list of every row, would be at least the file's size).
    assert peak < size / 4, (peak, size)
    with out.open(newline="") as f:
        rows = csv.reader(f)
        assert next(rows) == list(CANDLE_HEADER)
        last = None
        for last in rows:  # noqa: B007
            pass
    assert last is not None
    assert int(last[1]) == start + 43_199 * 60


def test_write_csv_to_a_stream() -> None:
    out = io.StringIO(newline="")
    assert export.write_csv(out, ("a", "b"), iter([("=x", 1)])) == 1
    assert out.getvalue() == "a,b\r\n=x,1\r\n"  # write_csv writes what it is given; rows come guarded
