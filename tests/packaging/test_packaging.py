"""Packaging sources, checked without building: the generated icons, the PyInstaller spec (run
against stand-ins for PyInstaller, as Windows, macOS and Linux), the build helpers, and the
release workflow (actionlint). No Qt in this process; the icon check renders in a child process."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import itertools
import os
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
ICONS = REPO / "resources" / "icons"
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def load(name: str) -> types.ModuleType:
    """A script in packaging/ as a module (packaging/ is not a package, and must not shadow `packaging`)."""
    spec = importlib.util.spec_from_file_location(f"ccdesk_packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def icons() -> types.ModuleType:
    return load("make_icons")


@pytest.fixture(scope="module")
def build() -> types.ModuleType:
    return load("build")


# --- icons ---------------------------------------------------------------------------------------


def test_every_png_size_is_there_at_its_size(icons):
    assert icons.PNG_SIZES == (16, 24, 32, 48, 64, 128, 256, 512)
    for size in icons.PNG_SIZES:
        data = (ICONS / icons.png_name(size)).read_bytes()
        assert icons.png_dimensions(data) == (size, size)


def test_the_ico_holds_png_images_from_16_to_256(icons):
    images = icons.read_ico((ICONS / "ccdesk.ico").read_bytes())
    assert sorted(images) == list(icons.ICO_SIZES)
    for size, data in images.items():
        assert icons.png_dimensions(data) == (size, size)


def test_the_icns_holds_the_1x_and_2x_pngs(icons):
    elements = icons.read_icns((ICONS / "ccdesk.icns").read_bytes())
    assert list(elements) == [ostype for ostype, _ in icons.ICNS_TYPES]
    for ostype, size in icons.ICNS_TYPES:
        assert icons.png_dimensions(elements[ostype]) == (size, size), ostype


def test_containers_round_trip(icons):
    pngs = {size: (ICONS / icons.png_name(size)).read_bytes() for size in icons.PNG_SIZES}
    assert icons.read_ico(icons.build_ico({16: pngs[16], 256: pngs[256]})) == {16: pngs[16], 256: pngs[256]}
    with pytest.raises(ValueError, match="at most 256"):
        icons.build_ico({512: pngs[512]})
    with pytest.raises(ValueError, match="truncated"):
        icons.read_icns(b"icns\x00\x00\x00\x10ic07\x00\x00\x00\x64")  # says 100 bytes, has 8


def test_the_committed_icons_match_the_svg():
    r = subprocess.run(
        [sys.executable, str(PACKAGING / "make_icons.py"), "--check"],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_wheel_configuration_ships_every_package_and_the_resources():
    """resources/ goes into the wheel as ccdesk/resources (where ccdesk.app.resource_path looks);
    with an explicit package list, a new subpackage that is not listed would silently be left out."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = set(setuptools.get("packages", []))
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "ccdesk").rglob("__init__.py")}
    assert on_disk <= packages, f"not in [tool.setuptools] packages: {sorted(on_disk - packages)}"
    assert setuptools.get("package-dir", {}).get("ccdesk.resources") == "resources"
    assert {"ccdesk.resources", "ccdesk.resources.icons"} <= packages
    data = setuptools.get("package-data", {})
    assert "*.svg" in data.get("ccdesk.resources", [])
    assert "*.wav" in data.get("ccdesk.resources", [])  # the alert sound
    assert "*.png" in data.get("ccdesk.resources.icons", [])


# --- the spec, run against stand-ins for PyInstaller ---------------------------------------------


class Recorder:
    """Stands in for one of PyInstaller's spec classes: keeps its arguments."""

    made: list[Recorder]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.binaries: list[tuple[str, str, str]] = []
        self.datas = kwargs.get("datas", [])
        self.pure, self.scripts = [], []
        type(self).made.append(self)


