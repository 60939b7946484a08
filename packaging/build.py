"""The one build command: a private build environment, the PyInstaller executable, and the .deb.

Run from anywhere with any Python >= 3.11 (only the standard library is used here):

    python3 packaging/build.py

1. Makes (or reuses) a virtual environment in ``build/venv`` and installs PyInstaller into it,
   then builds the project's wheel (``dist/ccdesk-<version>-py3-none-any.whl``) and installs it
   there, so the frozen app is made from exactly what the wheel ships.
2. Runs PyInstaller on ``packaging/ccdesk.spec``, always from scratch (``--clean``):
   ``dist/ccdesk`` on Linux, ``dist/ccdesk.exe`` on Windows, ``dist/ccdesk.app`` on macOS.
3. On Linux, lays out and builds ``dist/ccdesk_<version>_<arch>.deb`` with ``dpkg-deb``: the
   executable as ``/usr/bin/ccdesk``, the menu entry ``/usr/share/applications/ccdesk.desktop``
   and the icons in the hicolor theme.

The version is read from the installed package's metadata (``pyproject.toml`` is its one source).
Errors are reported in plain words with exit status 1; nothing is left half-written in ``dist/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "ccdesk.spec"
DESKTOP_FILE = REPO / "packaging" / "ccdesk.desktop"
NOTICE_FILE = REPO / "packaging" / "NOTICE"
"""What the packaged app bundles and that, with Qt Charts, it is distributed under the GPL-3.0."""
ICON_SVG = REPO / "resources" / "ccdesk.svg"
ICON_DIR = REPO / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

# Pinned, so that a build today and a build next month collect the same modules.
BUILD_REQUIREMENTS = ("pyinstaller==6.22.3", "pyinstaller-hooks-contrib==2026.9")

DEB_PACKAGE = "ccdesk"
DEB_MAINTAINER = "ccdesk developers <ccdesk@users.noreply.github.com>"
DEB_HOMEPAGE = "https://github.com/ccdesk/ccdesk"
DEB_SUMMARY = "desktop tray ticker for live crypto prices"
DEB_DESCRIPTION = (
    "ccdesk streams live prices from the CryptoCompare streamer, merges them correctly and\n"
    "alerts when a coin moves. It lives in the system tray and keeps its API key in the\n"
    "desktop keyring (Secret Service). `ccdesk stream`, `ccdesk key` and `ccdesk sim` are\n"
    "the headless commands; `ccdesk --demo` runs on the built-in simulator."
)
# What the frozen app loads from the system: glibc (the PySide6 wheel's floor is 2.34), then
# what Qt's xcb/EGL/GL platform code, fonts and D-Bus need (as in .ci/bootstrap).
DEB_DEPENDS = (
    "libc6 (>= 2.34)",
    "libdbus-1-3",
    "libegl1",
    "libfontconfig1",
    "libgl1",
    "libglib2.0-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
    "libxkbcommon0",
)
# notify-send: plyer's notifier without dbus-python. A Secret Service keeps the API key.
DEB_RECOMMENDS = ("libnotify-bin", "gnome-keyring | kwalletmanager | keepassxc")


class BuildError(Exception):
    """The build cannot go on; ``str(err)`` says why in plain words."""


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


# --- pure helpers (unit-tested) ------------------------------------------------------------------


def debian_version(version: str) -> str:
    """A PEP 440 version as a Debian version that sorts the same way.

    Pre-releases and dev releases sort before the release in both, which Debian spells with ``~``:
    ``1.2.0rc1`` -> ``1.2.0~rc1``, ``1.2.0.dev3`` -> ``1.2.0~~dev3``, ``1.2.0.post1`` ->
    ``1.2.0+post1``, ``1.2.0+local.7`` -> ``1.2.0+local.7``, ``1!2.0`` -> ``1:2.0``.

    Raises:
        ValueError: if ``version`` is not a PEP 440 version.
    """
    m = re.fullmatch(
        r"(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
        r"(?:[-_.]?(?P<pre>a|b|rc|alpha|beta|c|pre|preview)[-_.]?(?P<pre_n>\d*))?"
        r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*))?"
        r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?"
        r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?",
        version.strip().lower().removeprefix("v"),
    )
    if m is None:
        raise ValueError(f"{version!r} is not a PEP 440 version")
    out = m["release"]
    if m["epoch"]:
        out = f"{int(m['epoch'])}:{out}"
    if m["pre"]:
        pre = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}.get(m["pre"], m["pre"])
        out += f"~{pre}{int(m['pre_n'] or 0)}"
    if m["post"] is not None:
        out += f"+post{int(m['post'] or 0)}"
    if m["dev"] is not None:
        out += f"~~dev{int(m['dev'] or 0)}"
    if m["local"]:
        out += "+" + re.sub(r"[-_]", ".", m["local"])
    return out


def debian_arch(machine: str | None = None) -> str:
    """The Debian architecture name of this machine (``amd64``, ``arm64``...)."""
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "i386"}.get(
        machine, machine
    )


def deb_filename(version: str, arch: str) -> str:
    """``ccdesk_<debian version>_<arch>.deb``, as Debian names package files (no epoch)."""
    return f"{DEB_PACKAGE}_{debian_version(version).split(':', 1)[-1]}_{arch}.deb"


def deb_control(version: str, arch: str, installed_size_kib: int) -> str:
    """The text of ``DEBIAN/control``."""
    description = "\n".join(f" {line}" if line.strip() else " ." for line in DEB_DESCRIPTION.splitlines())
    fields = [
        ("Package", DEB_PACKAGE),
        ("Version", debian_version(version)),
        ("Architecture", arch),
        ("Maintainer", DEB_MAINTAINER),
        ("Installed-Size", str(installed_size_kib)),
        ("Depends", ", ".join(DEB_DEPENDS)),
        ("Recommends", ", ".join(DEB_RECOMMENDS)),
        ("Section", "utils"),
        ("Priority", "optional"),
        ("Homepage", DEB_HOMEPAGE),
        ("Description", f"{DEB_SUMMARY}\n{description}"),
    ]
    return "".join(f"{name}: {value}\n" for name, value in fields)


def windows_version_numbers(version: str) -> tuple[int, int, int, int]:
    """The four 16-bit numbers of a Windows file version: the release part, padded with zeros."""
    m = re.match(r"(?:\d+!)?(\d+(?:\.\d+)*)", version.strip())
    if m is None:
        raise ValueError(f"{version!r} does not start with a release number")
    numbers = [min(int(n), 0xFFFF) for n in m.group(1).split(".")][:4]
    a, b, c, d = numbers + [0] * (4 - len(numbers))
    return a, b, c, d


def windows_version_info(version: str) -> str:
    """The Windows version resource for ``version``, in the text form PyInstaller's ``version=``
    reads (the same form ``pyi-grab_version`` writes; PyInstaller evaluates it on Windows).

    The spec writes it on every platform so Linux builds exercise it; only Windows embeds it.
    """
    nums = windows_version_numbers(version)
    strings = {
        "CompanyName": "ccdesk",
        "FileDescription": "ccdesk crypto price ticker",
        "FileVersion": version,
        "InternalName": "ccdesk",
        "LegalCopyright": "MIT License (bundled Qt Charts: GPL-3.0)",
        "OriginalFilename": "ccdesk.exe",
        "ProductName": "ccdesk",
        "ProductVersion": version,
    }
    table = ",\n".join(f"          StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return (
        "# UTF-8\n"
        "VSVersionInfo(\n"
        "  ffi=FixedFileInfo(\n"
        f"    filevers={nums!r},\n"
        f"    prodvers={nums!r},\n"
        "    mask=0x3F,\n"
        "    flags=0x0,\n"
        "    OS=0x40004,\n"  # VOS_NT_WINDOWS32
        "    fileType=0x1,\n"  # VFT_APP
        "    subtype=0x0,\n"
        "    date=(0, 0),\n"
        "  ),\n"
        "  kids=[\n"
        "    StringFileInfo([\n"
        "      StringTable(\n"
        "        '040904B0',\n"  # US English, Unicode
        "        [\n"
        f"{table},\n"
        "        ],\n"
        "      )\n"
        "    ]),\n"
        "    VarFileInfo([VarStruct('Translation', [1033, 1200])]),\n"
        "  ],\n"
        ")\n"
    )


def deb_files(binary: Path) -> dict[str, Path]:
    """Where each installed file comes from: path inside the package -> source file."""
    files = {
        "usr/bin/ccdesk": binary,
        "usr/share/applications/ccdesk.desktop": DESKTOP_FILE,
        "usr/share/icons/hicolor/scalable/apps/ccdesk.svg": ICON_SVG,
        "usr/share/doc/ccdesk/NOTICE": NOTICE_FILE,
    }
    for size in PNG_SIZES:
        files[f"usr/share/icons/hicolor/{size}x{size}/apps/ccdesk.png"] = ICON_DIR / f"ccdesk-{size}.png"
    return files


# --- steps ---------------------------------------------------------------------------------------


def run(
    cmd: Sequence[str | os.PathLike[str]], what: str, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise BuildError naming ``what`` (its output was already shown)."""
    try:
        return subprocess.run([str(c) for c in cmd], check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]
    except FileNotFoundError:
        raise BuildError(f"{what}: {cmd[0]} was not found") from None
    except subprocess.CalledProcessError as exc:
        raise BuildError(f"{what} failed (exit status {exc.returncode}); see the output above") from None


