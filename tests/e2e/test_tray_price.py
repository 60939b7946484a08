"""The price drawn into the tray icon, read back from a real tray host (trayer, XEmbed, on Xvfb):
the host's own pixels must be the icon ccdesk painted for that price, and not one for another.
Screenshots go to tests/artifacts/screenshots (the README shows copies from tests/e2e/screenshots)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from jeepney import DBusAddress, Properties, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection
from PySide6.QtGui import QColor, QImage

from ccdesk.core.formatting import compact_price
from ccdesk.qt.tray_icon import IconFace, Scheme, TrayLook, render_face_pixmap
from tests.desktop import screenshot, session_bus, wait_for_window, xvfb

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(120),
    pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("trayer")), reason="needs Xvfb and trayer"),
]
SHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
"""Where the runs put their pictures (the README shows copies from tests/e2e/screenshots)."""
CHILD = Path(__file__).resolve().parent / "tray_child.py"


@contextmanager
def tray_desktop(height: int, scale: float = 1.0) -> Iterator[tuple[dict[str, str], str]]:
    """Xvfb with trayer ``height`` pixels tall at the top right; yields the env and trayer's window."""
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}  # XEmbed, not SNI
    with xvfb(env) as env:
        cmd = ["trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200"]
        cmd += ["--height", str(height), "--transparent", "false", "--SetDockType", "true"]
        for attempt in range(3):  # trayer now and then does not map its window (tests/desktop.py)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wid = wait_for_window(env, ["--class", "trayer"], timeout_s=8)
                break
            except TimeoutError:
                proc.kill()
                proc.wait()
                if attempt == 2:
                    raise
        try:
            if scale != 1.0:
                env = dict(env, QT_SCALE_FACTOR=str(scale))
            yield env, wid
        finally:
            proc.terminate()
            proc.wait(10)


@contextmanager
def tray_icon(env: dict[str, str], price: float, open_24h: float, scheme: Scheme, *extra: str):
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), repr(price), repr(open_24h), scheme.value, *extra],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "shown", proc.stderr.read() if proc.stderr else ""
        yield proc
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _not_background(shot: QImage) -> tuple[list[int], list[int]]:
    bg = shot.pixelColor(0, 0)
    xs, ys = [], []
    for y in range(shot.height()):
        for x in range(shot.width()):
            c = shot.pixelColor(x, y)
            if abs(c.red() - bg.red()) + abs(c.green() - bg.green()) + abs(c.blue() - bg.blue()) > 30:
                xs.append(x)
                ys.append(y)
    return xs, ys


def icon_box(shot: QImage) -> tuple[int, int, int, int]:
    """The bounding box of everything that is not the tray's background (its top left pixel)."""
    xs, ys = _not_background(shot)
    assert xs, "nothing in the tray"
    return min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def settled_screenshot(env: dict[str, str], path: Path, wid: str, timeout_s: float = 10.0) -> Path:
    """The tray's screenshot once trayer has embedded and painted the icon, in its own time: not
    only background, and the same in two shots 0.2 s apart."""
    deadline = time.monotonic() + timeout_s
    previous: QImage | None = None
    while True:
        shot = QImage(str(screenshot(env, path, wid))).convertToFormat(QImage.Format.Format_ARGB32)
        if previous is not None and shot == previous and _not_background(shot)[0]:
            return path
        assert time.monotonic() < deadline, "the tray never showed a steady icon"
        previous = shot
        time.sleep(0.2)


def differing_pixels(shot: QImage, left: int, top: int, expected: QImage) -> int:
    """How many of ``expected``'s opaque pixels differ visibly from the screenshot at (left, top)."""
    n = 0
    for y in range(expected.height()):
        for x in range(expected.width()):
            e = expected.pixelColor(x, y)
            if e.alpha() < 255:
                continue  # the badge's rounded corners show the tray behind them
            s = (
                shot.pixelColor(left + x, top + y)
                if left + x < shot.width() and top + y < shot.height()
                else QColor()
            )
            if abs(e.red() - s.red()) + abs(e.green() - s.green()) + abs(e.blue() - s.blue()) > 48:
                n += 1
    return n


