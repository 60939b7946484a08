"""Start at login: the generated desktop entry, Run value and LaunchAgent, and writing them (Linux fully)."""

from __future__ import annotations

import os
import plistlib
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdesk.core.autostart import (
    BACKGROUND_FLAG,
    WINDOWS_RUN_KEY,
    Autostart,
    AutostartError,
    default_exec_args,
    desktop_entry,
    desktop_exec,
    macos_launch_agent,
    windows_run_entry,
)

REPO = Path(__file__).resolve().parents[2]


def parse_exec(value: str) -> list[str]:
    """A reference reader for an Exec value, written from the Desktop Entry spec's text."""
    # 1. The string escapes of the value (\s \n \t \r \\).
    unescaped, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}[value[i + 1]])
            i += 2
        else:
            unescaped.append(c)
            i += 1
    text = "".join(unescaped)
    # 2. Split into arguments; inside double quotes, \" \` \$ \\ stand for the character.
    args, current, quoted, started, i = [], [], False, False, 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\" and text[i + 1] in '"`$\\':
                current.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
            else:
                current.append(c)
        elif c == '"':
            quoted = started = True
        elif c == " ":
            if started:
                args.append("".join(current))
            current, started = [], False
        else:
            assert c not in "\t\n\"'\\><~|&;$*?#()`", f"unquoted reserved character {c!r}"
            current.append(c)
            started = True
        i += 1
    assert not quoted
    if started:
        args.append("".join(current))
    # 3. %% is a literal percent sign.
    return [a.replace("%%", "%") for a in args]


# --- desktop entry ---


def test_packaged_launcher_is_exactly_the_generated_entry():
    assert (REPO / "packaging" / "ccdesk.desktop").read_text(encoding="utf-8") == desktop_entry(
        ["ccdesk"], autostart=False
    )


