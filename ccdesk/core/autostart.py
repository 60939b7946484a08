"""Start at login: the desktop entry, Windows Run value and macOS LaunchAgent, and writing them. No Qt.

Linux (and other XDG desktops): ``$XDG_CONFIG_HOME/autostart/ccdesk.desktop`` (default
``~/.config``). Windows: the value ``ccdesk`` under ``HKCU\\Software\\Microsoft\\Windows\\
CurrentVersion\\Run``. macOS: ``~/Library/LaunchAgents/com.ccdesk.ccdesk.plist`` (loaded at the
next login). Every login command ends with ``--background``, so ccdesk starts hidden in the tray
instead of opening its window on every login.

The generators are pure functions; :class:`Autostart` does the file and registry work and raises
only :class:`AutostartError`.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import plistlib
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

logger = logging.getLogger(__name__)

APP_ID: Final = "ccdesk"
BACKGROUND_FLAG: Final = "--background"
DESKTOP_FILE_NAME: Final = "ccdesk.desktop"
LAUNCH_AGENT_LABEL: Final = "com.ccdesk.ccdesk"
WINDOWS_RUN_KEY: Final = r"Software\Microsoft\Windows\CurrentVersion\Run"
WINDOWS_VALUE_NAME: Final = "ccdesk"

# Desktop Entry spec, "The Exec key": an argument holding any of these must be quoted.
_RESERVED: Final = frozenset(" \t\n\"'\\><~|&;$*?#()`")
# Inside double quotes these four must be escaped with a backslash.
_ESCAPE_IN_QUOTES: Final = frozenset('"`$\\')
# The general escapes of a string value, applied after quoting.
_STRING_ESCAPES: Final = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class AutostartError(Exception):
    """Starting at login could not be switched on or off; ``str(err)`` says why in plain words."""


# --- content generators ------------------------------------------------------------------------


def desktop_exec(args: Sequence[str]) -> str:
    """The value of an ``Exec=`` key that runs ``args``, quoted per the Desktop Entry spec.

    ``%`` becomes ``%%`` (it starts field codes); arguments with reserved characters (or empty
    ones) are double-quoted, with double quote, backtick, dollar and backslash escaped by a
    backslash; then the string escapes (``\\\\``, ``\\n``, ``\\t``, ``\\r``) are applied to the whole
    value, so a literal backslash in a quoted argument ends up as four backslashes, as the spec says.

    Raises:
        ValueError: if ``args`` is empty or an argument holds a NUL character.
    """
    if not args:
        raise ValueError("Exec needs at least the program")
    quoted = []
    for arg in args:
        if "\0" in arg:
            raise ValueError("an Exec argument cannot contain a NUL character")
        arg = arg.replace("%", "%%")
        if not arg or any(c in _RESERVED for c in arg):
            arg = '"' + "".join("\\" + c if c in _ESCAPE_IN_QUOTES else c for c in arg) + '"'
        quoted.append(arg)
    return "".join(_STRING_ESCAPES.get(c, c) for c in " ".join(quoted))


def desktop_entry(exec_args: Sequence[str], *, autostart: bool) -> str:
    """The freedesktop ``.desktop`` file for ccdesk.

    ``packaging/ccdesk.desktop`` (the menu launcher) is exactly ``desktop_entry(["ccdesk"],
    autostart=False)``; a test keeps them equal.

    Args:
        exec_args: The command line (program first).
        autostart: Add ``X-GNOME-Autostart-enabled=true`` (for ``~/.config/autostart``).

    Returns:
        The file's text, ending with a newline.
    """
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=ccdesk",
        "GenericName=Crypto price ticker",
        "Comment=Live crypto prices in the system tray",
        f"Exec={desktop_exec(exec_args)}",
        "Icon=ccdesk",
        "Terminal=false",
        "Categories=Office;Finance;",
        "StartupWMClass=ccdesk",
    ]
    if autostart:
        lines.append("X-GNOME-Autostart-enabled=true")
    return "\n".join(lines) + "\n"


def windows_run_entry(exec_args: str | Sequence[str]) -> tuple[str, str, str]:
    """The Windows Run registry value that starts ccdesk at login.

    Args:
        exec_args: The program path (``C:\\...\\ccdesk.exe``), or the full command line as a list.

    Returns:
        ``(key, value name, command)``: the key under ``HKEY_CURRENT_USER``, ``ccdesk``, and the
        command, e.g. ``"C:\\Program Files\\ccdesk\\ccdesk.exe" --background``. The program is
        always quoted (an unquoted path with spaces is a classic Run-key bug); the other
        arguments follow the MS C runtime rules (``subprocess.list2cmdline``).

    Raises:
        AutostartError: if the program path is empty or holds a double quote.
    """
    args = [exec_args] if isinstance(exec_args, str) else list(exec_args)
    if not args or not args[0] or '"' in args[0]:
        raise AutostartError("the program path for the login entry is empty or contains a double quote")
    command = " ".join([f'"{args[0]}"', subprocess.list2cmdline([*args[1:], BACKGROUND_FLAG])])
    return WINDOWS_RUN_KEY, WINDOWS_VALUE_NAME, command


def macos_launch_agent(exec_args: str | Sequence[str]) -> str:
    """The LaunchAgent property list (XML) that starts ccdesk at login.

    Args:
        exec_args: The program path, or the full command line as a list.

    Returns:
        The plist XML: ``Label`` com.ccdesk.ccdesk, ``ProgramArguments`` (ending with
        ``--background``), ``RunAtLoad`` true, ``ProcessType`` Interactive.
    """
    args = [exec_args] if isinstance(exec_args, str) else list(exec_args)
    if not args or not args[0]:
        raise AutostartError("the program path for the login entry is empty")
    plist = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": [*args, BACKGROUND_FLAG],
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    return plistlib.dumps(plist, fmt=plistlib.FMT_XML, sort_keys=False).decode("utf-8")


def default_exec_args(
    *,
    executable: str | None = None,
    frozen: bool | None = None,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> tuple[str, ...]:
    """The command that starts this installation of ccdesk (without ``--background``).

    * A frozen binary (PyInstaller): the binary itself, or the AppImage file when running from
      one (``$APPIMAGE``; ``sys.executable`` would be inside its temporary mount).
    * Otherwise the ``ccdesk`` script next to the interpreter (a venv's ``bin/ccdesk``,
      ``Scripts\\ccdesk.exe`` on Windows) if it exists,
    * else ``[python, -m, ccdesk]``.

    Args:
        executable: Defaults to ``sys.executable``.
        frozen: Defaults to ``sys.frozen``.
        env: Defaults to ``os.environ``.
        platform: Defaults to ``sys.platform``.
    """
    executable = os.path.abspath(executable or sys.executable)
    frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if frozen:
        appimage = env.get("APPIMAGE", "")
        return (appimage,) if appimage and os.path.isabs(appimage) else (executable,)
    script = Path(executable).parent / ("ccdesk.exe" if platform == "win32" else "ccdesk")
    if script.is_file():
        return (str(script),)
    return (executable, "-m", "ccdesk")


# --- installing --------------------------------------------------------------------------------


class Autostart:
    """Switch starting at login on and off for the current user.

    Every method may touch the disk or the registry (fast, but not free): call them from the
    controller, not from a paint path. They raise only :class:`AutostartError`.
    """

    def __init__(
        self,
        platform: str = sys.platform,
        env: Mapping[str, str] | None = None,
        exec_args: Sequence[str] | None = None,
        *,
        registry: Any = None,
    ) -> None:
        """Create the switch; nothing is read or written until a method is called.

        Args:
            platform: ``sys.platform``-style name: ``win32``, ``darwin``, anything else is XDG.
            env: For ``HOME`` and ``XDG_CONFIG_HOME``; ``os.environ`` when None.
            exec_args: The command to start ccdesk; :func:`default_exec_args` when None.
            registry: The ``winreg`` module or a stand-in (tests); imported on first use when None.
        """
        self.platform = platform
        self._env = os.environ if env is None else env
        self.exec_args: tuple[str, ...] = tuple(exec_args) if exec_args else default_exec_args()
        self._registry = registry

    def __repr__(self) -> str:
        return f"Autostart(platform={self.platform!r}, exec_args={self.exec_args!r})"

    @property
    def path(self) -> Path | None:
        """The file that holds the login entry, or None on Windows (the registry does).

        Raises:
            AutostartError: if there is no home directory to put it in.
        """
        if self.platform == "win32":
            return None
        if self.platform == "darwin":
            return self._home() / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        config = self._env.get("XDG_CONFIG_HOME", "")
        # The XDG Base Directory spec: a relative path is invalid and must be ignored.
        base = Path(config) if config and os.path.isabs(config) else self._home() / ".config"
        return base / "autostart" / DESKTOP_FILE_NAME

    def content(self) -> str:
        """What :meth:`enable` writes (the file's text, or the Run command on Windows)."""
        if self.platform == "win32":
            return windows_run_entry(self.exec_args)[2]
        if self.platform == "darwin":
            return macos_launch_agent(self.exec_args)
        return desktop_entry([*self.exec_args, BACKGROUND_FLAG], autostart=True)

    def enable(self) -> None:
        """Start ccdesk at login from now on (replacing an older entry).

        Raises:
            AutostartError: if the entry cannot be written.
        """
        if self.platform == "win32":
            self._set_run_value()
        else:
            path = self._file()
            _write_atomically(path, self.content())
        logger.info("start at login enabled (%s)", self._where())

    def disable(self) -> None:
        """Stop starting ccdesk at login. Fine if it was not enabled.

        Raises:
            AutostartError: if the entry exists but cannot be removed.
        """
        if self.platform == "win32":
            self._delete_run_value()
        else:
            path = self._file()
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise AutostartError(f"could not remove the login entry {path}: {_why(exc)}") from None
        logger.info("start at login disabled (%s)", self._where())

    def is_enabled(self) -> bool:
        """True if a login entry for ccdesk exists (and is not switched off inside the file).

        Raises:
            AutostartError: if the entry cannot be read.
        """
        if self.platform == "win32":
            return self._query_run_value() is not None
        path = self._file()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise AutostartError(f"could not read the login entry {path}: {_why(exc)}") from None
        if self.platform == "darwin":
            return True
        # Desktops skip entries marked Hidden=true, and GNOME those with autostart disabled.
        switched_off = {"hidden=true", "x-gnome-autostart-enabled=false"}
        return not any(line.strip().replace(" ", "").lower() in switched_off for line in text.splitlines())

    # --- helpers ---

    def _where(self) -> str:
        return (
            f"HKCU\\{WINDOWS_RUN_KEY}\\{WINDOWS_VALUE_NAME}" if self.platform == "win32" else str(self.path)
        )

    def _home(self) -> Path:
        home = self._env.get("HOME", "")
        if home and os.path.isabs(home):
            return Path(home)
        try:
            return Path.home()
        except RuntimeError:
            raise AutostartError("there is no home directory to put the login entry in") from None

    def _file(self) -> Path:
        path = self.path
        assert path is not None  # not on Windows
        return path

    def _winreg(self) -> Any:
        if self._registry is None:
            try:
                self._registry = importlib.import_module("winreg")
            except ImportError:
                raise AutostartError("the Windows registry is not available on this system") from None
        return self._registry

    def _set_run_value(self) -> None:
        reg = self._winreg()
        key_path, name, command = windows_run_entry(self.exec_args)
        try:
            with reg.CreateKeyEx(reg.HKEY_CURRENT_USER, key_path, 0, reg.KEY_SET_VALUE) as key:
                reg.SetValueEx(key, name, 0, reg.REG_SZ, command)
        except OSError as exc:
            raise AutostartError(f"could not write the login entry to the registry: {_why(exc)}") from None

    def _delete_run_value(self) -> None:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, WINDOWS_VALUE_NAME)
        except FileNotFoundError:
            return  # no Run key, or no value in it: nothing to remove
        except OSError as exc:
            raise AutostartError(f"could not remove the login entry from the registry: {_why(exc)}") from None

    def _query_run_value(self) -> str | None:
        reg = self._winreg()
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, reg.KEY_QUERY_VALUE) as key:
                value, _kind = reg.QueryValueEx(key, WINDOWS_VALUE_NAME)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AutostartError(f"could not read the login entry from the registry: {_why(exc)}") from None
        return str(value)


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise AutostartError(f"could not write the login entry {path}: {_why(exc)}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
