"""Benchmark: the packaged app's build time, size and cold start. Not a test; numbers go in the README.

Run from the repo root (needs `bash .ci/bootstrap --test` for Xvfb/trayer/dbus/xdotool):
    .venv/bin/python tests/bench/packaged.py [--no-build] [--runs 5] [--drop-caches]

1. Build time: `python3 packaging/build.py`, whole (build venv reused if present) and the
   PyInstaller step as build.py reports it.
2. Size of dist/ccdesk (target <= 80 MB), the .deb and the wheel.
3. Start to first window: process start until the window is mapped (xdotool), under Xvfb with a
   tray host, the app streaming from a local simulator. The first run after the build (or after
   dropping the page cache with --drop-caches, as root) is "cold"; then the median of warm runs.
   The one-file executable unpacks itself into TMPDIR on every start, so warm runs pay that too.
   The same for the source-tree app (`python -m ccdesk`), for comparison.
4. `ccdesk --version` and `ccdesk --self-test` wall time (the unpacking cost with almost no work).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from ccdesk.sim.server import SimServer  # noqa: E402
from tests.desktop import wait_for_window  # noqa: E402

BINARY = REPO / "dist" / "ccdesk"
KEY = "bench-key-0123456789"
APP_NAME = "ccdesk-bench"


def build() -> None:
    print("## Build: python3 packaging/build.py")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(REPO / "packaging" / "build.py")], capture_output=True, text=True)
    total = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"the build failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    m = re.search(r"PyInstaller took (\d+) s", r.stdout)
    print(f"  whole build {total:.0f} s (PyInstaller step {m.group(1) if m else '?'} s)")


def sizes() -> None:
    print("## Sizes")
    for path in [
        BINARY,
        *sorted((REPO / "dist").glob("ccdesk_*.deb")),
        *sorted((REPO / "dist").glob("*.whl")),
    ]:
        print(f"  {path.relative_to(REPO)}  {path.stat().st_size / 1e6:.1f} MB")


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError as exc:
        print(f"  (could not drop the page cache: {exc.strerror}; the first run is only 'first')")
        return False


def desktop(stack: ExitStack) -> dict[str, str]:
    from tests.desktop import session_bus, tray_host, xvfb

    env = stack.enter_context(session_bus())
    env = stack.enter_context(xvfb(env))
    stack.enter_context(tray_host(env))
    return env


def write_settings(home: Path, stream_url: str) -> None:
    ini = home / ".config" / "ccdesk" / f"{APP_NAME}.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    ini.write_text(f"[General]\nstream_url={stream_url}\n")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()  # SIGTERM: the one-file app then removes its unpacked folder
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def time_to_window(cmd: list[str], env: dict[str, str]) -> float:
    tmp = Path(tempfile.mkdtemp(prefix="ccdesk-bench-tmp-"))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=dict(env, TMPDIR=str(tmp)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_window(env, ["--class", "ccdesk"], timeout_s=30, poll_s=0.005, proc=proc)
        return time.perf_counter() - t0
    finally:
        stop(proc)
        left = list(tmp.glob("_MEI*"))
        shutil.rmtree(tmp, ignore_errors=True)
        if left:
            print(f"  WARNING: {cmd[0]} left {left[0].name} behind")


def first_window(runs: int, cold: bool) -> None:
    with ExitStack() as stack, SimServer(rate=5.0) as sim:
        env = desktop(stack)
        env.update(CCDESK_APP_NAME=APP_NAME, CCDESK_API_KEY=KEY)
        write_settings(Path(env["HOME"]), sim.stream_url)
        for label, cmd in (
            ("dist/ccdesk (one-file)", [str(BINARY)]),
            ("source tree (python -m ccdesk)", [sys.executable, "-m", "ccdesk"]),
        ):
            dropped = drop_caches() if cold else False
            first = time_to_window(cmd, env)
            warm = [time_to_window(cmd, env) for _ in range(runs)]
            kind = "cold (page cache dropped)" if dropped else "first"
            print(
                f"  {label:<32} {kind} {first:.2f} s; warm median {statistics.median(warm):.2f} s "
                f"(runs: {', '.join(f'{t:.2f}' for t in warm)})"
            )


def command_times(runs: int) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
    for args in (["--version"], ["--self-test"]):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            r = subprocess.run([str(BINARY), *args], env=env, capture_output=True, text=True, timeout=60)
            times.append(time.perf_counter() - t0)
            if r.returncode != 0:
                sys.exit(f"dist/ccdesk {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
        print(f"  dist/ccdesk {' '.join(args):<12} median {statistics.median(times):.2f} s over {runs} runs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="measure the existing dist/ccdesk")
    parser.add_argument("--runs", type=int, default=5, help="warm runs per measurement")
    parser.add_argument(
        "--drop-caches", action="store_true", help="drop the page cache before cold runs (root)"
    )
    args = parser.parse_args()
    print(f"# ccdesk packaged benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    if not args.no_build:
        build()
    if not BINARY.is_file():
        sys.exit("dist/ccdesk is missing: run without --no-build")
    sizes()
    print("## Start to first window (Xvfb + trayer, simulator)")
    first_window(args.runs, args.drop_caches)
    print("## Commands (no display)")
    command_times(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