def test_desktop_entry_content():
    assert desktop_entry(["/opt/cc desk/bin/ccdesk", BACKGROUND_FLAG], autostart=True) == (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=ccdesk\n"
        "GenericName=Crypto price ticker\n"
        "Comment=Live crypto prices in the system tray\n"
        'Exec="/opt/cc desk/bin/ccdesk" --background\n'
        "Icon=ccdesk\n"
        "Terminal=false\n"
        "Categories=Office;Finance;\n"
        "StartupWMClass=ccdesk\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


@pytest.mark.parametrize(
    ("args", "value"),
    [
        (["ccdesk"], "ccdesk"),
        (["/usr/bin/python3", "-m", "ccdesk"], "/usr/bin/python3 -m ccdesk"),
        (["/home/me/My Apps/ccdesk"], '"/home/me/My Apps/ccdesk"'),
        (["a", ""], 'a ""'),
        (["100%"], "100%%"),
        (['say "hi"'], '"say \\\\"hi\\\\""'),
        (["$HOME"], '"\\\\$HOME"'),
        (["C:\\x"], '"C:\\\\\\\\x"'),  # the spec's four backslashes for one
        (["it's"], '"it\'s"'),
        (["a\tb"], '"a\\tb"'),
        (["~/bin/ccdesk"], '"~/bin/ccdesk"'),
    ],
)
def test_exec_quoting_follows_the_spec(args, value):
    assert desktop_exec(args) == value
    assert parse_exec(value) == args


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0")), min_size=1, max_size=5))
def test_exec_quoting_roundtrips(args):
    value = desktop_exec(args)
    assert "\n" not in value  # one line in the file
    assert "\r" not in value
    assert parse_exec(value) == args


def test_exec_refuses_nothing_and_nul():
    with pytest.raises(ValueError, match="at least"):
        desktop_exec([])
    with pytest.raises(ValueError, match="NUL"):
        desktop_exec(["a\0b"])


# --- Windows and macOS content ---


def test_windows_run_entry():
    key, name, command = windows_run_entry(r"C:\Program Files\ccdesk\ccdesk.exe")
    assert key == r"Software\Microsoft\Windows\CurrentVersion\Run" == WINDOWS_RUN_KEY
    assert name == "ccdesk"
    assert command == r'"C:\Program Files\ccdesk\ccdesk.exe" --background'


def test_windows_run_entry_quotes_program_always_and_other_args_as_needed():
    _, _, command = windows_run_entry([r"C:\Python311\python.exe", "-m", "ccdesk", "a b"])
    assert command == r'"C:\Python311\python.exe" -m ccdesk "a b" --background'


@pytest.mark.parametrize("bad", ["", 'C:\\a"b.exe', []])
def test_windows_run_entry_refuses_bad_program(bad):
    with pytest.raises(AutostartError):
        windows_run_entry(bad)


def test_macos_launch_agent_is_a_valid_plist():
    xml = macos_launch_agent("/Applications/ccdesk.app/Contents/MacOS/ccdesk")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    assert plistlib.loads(xml.encode()) == {
        "Label": "com.ccdesk.ccdesk",
        "ProgramArguments": ["/Applications/ccdesk.app/Contents/MacOS/ccdesk", "--background"],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }


def test_macos_launch_agent_escapes_xml():
    xml = macos_launch_agent(["/Users/a&b/<ccdesk>"])
    assert plistlib.loads(xml.encode())["ProgramArguments"][0] == "/Users/a&b/<ccdesk>"


# --- the command to run ---


def test_exec_args_frozen_binary(tmp_path):
    exe = str(tmp_path / "ccdesk")
    assert default_exec_args(executable=exe, frozen=True, env={}) == (exe,)
    appimage = "/home/me/Apps/ccdesk.AppImage"
    assert default_exec_args(executable=exe, frozen=True, env={"APPIMAGE": appimage}) == (appimage,)


def test_exec_args_script_next_to_the_interpreter(tmp_path):
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    assert default_exec_args(executable=str(python), frozen=False, env={}, platform="linux") == (
        str(python),
        "-m",
        "ccdesk",
    )
    (tmp_path / "bin" / "ccdesk").write_text("#!/bin/sh\n")
    assert default_exec_args(executable=str(python), frozen=False, env={}, platform="linux") == (
        str(tmp_path / "bin" / "ccdesk"),
    )
    (tmp_path / "bin" / "ccdesk.exe").write_text("MZ")
    assert default_exec_args(executable=str(python), frozen=False, env={}, platform="win32") == (
        str(tmp_path / "bin" / "ccdesk.exe"),
    )


def test_exec_args_default_in_this_venv():
    args = default_exec_args()
    assert os.path.isabs(args[0])
    assert os.path.basename(args[-1]) == "ccdesk"  # the venv script, or python -m ccdesk


# --- Linux: the real thing, in a temporary config folder ---


@pytest.fixture
def linux(tmp_path) -> Autostart:
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return Autostart("linux", env, ["/opt/ccdesk/bin/ccdesk"])


def test_linux_enable_writes_the_autostart_entry(linux, tmp_path):
    path = tmp_path / "config" / "autostart" / "ccdesk.desktop"
    assert linux.path == path
    assert not linux.is_enabled()
    linux.enable()
    assert linux.is_enabled()
    assert path.read_text() == desktop_entry(["/opt/ccdesk/bin/ccdesk", "--background"], autostart=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in path.parent.iterdir()) == ["ccdesk.desktop"]  # no temporary left
    linux.enable()  # again: replaced, still one file
    assert sorted(p.name for p in path.parent.iterdir()) == ["ccdesk.desktop"]
    linux.disable()
    assert not path.exists()
    assert not linux.is_enabled()
    linux.disable()  # not enabled: fine


def test_linux_default_config_home(tmp_path):
    for env in ({"HOME": str(tmp_path)}, {"HOME": str(tmp_path), "XDG_CONFIG_HOME": "relative/ignored"}):
        auto = Autostart("linux", env, ["ccdesk"])
        assert auto.path == tmp_path / ".config" / "autostart" / "ccdesk.desktop"
    auto.enable()
    assert (tmp_path / ".config" / "autostart" / "ccdesk.desktop").is_file()


def test_linux_entry_switched_off_by_hand_is_not_enabled(linux):
    linux.enable()
    linux.path.write_text(linux.content() + "Hidden=true\n")
    assert not linux.is_enabled()
    linux.path.write_text(linux.content().replace("enabled=true", "enabled=false"))
    assert not linux.is_enabled()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_linux_unwritable_folder_is_a_plain_error(linux, tmp_path):
    folder = tmp_path / "config" / "autostart"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        with pytest.raises(AutostartError, match="could not write the login entry"):
            linux.enable()
    finally:
        folder.chmod(0o700)


def test_linux_write_failure_is_a_plain_error(tmp_path):
    # A file where the config folder should be: fails even as root.
    (tmp_path / "config").write_text("not a folder")
    auto = Autostart("linux", {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}, ["x"])
    with pytest.raises(AutostartError, match=r"^could not write the login entry .*ccdesk.desktop: "):
        auto.enable()
    with pytest.raises(AutostartError, match="could not read the login entry"):
        auto.is_enabled()
    with pytest.raises(AutostartError, match="could not remove the login entry"):
        auto.disable()


def test_linux_disable_leaves_other_entries(linux):
    linux.enable()
    other = linux.path.parent / "other.desktop"
    other.write_text("[Desktop Entry]\n")
    linux.disable()
    assert other.exists()


# --- macOS: the file (written on any OS) ---


def test_macos_writes_the_launch_agent(tmp_path):
    auto = Autostart("darwin", {"HOME": str(tmp_path)}, ["/Applications/ccdesk.app/Contents/MacOS/ccdesk"])
    path = tmp_path / "Library" / "LaunchAgents" / "com.ccdesk.ccdesk.plist"
    assert auto.path == path
    auto.enable()
    assert auto.is_enabled()
    assert plistlib.loads(path.read_bytes())["ProgramArguments"][-1] == "--background"
    auto.disable()
    assert not path.exists()
    assert not auto.is_enabled()


# --- Windows: the registry calls, against a hand-written winreg stand-in ---


class FakeKey:
    def __init__(self, reg: FakeWinreg, path: str) -> None:
        self.reg, self.path = reg, path

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class FakeWinreg:
    """The part of winreg that Autostart uses (its CamelCase names), over a dict."""

    HKEY_CURRENT_USER = "HKCU"
    KEY_SET_VALUE = 2
    KEY_QUERY_VALUE = 1
    REG_SZ = 1

    def __init__(self) -> None:
        self.keys: dict[str, dict[str, tuple[object, int]]] = {}
        self.fail: OSError | None = None

    def _check(self, root: str) -> None:
        assert root == "HKCU"
        if self.fail is not None:
            raise self.fail

    def CreateKeyEx(self, root, path, reserved, access):
        self._check(root)
        self.keys.setdefault(path, {})
        return FakeKey(self, path)

    def OpenKey(self, root, path, reserved, access):
        self._check(root)
        if path not in self.keys:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return FakeKey(self, path)

    def SetValueEx(self, key, name, reserved, kind, value):
        self.keys[key.path][name] = (value, kind)

    def DeleteValue(self, key, name):
        if name not in self.keys[key.path]:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        del self.keys[key.path][name]

    def QueryValueEx(self, key, name):
        if name not in self.keys[key.path]:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self.keys[key.path][name]


def test_windows_enable_disable_through_the_registry():
    reg = FakeWinreg()
    auto = Autostart("win32", {}, [r"C:\Program Files\ccdesk\ccdesk.exe"], registry=reg)
    assert auto.path is None
    assert not auto.is_enabled()  # no Run key at all
    auto.disable()  # nothing to remove: fine
    auto.enable()
    assert reg.keys[WINDOWS_RUN_KEY] == {
        "ccdesk": (r'"C:\Program Files\ccdesk\ccdesk.exe" --background', FakeWinreg.REG_SZ)
    }
    assert auto.is_enabled()
    auto.disable()
    assert reg.keys[WINDOWS_RUN_KEY] == {}
    assert not auto.is_enabled()
    auto.disable()


def test_windows_registry_errors_are_plain():
    reg = FakeWinreg()
    reg.fail = PermissionError(13, "Access is denied")
    auto = Autostart("win32", {}, [r"C:\ccdesk.exe"], registry=reg)
    for call, words in ((auto.enable, "write"), (auto.disable, "remove"), (auto.is_enabled, "read")):
        with pytest.raises(AutostartError, match=f"could not {words} the login entry .*: Access is denied"):
            call()


def test_windows_without_winreg_is_a_plain_error():
    auto = Autostart("win32", {}, [r"C:\ccdesk.exe"])  # winreg does not exist on this OS
    with pytest.raises(AutostartError, match="registry is not available"):
        auto.enable()