def venv_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def make_build_env(env_dir: Path) -> Path:
    """Create (or reuse) the build venv and install PyInstaller into it; returns its python."""
    python = venv_python(env_dir)
    if python.exists():
        probe = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version_info[:2] >= (3, 11))"],
            capture_output=True,
            text=True,
        )
        if probe.returncode != 0 or probe.stdout.strip() != "True":
            log(f"{env_dir} is broken or too old; making it again")
            shutil.rmtree(env_dir)
    if not python.exists():
        log(f"creating the build environment {env_dir}")
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        except Exception as exc:  # venv raises CalledProcessError, OSError...
            raise BuildError(
                f"could not create a virtual environment in {env_dir} ({exc}); "
                "on Debian/Ubuntu install python3-venv"
            ) from None
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "install", "-q", *BUILD_REQUIREMENTS], "installing PyInstaller into the build environment")
    return python


def build_wheel(python: Path, dist: Path) -> Path:
    """Build the project's wheel into ``dist`` and install it (with its dependencies) into the venv."""
    wheel_dir = REPO / "build" / "wheel"
    shutil.rmtree(wheel_dir, ignore_errors=True)
    pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "wheel", "-q", "--no-deps", "-w", wheel_dir, REPO], "building the ccdesk wheel")
    wheels = sorted(wheel_dir.glob("ccdesk-*.whl"))
    if len(wheels) != 1:
        raise BuildError(f"expected one ccdesk wheel in {wheel_dir}, found {len(wheels)}")
    wheel = wheels[0]
    # Dependencies first (no-op when present), then ccdesk itself, always replaced: the version
    # number does not change with every edit, and a stale copy must never be frozen.
    run([*pip, "install", "-q", wheel], "installing ccdesk's dependencies into the build environment")
    run(
        [*pip, "install", "-q", "--no-deps", "--force-reinstall", wheel],
        "installing ccdesk into the build environment",
    )
    for old in dist.glob("ccdesk-*.whl"):
        old.unlink()
    shutil.copy2(wheel, dist / wheel.name)
    return dist / wheel.name