def best_match(shot: QImage, face: IconFace, size: int, ratio: float) -> int:
    """The fewest differing pixels of ``face`` painted at ``size`` over positions near the icon box."""
    expected = render_face_pixmap(face, size, ratio).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    left, top, w, h = icon_box(shot)
    return min(
        differing_pixels(shot, left + dx, top + dy, expected)
        for dx in range(-2, max(1, w - expected.width()) + 3)
        for dy in range(-2, max(1, h - expected.height()) + 3)
        if left + dx >= 0 and top + dy >= 0
    )


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize(
    ("height", "scale"),
    # Qt asks trayer for 22 px at most, so the slots are 14, 16 and 22 px at 1x; at
    # QT_SCALE_FACTOR=2 a 34 px panel gives a 32 px slot, filled by the 16 px face at ratio 2.
    [(16, 1.0), (18, 1.0), (34, 1.0), (34, 2.0)],
)
def test_the_tray_host_shows_the_price_painted_for_it(height: int, scale: float, tmp_path: Path) -> None:
    price, open_24h = 91_230.12, 89_317.0  # "91.2k", up 2.14 % on the day
    with tray_desktop(height, scale) as (env, wid), tray_icon(env, price, open_24h, Scheme.DARK):
        path = settled_screenshot(env, tmp_path / "tray.png", wid)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = QImage(str(path)).convertToFormat(QImage.Format.Format_ARGB32)
    left, top, w, h = icon_box(shot)
    pixels = max(w, h)
    size = round(pixels / scale)
    print(
        f"trayer {height} px at scale {scale:g}: icon at {left},{top}, "
        f"{w}x{h} pixels = {size} px at {scale:g}x"
    )
    shutil.copy(path, SHOTS / f"tray-price-{pixels}px{'-2x' if scale != 1 else ''}.png")
    shown = IconFace(TrayLook.UP, compact_price(price))
    right = best_match(shot, shown, size, scale)
    # The proof fails if the tray showed another price (or the same price going the other way). At 14
    # and 16 px "91.2k" is drawn as "91k", so the other prices are whole thousands off.
    others = (
        ("81.2k", TrayLook.UP),
        ("92.2k", TrayLook.UP),
        ("3,102", TrayLook.UP),
        ("91.2k", TrayLook.DOWN),
    )
    wrong = {
        f"{text} {look.value}": best_match(shot, IconFace(look, text), size, scale) for text, look in others
    }
    print(f"differing pixels: shown {right}, others {wrong}")
    assert right <= pixels // 4, (right, wrong)
    assert all(n > right + 3 for n in wrong.values()), (right, wrong)