def run_spec(monkeypatch, tmp_path: Path, platform: str) -> dict[str, Any]:
    """Execute packaging/ccdesk.spec as PyInstaller would on ``platform``; returns what it built."""
    classes = {
        name: type(name, (Recorder,), {"made": []})
        for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")
    }
    metadata_copied: list[str] = []
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = lambda package: [f"{package}.collected"]  # type: ignore[attr-defined]

    def copy_metadata(name: str) -> list[tuple[str, str]]:
        metadata_copied.append(name)
        return [(f"/site/{name}.dist-info", f"{name}.dist-info")]

    hooks.copy_metadata = copy_metadata  # type: ignore[attr-defined]
    bindepend = types.ModuleType("PyInstaller.depend.bindepend")
    bindepend.get_imports = lambda path: []  # type: ignore[attr-defined]
    for name, module in {
        "PyInstaller": types.ModuleType("PyInstaller"),
        "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
        "PyInstaller.utils.hooks": hooks,
        "PyInstaller.depend": types.ModuleType("PyInstaller.depend"),
        "PyInstaller.depend.bindepend": bindepend,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {"SPECPATH": str(PACKAGING), "workpath": str(tmp_path), "DISTPATH": str(tmp_path / "dist")}
    namespace.update(classes)
    code = compile((PACKAGING / "ccdesk.spec").read_text(encoding="utf-8"), "ccdesk.spec", "exec")
    exec(code, namespace)
    made: dict[str, Any] = {name: cls.made for name, cls in classes.items()}
    made["metadata"] = metadata_copied
    made["namespace"] = namespace
    return made


def analysis_of(made: dict[str, Any]) -> dict[str, Any]:
    [analysis] = made["Analysis"]
    return analysis.kwargs


def test_spec_linux_one_file_collects_what_is_loaded_by_name(monkeypatch, tmp_path):
    made = run_spec(monkeypatch, tmp_path, "linux")
    a = analysis_of(made)
    assert a["hiddenimports"][:1] == ["plyer.platforms.linux.notification"]
    assert {"keyring.backends.collected", "ccdesk.collected", "secretstorage", "jeepney.io.blocking"} <= set(
        a["hiddenimports"]
    )
    assert {"ccdesk", "keyring"} <= set(made["metadata"])
    assert "keyrings.alt" in a["excludes"]
    dests = {(Path(src).name, dest) for src, dest in a["datas"]}
    assert ("ccdesk.svg", "resources") in dests
    assert ("alert.wav", "resources") in dests
    assert ("ccdesk-256.png", "resources/icons") in dests
    assert all(Path(src).is_file() for src, _ in a["datas"] if src.startswith(str(REPO)))
    [exe] = made["EXE"]
    assert exe.kwargs["name"] == "ccdesk"
    assert exe.kwargs["console"] is True
    assert not made["COLLECT"]
    assert not made["BUNDLE"]
    assert len(exe.args) >= 4  # the binaries and datas go inside the executable


def test_spec_windows_exe_has_icon_version_info_and_hides_its_own_console(monkeypatch, tmp_path):
    made = run_spec(monkeypatch, tmp_path, "win32")
    assert analysis_of(made)["hiddenimports"][0] == "plyer.platforms.win.notification"
    [exe] = made["EXE"]
    kw = exe.kwargs
    assert Path(kw["icon"]) == ICONS / "ccdesk.ico"
    assert kw["console"] is True
    assert kw["hide_console"] == "hide-early"
    version = importlib.metadata.version("ccdesk")
    text = Path(kw["version"]).read_text(encoding="utf-8")
    assert f"StringStruct('ProductVersion', '{version}')" in text
    assert not made["BUNDLE"]


def test_spec_macos_app_lives_in_the_menu_bar(monkeypatch, tmp_path):
    made = run_spec(monkeypatch, tmp_path, "darwin")
    assert analysis_of(made)["hiddenimports"][0] == "plyer.platforms.macosx.notification"
    [bundle] = made["BUNDLE"]
    kw = bundle.kwargs
    assert kw["name"] == "ccdesk.app"
    assert Path(kw["icon"]) == ICONS / "ccdesk.icns"
    assert kw["bundle_identifier"] == "com.ccdesk.ccdesk"
    plist = kw["info_plist"]
    assert plist["LSUIElement"] is True
    assert plist["CFBundleShortVersionString"] == importlib.metadata.version("ccdesk")
    assert made["COLLECT"], "a one-dir bundle: a one-file .app would unpack itself at every start"


def test_spec_drops_the_gtk_theme_and_only_what_it_alone_needed(monkeypatch, tmp_path):
    imports = {
        "/qt/libqgtk3.so": [("libgtk-3.so.0", "/usr/lib/libgtk-3.so.0")],
        "/usr/lib/libgtk-3.so.0": [("libglib-2.0.so.0", "/usr/lib/libglib-2.0.so.0")],
        "/qt/libqxcb.so": [("libglib-2.0.so.0", "/usr/lib/libglib-2.0.so.0")],
    }
    made = run_spec(monkeypatch, tmp_path, "linux")
    sys.modules["PyInstaller.depend.bindepend"].get_imports = lambda path: imports.get(path, [])  # type: ignore[attr-defined]
    binaries = [
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/qt/libqgtk3.so", "BINARY"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/qt/libqxcb.so", "BINARY"),
        ("libgtk-3.so.0", "/usr/lib/libgtk-3.so.0", "BINARY"),
        ("libglib-2.0.so.0", "/usr/lib/libglib-2.0.so.0", "BINARY"),
        ("libpython3.11.so.1.0", "/usr/lib/libpython3.11.so.1.0", "BINARY"),
        # A top-level extension nothing links to (cryptography imports it from native code).
        ("_cffi_backend.cpython-311-x86_64-linux-gnu.so", "/site/_cffi_backend.so", "EXTENSION"),
    ]
    kept = [
        dest for dest, _, _ in made["namespace"]["drop_plugins"](binaries, ("platformthemes/libqgtk3.so",))
    ]
    assert kept == [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "libglib-2.0.so.0",
        "libpython3.11.so.1.0",
        "_cffi_backend.cpython-311-x86_64-linux-gnu.so",
    ]


