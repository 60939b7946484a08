"""Benchmark: pyqtgraph against QtCharts for the chart window (issue 11). Not a test; numbers: README.

Each candidate lives in its own throwaway venv (never the project's .venv), with ccdesk installed
and one plotting library; this script itself needs only the standard library:

    python3 -m venv build/venv-base && build/venv-base/bin/pip install . "pyinstaller==6.22.3" \
        "pyinstaller-hooks-contrib==2026.9"
    python3 -m venv build/venv-pyqtgraph && build/venv-pyqtgraph/bin/pip install . pyqtgraph numpy \
        "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
    python3 -m venv build/venv-qtcharts && build/venv-qtcharts/bin/pip install . "PySide6-Addons==<the
        installed PySide6-Essentials version>" "pyinstaller==6.22.3" "pyinstaller-hooks-contrib==2026.9"
    python3 tests/bench/charts.py --python-pyqtgraph build/venv-pyqtgraph/bin/python \
        --python-qtcharts build/venv-qtcharts/bin/python --python-base build/venv-base/bin/python

What it measures (tests/bench/chart_candidates.py holds the two prototype charts and the child side):
1. Size: the one-file executable built from a copy of packaging/ccdesk.spec (PyInstaller pinned as
   in packaging/build.py) whose entry point can also open the candidate's chart
   (``ccdesk --chart-probe ...``), in each venv; MB added against the same build in the venv without
   a plotting library, the largest files added, and a check that the frozen chart opens and paints.
   Builds run one at a time under ``nice -n 10``.
2. Open: a fresh process per run (after a painted stand-in main window and the library's import,
   both reported apart), the time from creating the chart with its data (Python lists, as the store
   hands them over; not counted) through show() until processEvents() has delivered the first paint
   event to the plot's viewport, and the RSS added by then; median of --runs, the two libraries
   alternating. Modes: a 30-day minute line (43,200 points), 720 hour candles (30 days), 1,440 minute
   candles (24 h). Offscreen and under Xvfb (xcb).
3. Live: the 30-day line open, one point appended every 1/--rate s for --seconds s (the oldest
   dropped, the window moved); process CPU time between two appends (append plus the repaint it
   causes), median and p90. Under Xvfb the X server's own CPU is not counted.
4. Screenshots of the 30-day chart under Xvfb: tests/e2e/screenshots/chart-<library>.png.

A third column, qtcharts-decimated, is QtCharts fed the 30-day line as min/max per time bucket (1,000
buckets, 2 points each: what a 1,000-pixel plot can show) instead of all 43,200 points, since
QtCharts has no downsampling of its own; its build is the QtCharts build.

Prints a Markdown table; the raw numbers go to build/charts-bench/results.json. ``--report`` prints
the last run's table again; ``--variants pyqtgraph-trimmed`` rebuilds only that binary (and the base)
and keeps the rest of the last run; ``--no-size`` reruns only the timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "tests" / "bench"
CHILD = BENCH / "chart_candidates.py"
SPEC = REPO / "packaging" / "ccdesk.spec"
SHOTS = REPO / "tests" / "e2e" / "screenshots"
OUT = REPO / "build" / "charts-bench"
LIBS = ("pyqtgraph", "qtcharts")
OPEN_MODES = ("open-line", "open-hour", "open-minute")
MODE_TITLES = {
    "open-line": "30 d minute line (43,200 points)",
    "open-hour": "30 d hour candles (720)",
    "open-minute": "24 h minute candles (1,440)",
}

# What each candidate's build can leave out ("trimmed" rows), each checked by the frozen probe:
# - pyqtgraph imports QtSvg and QtTest inside try/except, and its PyInstaller hook collects every
#   submodule (3D, examples, console...); QtOpenGL and QtOpenGLWidgets stay (its curve item imports
#   them through importlib, unconditionally), and so do parametertree and multiprocess (pyqtgraph's
#   __init__ imports them through its widgets) and with them pydoc;
# - PySide6-Addons puts plugins into the same Qt plugin folders as Essentials, and the PySide6
#   hooks then collect the virtual keyboard input context (which drags in QtQuick/QtQml) and the
#   PDF image format (QtPdf); QtCharts' own Python module needs no QtOpenGL Python module. The
#   spec's drop_plugins() keeps every library below PySide6/ (only top-level system libraries can
#   go), so the trimmed spec also lets it drop PySide6/Qt/lib/ libraries nothing kept links to.
TRIM: dict[str, dict[str, list[str]]] = {
    "pyqtgraph": {
        "excludes": [
            "PySide6.QtSvg",
            "PySide6.QtTest",
            "pyqtgraph.opengl",
            "pyqtgraph.examples",
            "pyqtgraph.jupyter",
            "pyqtgraph.console",
            "pyqtgraph.flowchart",
            "pyqtgraph.dockarea",
        ],
        "drops": [],
    },
    "qtcharts": {
        "excludes": ["PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets"],
        "drops": ["platforminputcontexts/libqtvirtualkeyboardplugin.so", "imageformats/libqpdf.so"],
    },
}

sys.path.insert(0, str(REPO))
from tests.desktop import xvfb  # noqa: E402

# The frozen entry point: the normal ccdesk command line, plus a way to open the candidate's chart.
ENTRY = '''"""ccdesk's frozen entry point, plus ``--chart-probe`` (tests/bench/charts.py's size check)."""
import sys

if sys.argv[1:2] == ["--chart-probe"]:
    import chart_candidates

    sys.exit(chart_candidates.main(sys.argv[2:]))
from ccdesk.cli import main

sys.exit(main())
'''

# What the spec copy lists, after Analysis: every collected file with its size, for the diff.
DUMP = """
import json as _json
with open(os.path.join(workpath, "contents.json"), "w") as _f:
    _json.dump(
        [[d, os.path.getsize(s) if s and os.path.isfile(s) else 0, k] for d, s, k in a.binaries + a.datas]
        + [[m, os.path.getsize(s) if s and os.path.isfile(s) else 0, "PYMODULE"] for m, s, _k in a.pure],
        _f,
    )
