"""Screenshots of the price window as a user sees it (offscreen): normal width, 420 px, 250 px, dark,
the row menu and the paused line. Run ``python -m tests.e2e.window_shots OUT_DIR`` and look at them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from ccdesk.qt.price_window import PriceWindow
from tests.window_scene import NOW, WATCHLIST, dark_palette, filled_window

PAUSED_UNTIL = 1_900_000_000.0
"""An alert pause's end (its local time is shown)."""


def shoot(window: PriceWindow, path: Path, width: int, height: int = 330) -> None:
    window.resize(width, height)
    window.show()
    QApplication.processEvents()
    window.refresh(NOW)
    QApplication.processEvents()
    window.grab().save(str(path))


def main(out: Path) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out.mkdir(parents=True, exist_ok=True)
    window = filled_window()
    for width in (600, 420, 250):
        shoot(window, out / f"window-{width}px.png", width)
    window.set_paused(PAUSED_UNTIL)
    shoot(window, out / "window-paused.png", 600)
    window.set_paused(None)
    # The row menu, as right-clicking the ETH row opens it: grabbed from the menu widget itself.
    window.resize(600, 330)
    window.select_pair(WATCHLIST[1])
    menu: QMenu = window.row_menu()
    menu.popup(window.mapToGlobal(QPoint(120, 120)))
    QApplication.processEvents()
    shot = window.grab()
    from PySide6.QtGui import QPainter

    painter = QPainter(shot)
    painter.drawPixmap(QPoint(150, 110), menu.grab())
    painter.end()
    shot.save(str(out / "window-row-menu.png"))
    menu.close()
    app.setPalette(dark_palette())
    QApplication.processEvents()
    window.table.clearSelection()
    window.table.setCurrentIndex(window.proxy.index(-1, -1))
    shoot(window, out / "window-dark.png", 600)
    QTimer.singleShot(0, app.quit)
    window.close_to_tray = True
    window.hide()
    _ = Qt


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/artifacts/window"))