# --- build helpers -------------------------------------------------------------------------------


def test_build_script_needs_only_the_standard_library(build):
    tree = ast.parse((PACKAGING / "build.py").read_text(encoding="utf-8"))
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules - {"__future__"} <= sys.stdlib_module_names


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [
        ("0.1.0", "0.1.0"),
        ("1.2.0rc1", "1.2.0~rc1"),
        ("1.2.0b2", "1.2.0~b2"),
        ("1.2.0.dev3", "1.2.0~~dev3"),
        ("1.2.0.post1", "1.2.0+post1"),
        ("1.2.0+local.7", "1.2.0+local.7"),
        ("1!2.0", "1:2.0"),
    ],
)
def test_debian_version(build, pep440, debian):
    assert build.debian_version(pep440) == debian


def test_debian_versions_sort_like_pep440(build):
    order = ["1.0.0.dev1", "1.0.0a1", "1.0.0rc1", "1.0.0", "1.0.0.post1", "1.0.1"]
    debs = [build.debian_version(v) for v in order]
    for lower, higher in itertools.pairwise(debs):
        r = subprocess.run(["dpkg", "--compare-versions", lower, "lt", higher], timeout=10)
        assert r.returncode == 0, f"{lower} should sort before {higher}"


def test_debian_version_rejects_nonsense(build):
    with pytest.raises(ValueError, match="PEP 440"):
        build.debian_version("latest")


def test_deb_control_and_layout(build):
    control = build.deb_control("0.1.0", "amd64", 70_000)
    fields = dict(line.split(": ", 1) for line in control.splitlines() if not line.startswith(" "))
    assert fields["Package"] == "ccdesk"
    assert fields["Version"] == "0.1.0"
    assert fields["Architecture"] == "amd64"
    assert fields["Installed-Size"] == "70000"
    assert fields["Depends"].startswith("libc6 (>= 2.34), ")
    assert "libxcb-cursor0" in fields["Depends"]
    assert control.endswith("\n")
    assert "\n .\n" not in control.split("Description: ")[0]
    assert build.deb_filename("1!2.0rc1", "amd64") == "ccdesk_2.0~rc1_amd64.deb"
    files = build.deb_files(REPO / "dist" / "ccdesk")
    assert files["usr/share/applications/ccdesk.desktop"] == PACKAGING / "ccdesk.desktop"
    assert files["usr/share/icons/hicolor/scalable/apps/ccdesk.svg"] == REPO / "resources" / "ccdesk.svg"
    assert "GPL-3.0" in files["usr/share/doc/ccdesk/NOTICE"].read_text(encoding="utf-8")  # Qt Charts
    for size in (16, 32, 48, 64, 128, 256, 512):
        assert files[f"usr/share/icons/hicolor/{size}x{size}/apps/ccdesk.png"].is_file()
    assert build.debian_arch("x86_64") == "amd64"
    assert build.debian_arch("aarch64") == "arm64"