def installed_version(python: Path) -> str:
    out = run(
        [python, "-c", "from importlib.metadata import version; print(version('ccdesk'))"],
        "reading the version from the package metadata",
        capture_output=True,
    )
    return out.stdout.strip()


def freeze(python: Path, dist: Path) -> Path:
    """Run PyInstaller on the spec; returns the main artefact, moved into ``dist`` only when complete."""
    workpath = REPO / "build" / "pyinstaller"
    staging = REPO / "build" / "pyinstaller-dist"
    shutil.rmtree(staging, ignore_errors=True)
    workpath.mkdir(parents=True, exist_ok=True)
    run(
        [
            python,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            staging,
            "--workpath",
            workpath,
            SPEC,
        ],
        "PyInstaller",
        # Not the repo root: `python -m` puts the working directory first on sys.path, and the
        # source tree's ccdesk (and its egg-info) would then be frozen instead of the wheel's.
        cwd=workpath.parent,
    )
    name = {"darwin": "ccdesk.app", "win32": "ccdesk.exe"}.get(sys.platform, "ccdesk")
    built = staging / name
    if not built.exists():
        raise BuildError(f"PyInstaller finished but {built} is missing")
    artefact = dist / name
    if artefact.is_dir():
        shutil.rmtree(artefact)
    os.replace(built, artefact)
    return artefact