"""


# After dropping Qt libraries: the top-level symlinks PyInstaller made to them must go too.
DROP_LINKS = """
_files = {os.path.basename(d) for d, _s, k in a.binaries + a.datas if k != "SYMLINK"}
a.binaries = [e for e in a.binaries if e[2] != "SYMLINK" or os.path.basename(e[0]) in _files]
a.datas = [e for e in a.datas if e[2] != "SYMLINK" or os.path.basename(e[0]) in _files]
"""


def spec_copy(entry: Path, excludes: list[str], drops: list[str]) -> str:
    """packaging/ccdesk.spec with the entry point swapped and tests/bench on the path.

    Each replacement must hit exactly once, so a changed spec fails here instead of measuring
    something else.
    """
    text = SPEC.read_text(encoding="utf-8")
    swaps = [
        ("REPO = os.path.dirname(os.path.abspath(SPECPATH))", f"REPO = {str(REPO)!r}"),
        ('os.path.join(SPECPATH, "build.py")', 'os.path.join(REPO, "packaging", "build.py")'),
        ('[os.path.join(SPECPATH, "ccdesk_main.py")]', f"[{str(entry)!r}]"),
        ("pathex=[],", f"pathex=[{str(BENCH)!r}],"),
        ("hiddenimports=hiddenimports,", 'hiddenimports=[*hiddenimports, "chart_candidates"],'),
        ('excludes=["tkinter",', f'excludes=[*{excludes!r}, "tkinter",'),
        (
            'drop_plugins(a.binaries, ("platformthemes/libqgtk3.so",))',
            f'drop_plugins(a.binaries, ("platformthemes/libqgtk3.so", *{drops!r}))',
        ),
    ]
    if drops:
        swaps.append(
            (
                'or "/" in e[0] or e[0].startswith("libpython")]',
                'or ("/" in e[0] and not e[0].startswith("PySide6/Qt/lib/"))'
                ' or e[0].startswith("libpython")]',
            )
        )
        swaps.append(("pyz = PYZ(a.pure)", DROP_LINKS + "\npyz = PYZ(a.pure)"))
    swaps.append(("pyz = PYZ(a.pure)", DUMP + "\npyz = PYZ(a.pure)"))
    for old, new in swaps:
        if text.count(old) != 1:
            raise SystemExit(f"charts.py: packaging/ccdesk.spec no longer has {old!r} exactly once")
        text = text.replace(old, new)
    return text


def build_variant(name: str, python: str, excludes: list[str], drops: list[str]) -> dict[str, Any]:
    """Build the one-file executable in ``python``'s venv; its size, build time and contents."""
    where = OUT / f"size-{name}"
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    entry = where / "ccdesk_main.py"
    entry.write_text(ENTRY, encoding="utf-8")
    spec = where / "ccdesk.spec"
    spec.write_text(spec_copy(entry, excludes, drops), encoding="utf-8")
    work, dist = where / "work", where / "dist"
    cmd = ["nice", "-n", "10", python, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    cmd += ["--distpath", str(dist), "--workpath", str(work), str(spec)]
    print(f"charts: building {name} ({' '.join(cmd[3:])})", file=sys.stderr, flush=True)
    t0 = time.monotonic()
    with open(where / "pyinstaller.log", "w") as log:
        done = subprocess.run(cmd, cwd=where, stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - t0
    binary = dist / "ccdesk"
    if done.returncode != 0 or not binary.exists():
        raise SystemExit(f"charts: the {name} build failed; see {where / 'pyinstaller.log'}")
    contents = {
        d: (size, kind) for d, size, kind in json.loads(next(work.rglob("contents.json")).read_text())
    }
    return {"bytes": binary.stat().st_size, "seconds": seconds, "binary": str(binary), "contents": contents}


def frozen_probe(binary: str, lib: str) -> dict[str, Any]:
    """Open the 30-day line chart in the frozen executable and append to it for 3 s (offscreen):
    does the chart work there with what PyInstaller collected?"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TZ="UTC")
    done = subprocess.run(
        [binary, "--chart-probe", "--lib", lib, "--mode", "live", "--seconds", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"ok": False, "error": (done.stderr or done.stdout).strip().splitlines()[-3:]}
    return {"ok": True, **json.loads(lines[-1])}


def added_files(base: dict[str, Any], variant: dict[str, Any], top: int = 12) -> list[tuple[str, int, str]]:
    """The largest files the variant collects that the base build does not (uncompressed bytes)."""
    new = [(d, size, kind) for d, (size, kind) in variant.items() if d not in base]
    return sorted(new, key=lambda e: -e[1])[:top]


def group_bytes(files: dict[str, Any], base: dict[str, Any]) -> dict[str, int]:
    """Added uncompressed bytes per top-level folder/package (numpy, PySide6, pyqtgraph...)."""
    out: dict[str, int] = {}
    for d, (size, _kind) in files.items():
        if d in base:
            continue
        key = d.split("/")[0] if "/" in d else d.split(".")[0]
        out[key] = out.get(key, 0) + size
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


# --- timing children --------------------------------------------------------------------------------


def child(python: str, env: dict[str, str], *args: str, timeout: float = 300) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(CHILD), *args],
        env=dict(env, TZ="UTC"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"charts: {python} {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))


@contextmanager
def platform(name: str) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    if name == "offscreen":
        with nullcontext(dict(env, QT_QPA_PLATFORM="offscreen")) as e:
            yield e
    else:
        with xvfb(env) as e:
            yield e


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_timing(pythons: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for plat in args.platforms:
        with platform(plat) as env:
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {
                lib: {m: [] for m in OPEN_MODES} for lib in pythons
            }
            for i in range(args.runs):
                for mode in OPEN_MODES:
                    order = list(pythons) if i % 2 == 0 else list(reversed(pythons))
                    for lib in order:
                        runs[lib][mode].append(child(pythons[lib], env, "--lib", lib, "--mode", mode))
                print(f"charts: {plat} open run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
            live = {}
            if args.seconds > 0:
                for lib in pythons:
                    live[lib] = child(
                        pythons[lib],
                        env,
                        *("--lib", lib, "--mode", "live", "--seconds", str(args.seconds)),
                        *("--rate", str(args.rate)),
                        timeout=args.seconds + 120,
                    )
                    print(f"charts: {plat} live {lib} done", file=sys.stderr, flush=True)
            shots = {}
            if plat == "xvfb" and args.screenshots:
                SHOTS.mkdir(parents=True, exist_ok=True)
                for lib in pythons:
                    shot = (SHOTS if lib in LIBS else OUT) / f"chart-{lib}.png"
                    shots[lib] = child(
                        pythons[lib], env, "--lib", lib, "--mode", "screenshot", "--out", str(shot)
                    )
                    for mode in ("open-hour", "open-minute"):
                        out = OUT / f"chart-{lib}-{mode.removeprefix('open-')}.png"
                        child(pythons[lib], env, "--lib", lib, "--mode", mode, "--out", str(out))
            results[plat] = {"runs": runs, "live": live, "screenshots": shots}
    return results


# --- the table ---------------------------------------------------------------------------------------


def table(size: dict[str, Any], timing: dict[str, Any], libs: list[str], args: argparse.Namespace) -> str:
    rows: list[list[str]] = []
    base = size.get("base")
    for suffix, title in (("", "as collected"), ("-trimmed", "trimmed (TRIM above)")):
        if not all(f"{lib.split('-')[0]}{suffix}" in size for lib in libs):
            continue
        # qtcharts-decimated is the QtCharts build (the same library, other prototype code).
        got = [size[f"{lib.split('-')[0]}{suffix}"] for lib in libs]
        rows.append([f"**one-file binary, {title}**", *(f"{g['bytes'] / 1e6:.1f} MB" for g in got)])
        if base:
            rows.append(
                [
                    f"  added to ccdesk without a chart library ({base['bytes'] / 1e6:.1f} MB)",
                    *(f"+{(g['bytes'] - base['bytes']) / 1e6:.1f} MB" for g in got),
                ]
            )
        rows.append(
            [
                "  frozen chart opens, paints and takes live points (offscreen)",
                *("yes" if g["probe"]["ok"] else "NO" for g in got),
            ]
        )
    for plat, res in timing.items():
        runs = res["runs"]
        first = runs[libs[0]][OPEN_MODES[0]]
        rows.append([f"**{plat}** (median of {len(first)} fresh processes)", *("" for _ in libs)])
        rows.append(
            [
                "  import the library (ms / RSS MB)",
                *(
                    f"{med([r['import_ms'] for m in OPEN_MODES for r in runs[lib][m]]):.0f} ms / "
                    f"{med([r['import_rss_mb'] for m in OPEN_MODES for r in runs[lib][m]]):.1f} MB"
                    for lib in libs
                ),
            ]
        )
        for mode in OPEN_MODES:
            rows.append(
                [
                    f"  open {MODE_TITLES[mode]}: to first paint (build + show→paint)",
                    *(
                        f"{med([r['open_ms'] for r in runs[lib][mode]]):.0f} ms "
                        f"({med([r['build_ms'] for r in runs[lib][mode]]):.0f} + "
                        f"{med([r['first_paint_ms'] for r in runs[lib][mode]]):.0f})"
                        for lib in libs
                    ),
                ]
            )
            rows.append(
                [
                    "    settled (last paint within 0.4 s) / RSS added",
                    *(
                        f"{med([r['settled_ms'] for r in runs[lib][mode]]):.0f} ms / "
                        f"+{med([r['rss_delta_mb'] for r in runs[lib][mode]]):.1f} MB"
                        for lib in libs
                    ),
                ]
            )
        if res["live"]:
            live = res["live"]
            rows.append(
                [
                    f"  live: CPU per appended point, median / p90 ({args.rate:g}/s for {args.seconds:g} s)",
                    *(
                        f"{live[lib]['cpu_per_point_ms']:.1f} / {live[lib]['cpu_per_point_p90_ms']:.1f} ms"
                        for lib in libs
                    ),
                ]
            )
            rows.append(
                [
                    "    process CPU share / paints per point",
                    *(
                        f"{live[lib]['cpu_share'] * 100:.0f} % / {live[lib]['paints_per_point']:.1f}"
                        for lib in libs
                    ),
                ]
            )
    head = ["", *libs]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pyqtgraph against QtCharts for ccdesk's chart window.")
    parser.add_argument("--python-pyqtgraph", default=str(REPO / "build/venv-pyqtgraph/bin/python"))
    parser.add_argument("--python-qtcharts", default=str(REPO / "build/venv-qtcharts/bin/python"))
    parser.add_argument(
        "--python-base",
        default=str(REPO / "build/venv-base/bin/python"),
        help="a venv with ccdesk and PyInstaller but no plotting library (the size baseline)",
    )
    parser.add_argument(
        "--no-size",
        action="store_true",
        help="skip the PyInstaller builds (show the last run's sizes, if any)",
    )
    parser.add_argument("--only-size", action="store_true")
    parser.add_argument(
        "--variants",
        nargs="+",
        help="build only these (e.g. pyqtgraph-trimmed), keeping the last run's other sizes",
    )
    parser.add_argument("--report", action="store_true", help="print the table of the last run; run nothing")
    parser.add_argument("--no-trim", dest="trim", action="store_false", help="skip the trimmed builds")
    parser.add_argument(
        "--no-decimated",
        dest="decimated",
        action="store_false",
        help="no third column: QtCharts fed 2 points per pixel column (min/max) instead of all points",
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0, help="live appends for this long (0: skip)")
    parser.add_argument("--rate", type=float, default=10.0, help="live points per second")
    parser.add_argument(
        "--platforms", nargs="+", default=["offscreen", "xvfb"], choices=["offscreen", "xvfb"]
    )
    parser.add_argument("--no-screenshots", dest="screenshots", action="store_false")
    args = parser.parse_args(argv)
    pythons = {"pyqtgraph": args.python_pyqtgraph, "qtcharts": args.python_qtcharts}
    for lib, python in pythons.items():
        if not Path(python).exists():
            raise SystemExit(f"charts: {python} (the {lib} venv) does not exist; see this file's docstring")
    OUT.mkdir(parents=True, exist_ok=True)
    size: dict[str, Any] = {}
    last = OUT / "results.json"
    previous = json.loads(last.read_text()) if last.exists() else {"size": {}, "timing": {}}
    if args.report:
        args.rate, args.seconds = previous.get("live", (args.rate, args.seconds))
        print(table(previous["size"], previous["timing"], [*pythons, *previous.get("extra", [])], args))
        return 0
    if args.no_size or args.variants:
        size = previous["size"]
    if not args.no_size:
        variants: dict[str, tuple[str, list[str], list[str]]] = {}
        if Path(args.python_base).exists():
            variants["base"] = (args.python_base, [], [])
        for lib, python in pythons.items():
            variants[lib] = (python, [], [])
            if args.trim:
                variants[f"{lib}-trimmed"] = (python, TRIM[lib]["excludes"], TRIM[lib]["drops"])
        for name, (python, excludes, drops) in variants.items():
            if args.variants and name not in args.variants and name != "base":
                continue
            size[name] = build_variant(name, python, excludes, drops)
            if name != "base":
                size[name]["probe"] = frozen_probe(size[name]["binary"], name.split("-")[0])
        if "base" in size:
            for lib in (n for n in size if n != "base" and "contents" in size[n]):
                size[lib]["added"] = added_files(size["base"]["contents"], size[lib]["contents"])
                size[lib]["added_by_package"] = group_bytes(size[lib]["contents"], size["base"]["contents"])
        for entry in size.values():
            entry.pop("contents", None)
    columns = dict(pythons)
    if args.decimated:
        columns["qtcharts-decimated"] = args.python_qtcharts
    if args.variants:
        timing = previous["timing"]
        columns = {lib: "" for lib in [*pythons, *previous.get("extra", [])]}
    else:
        timing = {} if args.only_size else run_timing(columns, args)
    results = {"size": size, "timing": timing, "live": (args.rate, args.seconds), "extra": list(columns)[2:]}
    last.write_text(json.dumps(results, indent=1))
    print(table(size, timing, list(columns), args))
    for lib in (n for n in size if n != "base"):
        if "added" in size[lib]:
            print(f"\n{lib}: largest files added (uncompressed): ", end="")
            print(", ".join(f"{d} {n / 1e6:.1f} MB" for d, n, _k in size[lib]["added"][:8]))
            top = list(size[lib]["added_by_package"].items())[:6]
            print(
                f"{lib}: added by package (uncompressed): "
                + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in top)
            )
            if not size[lib]["probe"]["ok"]:
                print(f"{lib}: the frozen chart failed: {size[lib]['probe']['error']}")
    print(f"\nraw numbers: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