def test_windows_version_info_is_the_structure_pyinstaller_evaluates(build):
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def stand_in(name: str) -> Any:
        def make(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
            calls.append((name, args, kwargs))
            return (name, args, kwargs)

        return make

    names = (
        "VSVersionInfo",
        "FixedFileInfo",
        "StringFileInfo",
        "StringTable",
        "StringStruct",
        "VarFileInfo",
        "VarStruct",
    )
    info = eval(build.windows_version_info("2.3rc1"), {n: stand_in(n) for n in names})
    assert info[0] == "VSVersionInfo"
    ffi = info[2]["ffi"][2]
    assert ffi["filevers"] == ffi["prodvers"] == (2, 3, 0, 0)
    strings = {args[0]: args[1] for name, args, _ in calls if name == "StringStruct"}
    assert strings["ProductVersion"] == strings["FileVersion"] == "2.3rc1"
    assert strings["OriginalFilename"] == "ccdesk.exe"
    assert build.windows_version_numbers("1.2.3.4.5") == (1, 2, 3, 4)


# --- the release workflow ------------------------------------------------------------------------


def actionlint() -> str | None:
    """The actionlint executable: next to this Python (a test dependency) or on PATH."""
    here = Path(sys.executable).parent
    return shutil.which("actionlint", path=os.pathsep.join([str(here), os.environ.get("PATH", "")]))


def test_release_workflow_passes_actionlint():
    exe = actionlint()
    if exe is None:
        pytest.fail(
            "actionlint is not installed: it comes with the test extras "
            "(`.venv/bin/pip install -e '.[test]'`)",
            pytrace=False,
        )
    r = subprocess.run(
        [exe, "-no-color", str(WORKFLOW)], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_release_workflow_builds_and_smoke_tests_on_windows_and_macos():
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "os: windows-latest" in text
    assert "os: macos-latest" in text
    assert "run: python packaging/build.py" in text  # the same command as everywhere else
    for command in ("--version", "--self-test", "stream --demo --count 5 --format jsonl 5~CCCAGG~BTC~USD"):
        assert f'"$BINARY" {command}' in text
    assert "LSUIElement" in text
    assert "VersionInfo" in text


def test_spec_keeps_qt_charts_and_drops_what_the_addons_drag_in(monkeypatch, tmp_path):
    """PySide6-Addons (for Qt Charts) puts a virtual keyboard and a PDF plugin next to Qt's own:
    they pull in QtQuick, QtQml and QtPdf (~11 MB of the one-file binary). The spec keeps Qt Charts
    (and the OpenGL libraries libQt6Charts links to) and drops those plugins, the Qt libraries only
    they needed, and the symlinks to them."""
    made = run_spec(monkeypatch, tmp_path, "linux")
    a = analysis_of(made)
    assert "PySide6.QtCharts" in a["hiddenimports"]
    assert {"PySide6.QtQuick", "PySide6.QtQml", "PySide6.QtPdf", "PySide6.QtOpenGL"} <= set(a["excludes"])
    assert "PySide6.QtCharts" not in a["excludes"]
    lib = "PySide6/Qt/lib/"
    imports = {
        "/qt/QtCharts.so": [("libQt6Charts.so.6", "/qt/lib/libQt6Charts.so.6")],
        "/qt/lib/libQt6Charts.so.6": [("libQt6OpenGLWidgets.so.6", "/qt/lib/libQt6OpenGLWidgets.so.6")],
        "/qt/vkb.so": [("libQt6VirtualKeyboard.so.6", "/qt/lib/libQt6VirtualKeyboard.so.6")],
        "/qt/lib/libQt6VirtualKeyboard.so.6": [("libQt6Quick.so.6", "/qt/lib/libQt6Quick.so.6")],
        "/qt/qpdf.so": [("libQt6Pdf.so.6", "/qt/lib/libQt6Pdf.so.6")],
    }
    sys.modules["PyInstaller.depend.bindepend"].get_imports = lambda path: imports.get(path, [])  # type: ignore[attr-defined]
    binaries = [
        ("PySide6/QtCharts.abi3.so", "/qt/QtCharts.so", "EXTENSION"),
        (lib + "libQt6Charts.so.6", "/qt/lib/libQt6Charts.so.6", "BINARY"),
        (lib + "libQt6OpenGLWidgets.so.6", "/qt/lib/libQt6OpenGLWidgets.so.6", "BINARY"),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", "/qt/vkb.so", "BINARY"),
        (lib + "libQt6VirtualKeyboard.so.6", "/qt/lib/libQt6VirtualKeyboard.so.6", "BINARY"),
        (lib + "libQt6Quick.so.6", "/qt/lib/libQt6Quick.so.6", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", "/qt/qpdf.so", "BINARY"),
        (lib + "libQt6Pdf.so.6", "/qt/lib/libQt6Pdf.so.6", "BINARY"),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", "/qt/qjpeg.so", "BINARY"),
    ]
    kept = [
        dest
        for dest, _, _ in made["namespace"]["drop_plugins"](
            binaries,
            ("platforminputcontexts/libqtvirtualkeyboardplugin.so", "imageformats/libqpdf.so"),
        )
    ]
    assert kept == [
        "PySide6/QtCharts.abi3.so",
        lib + "libQt6Charts.so.6",
        lib + "libQt6OpenGLWidgets.so.6",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
    ]
    spec = (PACKAGING / "ccdesk.spec").read_text(encoding="utf-8")
    assert '"platforminputcontexts/libqtvirtualkeyboardplugin.so"' in spec
    assert '"imageformats/libqpdf.so"' in spec
