"""Generates every raster icon from the one source, ``resources/ccdesk.svg``; owns no other file.

Writes ``resources/icons/ccdesk-<size>.png`` (16 to 512 px, for the hicolor theme and the app),
``resources/icons/ccdesk.ico`` (Windows: PNG-compressed entries, 16 to 256 px) and
``resources/icons/ccdesk.icns`` (macOS: PNG entries, 16 to 512 px plus the @2x variants).
The SVG is rendered with Qt's QSvgRenderer onto a QImage (offscreen, no display needed); the
.ico and .icns containers are written here byte by byte, so no imaging library is needed.

Run from the repo root with a Python that has PySide6 (the project's ``.venv``):

    .venv/bin/python packaging/make_icons.py           # (re)write the icons
    .venv/bin/python packaging/make_icons.py --check   # exit 1 if the committed icons are stale
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "resources" / "ccdesk.svg"
OUT_DIR = REPO / "resources" / "icons"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The hicolor theme's usual app icon sizes; each is a file ``ccdesk-<size>.png``."""
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
"""Windows uses 16/24/32/48 in lists and the taskbar, 256 in large views; 256 is the format's cap."""
ICNS_TYPES = (
    # (OSType, pixel size of the PNG it holds): 1x entries, then the @2x (Retina) ones.
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic13", 256),  # 128@2x
    (b"ic14", 512),  # 256@2x
)
PIXEL_TOLERANCE = 2
"""--check allows this much difference per colour channel (antialiasing may differ across Qt builds)."""


def png_name(size: int) -> str:
    """The file name of the PNG of ``size`` pixels, e.g. ``ccdesk-48.png``."""
    return f"ccdesk-{size}.png"


# --- containers (pure; also used by the tests to read them back) -------------------------------


def png_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk.

    Raises:
        ValueError: if ``data`` is not a PNG.
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def build_ico(pngs: Mapping[int, bytes]) -> bytes:
    """An ICO file holding one PNG-compressed image per size (Windows Vista and later read these).

    Args:
        pngs: Size in pixels (1 to 256) -> PNG bytes of a square image of that size.
    """
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, image count
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        if not 1 <= size <= 256:
            raise ValueError(f"an .ico image is at most 256 px, not {size}")
        data = pngs[size]
        dim = 0 if size == 256 else size  # 0 means 256 in the directory entry
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset))
        blobs.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(blobs)


def read_ico(data: bytes) -> dict[int, bytes]:
    """The images of an ICO file: size in pixels -> image bytes (PNG here)."""
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    if reserved != 0 or kind != 1:
        raise ValueError("not an .ico file")
    images = {}
    for i in range(count):
        width, _h, _c, _r, _planes, _bits, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * i)
        images[width or 256] = data[offset : offset + length]
    return images


def build_icns(pngs: Mapping[int, bytes], types: Iterable[tuple[bytes, int]] = ICNS_TYPES) -> bytes:
    """An ICNS file: the ``icns`` header, then one (OSType, length, PNG) element per type."""
    body = b"".join(ostype + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for ostype, size in types)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def read_icns(data: bytes) -> dict[bytes, bytes]:
    """The elements of an ICNS file: OSType -> payload."""
    if data[:4] != b"icns" or struct.unpack(">I", data[4:8])[0] != len(data):
        raise ValueError("not an .icns file")
    elements, pos = {}, 8
    while pos < len(data):
        ostype, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        if length < 8 or pos + length > len(data):
            raise ValueError("a truncated .icns element")
        elements[ostype] = data[pos + 8 : pos + length]
        pos += length
    return elements


# --- rendering (Qt) ------------------------------------------------------------------------------


def _qt() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        _qt.app = QGuiApplication(["make_icons"])  # type: ignore[attr-defined]  # kept alive


def render_pngs(source: Path = SOURCE, sizes: Iterable[int] = PNG_SIZES) -> dict[int, bytes]:
    """Render ``source`` at each size (square, transparent background) and encode it as PNG."""
    _qt()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(source))
    if not renderer.isValid():
        raise SystemExit(f"make_icons: {source} is not a valid SVG file")
    out = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        buf = QByteArray()
        device = QBuffer(buf)
        device.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(device, "PNG")
        device.close()
        out[size] = bytes(buf.data())
    return out


def _pixels_close(a: bytes, b: bytes) -> bool:
    from PySide6.QtGui import QImage

    ia, ib = QImage.fromData(a), QImage.fromData(b)
    if ia.isNull() or ib.isNull() or ia.size() != ib.size():
        return False
    ia = ia.convertToFormat(QImage.Format.Format_RGBA8888)
    ib = ib.convertToFormat(QImage.Format.Format_RGBA8888)
    pa, pb = bytes(ia.constBits()), bytes(ib.constBits())
    return len(pa) == len(pb) and all(abs(x - y) <= PIXEL_TOLERANCE for x, y in zip(pa, pb, strict=True))


def expected_files(pngs: Mapping[int, bytes]) -> dict[str, bytes]:
    """Every generated file name -> its content, from the rendered PNGs."""
    files = {png_name(size): data for size, data in pngs.items()}
    files["ccdesk.ico"] = build_ico({size: pngs[size] for size in ICO_SIZES})
    files["ccdesk.icns"] = build_icns(pngs)
    return files


def check(out_dir: Path = OUT_DIR) -> list[str]:
    """What is missing or stale in ``out_dir``; an empty list when it matches the SVG."""
    problems = []
    fresh = render_pngs()
    committed: dict[int, bytes] = {}
    for size, data in fresh.items():
        path = out_dir / png_name(size)
        if not path.is_file():
            problems.append(f"{path.name} is missing")
            continue
        committed[size] = path.read_bytes()
        if committed[size] != data and not _pixels_close(committed[size], data):
            problems.append(f"{path.name} does not match {SOURCE.name}")
    if len(committed) == len(fresh):
        # The containers are built from the committed PNGs, so they must match those byte for byte.
        for name, data in expected_files(committed).items():
            if name.endswith((".ico", ".icns")):
                path = out_dir / name
                if not path.is_file():
                    problems.append(f"{name} is missing")
                elif path.read_bytes() != data:
                    problems.append(f"{name} does not match the PNGs")
    return problems


def write(out_dir: Path = OUT_DIR) -> list[Path]:
    """Render and write every icon; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in expected_files(render_pngs()).items():
        path = out_dir / name
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the PNG, .ico and .icns icons from the SVG.")
    parser.add_argument(
        "--check", action="store_true", help="only check that the committed icons are current"
    )
    args = parser.parse_args(argv)
    try:
        import PySide6  # noqa: F401
    except ImportError:
        print("make_icons: needs PySide6; run it with the project's .venv/bin/python", file=sys.stderr)
        return 2
    if args.check:
        problems = check()
        for problem in problems:
            print(f"make_icons: {problem}", file=sys.stderr)
        if problems:
            print(
                "make_icons: run `.venv/bin/python packaging/make_icons.py` and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"make_icons: the icons in {OUT_DIR.relative_to(REPO)} match {SOURCE.name}")
        return 0
    for path in write():
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