@pytest.mark.usefixtures("qapp")
def test_screenshots_for_the_readme(tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    """Tray at 2x (QT_SCALE_FACTOR=2), the light variant, and the menu open: looked at by hand."""
    with tray_desktop(48, scale=2.0) as (env, wid), tray_icon(env, 3102.4, 3180.0, Scheme.DARK):
        screenshot(env, SHOTS / "tray-price-2x.png", wid)
    with tray_desktop(24) as (env, wid), tray_icon(env, 0.17063, 0.1650, Scheme.LIGHT):
        screenshot(env, SHOTS / "tray-price-light.png", wid)
    with tray_desktop(24) as (env, wid), tray_icon(env, 91_230.12, 89_317.0, Scheme.DARK, "menu"):
        path = screenshot(env, tmp_path / "root.png")
        subprocess.run(
            ["import", "-window", "root", "-crop", "420x260+860+0", "+repage", str(SHOTS / "tray-menu.png")],
            env=env,
            check=True,
            timeout=30,
        )
    assert path.exists()
    for name in ("tray-price-2x.png", "tray-price-light.png", "tray-menu.png"):
        assert QImage(str(SHOTS / name)).width() > 0


# --- a StatusNotifierItem host (the D-Bus tray of KDE, GNOME's AppIndicator extension, waybar) ------

WATCHER = Path(__file__).resolve().parent / "sni_watcher.py"


@contextmanager
def sni_desktop() -> Iterator[tuple[dict[str, str], subprocess.Popen]]:
    """A private session bus with a StatusNotifierWatcher on it, and Xvfb; yields the env and the
    watcher (its stdout says which item registered)."""
    with session_bus() as env:
        watcher = subprocess.Popen(
            [sys.executable, str(WATCHER)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert watcher.stdout is not None
            line = watcher.stdout.readline()
            assert line.strip() == "ready", watcher.stderr.read() if watcher.stderr else ""
            with xvfb(env) as env:
                yield env, watcher
        finally:
            watcher.kill()
            watcher.wait(10)
            for stream in (watcher.stdout, watcher.stderr):
                if stream:
                    stream.close()


def registered_item(watcher: subprocess.Popen) -> str:
    """The bus name of the item that registered with the watcher."""
    assert watcher.stdout is not None
    words = watcher.stdout.readline().split()
    assert words[:1] == ["registered"], words
    return words[2]


def bus(env: dict[str, str]) -> DBusConnection:
    return open_dbus_connection(bus=env["DBUS_SESSION_BUS_ADDRESS"])


def icon_pixmaps(conn: DBusConnection, service: str) -> dict[int, bytes]:
    """The item's IconPixmap property: ARGB32 in network byte order, by width."""
    item = DBusAddress("/StatusNotifierItem", bus_name=service, interface="org.kde.StatusNotifierItem")
    sig, images = conn.send_and_get_reply(Properties(item).get("IconPixmap")).body[0]
    assert sig == "a(iiay)"
    return {w: bytes(data) for w, h, data in images if w == h}


def network_argb(face: IconFace, size: int) -> bytes:
    """``face`` painted at ``size`` px as an SNI host receives it (ARGB, big-endian)."""
    img = render_face_pixmap(face, size, 1.0).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    raw = bytes(img.constBits())[: img.width() * img.height() * 4]
    if sys.byteorder == "little":  # QImage keeps ARGB32 as native 32-bit words
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return raw


def menu_items(conn: DBusConnection, service: str) -> list[dict[str, object]]:
    """The top level of the item's dbusmenu, as a host reads it: each entry's properties."""
    menu = DBusAddress("/MenuBar", bus_name=service, interface="com.canonical.dbusmenu")
    reply = conn.send_and_get_reply(new_method_call(menu, "GetLayout", "iias", (0, -1, [])))
    _revision, (_id, _props, children) = reply.body
    return [{k: v[1] for k, v in props.items()} for _sig, (_cid, props, _sub) in children]


def tooltip_price(conn: DBusConnection, service: str) -> float:
    """BTC's price in the item's tooltip (its second line: ``BTC/USD · Kraken 91,230.12 ▲ +2.14%``)."""
    item = DBusAddress("/StatusNotifierItem", bus_name=service, interface="org.kde.StatusNotifierItem")
    _sig, (_icon, _image, title, _body) = conn.send_and_get_reply(Properties(item).get("ToolTip")).body[0]
    line = title.splitlines()[1]  # Qt puts the whole text in the title
    return next(float(word.replace(",", "")) for word in line.split() if word[0].isdigit())


def about_to_show(conn: DBusConnection, service: str) -> None:
    menu = DBusAddress("/MenuBar", bus_name=service, interface="com.canonical.dbusmenu")
    conn.send_and_get_reply(new_method_call(menu, "AboutToShow", "i", (0,)))


@pytest.mark.usefixtures("qapp")
def test_a_statusnotifier_host_gets_the_price_icon_and_the_pair_menu() -> None:
    price, open_24h = 91_230.12, 89_317.0
    with sni_desktop() as (env, watcher), tray_icon(env, price, open_24h, Scheme.DARK):
        service = registered_item(watcher)
        conn = bus(env)
        try:
            pixmaps = icon_pixmaps(conn, service)
            items = menu_items(conn, service)
        finally:
            conn.close()
    print(f"IconPixmap sizes: {sorted(pixmaps)}")
    shown = IconFace(TrayLook.UP, compact_price(price))
    for size in (16, 22, 32):
        assert pixmaps[size] == network_argb(shown, size), size  # the very pixels ccdesk painted
        assert pixmaps[size] != network_argb(IconFace(TrayLook.UP, "92.2k"), size)
    labels = [str(i.get("label")) for i in items if i.get("visible", True) and i.get("type") != "separator"]
    assert labels[:4] == [
        "BTC/USD · Kraken  91,230.12 ▲ +2.14%",
        "ETH/USD · Kraken  3,102.40 ▼ -2.44%",
        "SOL/USD · Kraken  152.31 ▲ +1.61%",
        "Copy BTC/USD price (91230.12)",
    ]
    radio = [(i.get("toggle-type"), i.get("toggle-state")) for i in items[1:4]]
    assert radio == [("radio", 1), ("radio", 0), ("radio", 0)]  # the pinned pair is checked


@pytest.mark.usefixtures("qapp")
def test_a_statusnotifier_hosts_menu_is_current_when_it_opens() -> None:
    """The pair lines are not rewritten while the menu is closed; the host's AboutToShow (what
    Plasma and the GNOME extension send as the menu opens) brings them up to date."""
    with sni_desktop() as (env, watcher), tray_icon(env, 91_230.12, 89_317.0, Scheme.DARK, "tick"):
        service = registered_item(watcher)
        conn = bus(env)
        try:
            first = str(menu_items(conn, service)[1]["label"])
            before = float(first.split()[3].replace(",", ""))
            # Wait until the tooltip (rewritten on every change) shows five rises ...
            deadline = time.monotonic() + 20
            while tooltip_price(conn, service) < before + 5:
                assert time.monotonic() < deadline, "the price never rose"
                time.sleep(0.05)
            # ... while the closed menu still has its first text.
            assert str(menu_items(conn, service)[1]["label"]) == first
            about_to_show(conn, service)
            now = str(menu_items(conn, service)[1]["label"])
        finally:
            conn.close()
    print(f"closed: {first!r}; opened: {now!r}")
    after = float(now.split()[3].replace(",", ""))
    assert after >= before + 5  # the current price, not the one from when the menu was built