def build_deb(binary: Path, version: str, dist: Path) -> Path:
    """Lay out the package tree under build/ and build the .deb with dpkg-deb."""
    if shutil.which("dpkg-deb") is None:
        raise BuildError("dpkg-deb was not found (apt-get install dpkg); or pass --no-deb")
    arch = debian_arch()
    root = REPO / "build" / "deb" / f"{DEB_PACKAGE}_{arch}"
    shutil.rmtree(root, ignore_errors=True)
    size = 0
    for inside, source in deb_files(binary).items():
        if not source.is_file():
            raise BuildError(f"{source} is missing (icons: run packaging/make_icons.py)")
        target = root / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o755 if inside.startswith("usr/bin/") else 0o644)
        size += target.stat().st_size
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN" / "control").write_text(
        deb_control(version, arch, (size + 1023) // 1024), encoding="utf-8"
    )
    for d in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        d.chmod(0o755)
    out = dist / deb_filename(version, arch)
    partial = out.with_suffix(".deb.part")
    # gzip -1: the one-file executable is already zlib-compressed inside, so xz (the default)
    # would spend most of a minute to save a few percent.
    run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", root, partial],
        "dpkg-deb",
        stdout=subprocess.DEVNULL,
    )
    partial.replace(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the ccdesk executable (and, on Linux, the .deb).")
    parser.add_argument("--no-deb", action="store_true", help="do not build the .deb (Linux)")
    parser.add_argument(
        "--env", type=Path, default=REPO / "build" / "venv", help="the build venv (default build/venv)"
    )
    args = parser.parse_args(argv)
    # ruff assumes 3.11 (the project's floor); this script may be started by an older python3.
    if sys.version_info < (3, 11):  # noqa: UP036
        print(f"build: ccdesk needs Python >= 3.11; this is {platform.python_version()}", file=sys.stderr)
        return 1
    started = time.monotonic()
    dist = REPO / "dist"
    try:
        if sys.platform.startswith("linux"):
            missing = [tool for tool in ("objdump", "objcopy") if shutil.which(tool) is None]
            if missing:
                raise BuildError(f"PyInstaller needs {' and '.join(missing)} (apt-get install binutils)")
        dist.mkdir(exist_ok=True)
        python = make_build_env(args.env.resolve())
        wheel = build_wheel(python, dist)
        version = installed_version(python)
        log(f"freezing ccdesk {version} with PyInstaller")
        t0 = time.monotonic()
        artefact = freeze(python, dist)
        made = [wheel, artefact]
        log(f"PyInstaller took {time.monotonic() - t0:.0f} s")
        if sys.platform.startswith("linux") and not args.no_deb:
            made.append(build_deb(artefact, version, dist))
    except BuildError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # copying, moving, disk full: say which file, no traceback
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"build: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("build: interrupted", file=sys.stderr)
        return 1
    for path in made:
        size = (
            sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            if path.is_dir()
            else path.stat().st_size
        )
        log(f"{path.relative_to(REPO)}  {size / 1e6:.1f} MB")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
