"""The settings file: a :class:`~ccdesk.core.settings_codec.KeyValueStore` over an INI-format QSettings.

The file lives in the user's config location (``~/.config/ccdesk/ccdesk.ini`` on Linux,
``%APPDATA%\\ccdesk\\ccdesk.ini`` on Windows, ``~/Library/Preferences/ccdesk/ccdesk.ini`` on macOS).
Its base name is the application name (``CCDESK_APP_NAME``, ``ccdesk-test`` in tests), so tests
never read or write the user's real settings. The Qt layer keeps its own values in the same file
under other keys (``window/geometry``, base64).

Three things QSettings does on its own are worked around here, each where it happens:

* It reads a hand-written line such as ``rules=[{"kind": "move", "pct": 2}]`` as a list of strings
  (split at the commas, quotes dropped), and any later write puts that list back, mangled, even
  if nobody changed the key. Such a line is read, and written back, as written (:meth:`_as_written`).
* It drops the lines it cannot parse at the next write: a copy of the file is kept first.
* Its ``status()`` keeps the first error it met for good, so it cannot say whether one ``sync()``
  wrote the file: :meth:`QtSettingsStore.sync` looks at the file itself.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PySide6.QtCore import QByteArray, QSettings

from ccdesk.core.identity import app_name_from_env
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import (
    SettingsFault,
    SettingsFileProblem,
    SettingsProblem,
    load_settings,
    save_settings,
)

logger = logging.getLogger(__name__)

ORGANIZATION = "ccdesk"

COPY_SUFFIX: Final = ".unreadable"
"""A file with lines that cannot be read is copied to its name plus this before it is written."""

_FileId = tuple[int, int, int, int, int]


class QtSettingsStore:
    """String values in an INI file through QSettings; never raises on reading or writing.

    QSettings writes atomically (a temporary file and a rename) and only on :meth:`sync` or when
    the object goes away. A file that exists but cannot be read is never written (the changes are
    kept in memory and :meth:`sync` says so). Use it from the GUI thread only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        app_name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Open the settings file (created on the first write).

        A file with lines that cannot be read is copied (:data:`COPY_SUFFIX`) right away: the first
        write drops those lines, and it may come from anywhere (a window geometry save).

        Args:
            path: An explicit INI file (tests). By default the user-scope INI file named after
                the application in the user's config location.
            app_name: The application name; :func:`~ccdesk.core.identity.app_name_from_env` when None.
            env: The environment for the default app name; ``os.environ`` when None.
        """
        if path is not None:
            self._qs = QSettings(os.fspath(path), QSettings.Format.IniFormat)
        else:
            name = app_name or app_name_from_env(os.environ if env is None else env)
            self._qs = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, name)
        # Read this one file only: no organization-wide or system-wide (/etc/xdg) fallbacks.
        self._qs.setFallbacksEnabled(False)
        # Keys set or removed through this store: their value is ours, not a hand-written line.
        self._changed: set[str] = set()
        # Changes not yet synced, and the file as it was when they began (see sync()).
        self._dirty = False
        self._file_before: _FileId | None = None
        # Changes held in memory because the file could not be read (never written over).
        self._held: dict[str, str | None] = {}
        self._lines_of: _FileId | None = None
        self._lines: dict[str, str] = {}
        self._unreadable = False
        self._problems = self._check_file()

    @property
    def path(self) -> Path:
        """The INI file."""
        return Path(self._qs.fileName())

    def __repr__(self) -> str:
        return f"QtSettingsStore({str(self.path)!r})"

    def get(self, key: str) -> str | None:
        """The text stored under ``key``, or None. Odd types from a hand-edited file become text."""
        if not key:
            return None  # QSettings warns on an empty key
        if key in self._held:
            return self._held[key]
        value = self._qs.value(key)
        if key not in self._changed:
            written = self._as_written(key, value)
            if written is not None:
                return written
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list):
            # A list whose line this store could not read itself (see _as_written): its items.
            return ", ".join(str(item) for item in value)
        if isinstance(value, QByteArray):
            return bytes(value.data()).decode("utf-8", errors="replace")
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", errors="replace")
        return str(value)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` (text) under ``key``."""
        self._before_change()
        self._changed.add(key)
        if self._unreadable:
            self._held[key] = str(value)
        else:
            self._qs.setValue(key, str(value))

    def remove(self, key: str) -> None:
        """Remove ``key``; a missing key is fine."""
        if not key:
            return
        self._before_change()
        self._changed.add(key)
        if self._unreadable:
            self._held[key] = None
        else:
            self._qs.remove(key)

    def sync(self) -> SettingsFileProblem | None:
        """Write pending changes to the file now.

        Returns:
            None if they were written (or there were none); else a :class:`SettingsFileProblem`:
            ``NOT_WRITTEN`` when writing failed, ``UNREADABLE`` when the file could not be read
            and so is not written over. It is logged too.
        """
        dirty, before = self._dirty, self._file_before
        self._dirty, self._file_before = False, None
        if self._unreadable:
            if not dirty:
                return None
            logger.warning("not writing the settings file %s: it could not be read", self.path)
            return SettingsFileProblem(SettingsFault.UNREADABLE, str(self.path))
        self._qs.sync()
        if not dirty:
            return None
        # status() cannot tell (it keeps the first error met: a FormatError from reading hides a
        # failed write, and an AccessError stays after a later write succeeds). QSettings writes
        # pending changes to a new file renamed over the old one (atomic sync is its default), so
        # a write that happened, here or from its own deferred sync since, left a different file.
        after = _file_id(self.path)
        if after is None or after == before:
            logger.warning("could not write the settings file %s", self.path)
            return SettingsFileProblem(SettingsFault.NOT_WRITTEN, str(self.path))
        return None

    def problems(self) -> tuple[SettingsFileProblem, ...]:
        """Problems with the file as a whole, found when it was opened: unreadable, or lines that
        QSettings could not parse (with where the copy of the file is kept)."""
        return self._problems

    def load(self) -> tuple[Settings, tuple[SettingsProblem, ...]]:
        """Read the settings: :func:`~ccdesk.core.settings_codec.load_settings` (the file's own
        problems are :meth:`problems`)."""
        return load_settings(self)

    def save(self, settings: Settings, *, previous: Settings | None) -> SettingsFileProblem | None:
        """Write the settings and sync the file: :func:`~ccdesk.core.settings_codec.save_settings`."""
        return save_settings(self, settings, previous=previous)

    # -- the file itself ---------------------------------------------------------------------------

    def _check_file(self) -> tuple[SettingsFileProblem, ...]:
        status = self._qs.status()
        if status is QSettings.Status.AccessError or _cannot_open(self.path):
            # Defaults are in use; writing them would replace a file nobody has seen the content
            # of (QSettings would, for a symlink loop or a write-only file): hold changes instead.
            logger.warning("settings file %s cannot be read; using the defaults, not writing it", self.path)
            self._unreadable = True
            return (SettingsFileProblem(SettingsFault.UNREADABLE, str(self.path)),)
        if status is QSettings.Status.FormatError:
            return (SettingsFileProblem(SettingsFault.BAD_LINES, str(self.path), self._keep_copy()),)
        return ()

    def _keep_copy(self) -> str | None:
        copy = self.path.with_name(self.path.name + COPY_SUFFIX)
        try:
            shutil.copyfile(self.path, copy)
        except OSError as exc:
            logger.warning("settings file %s has unreadable lines; no copy kept (%s)", self.path, exc)
            return None
        logger.warning("settings file %s has unreadable lines; a copy is kept in %s", self.path, copy)
        return str(copy)

    def _before_change(self) -> None:
        if self._dirty:
            return
        self._dirty = True
        self._file_before = _file_id(self.path)
        if self._unreadable:
            return
        # QSettings writes every key back from its own reading of it: a hand-written line it read
        # as a list (or with its quotes dropped) would come back mangled from any write, even
        # one that never touched that key. Give those keys their text as written before anything
        # is written (QSettings may also write on its own, from a deferred sync).
        for key in self._qs.childKeys():
            if key and key not in self._changed:  # QSettings warns on an empty key (a line "=x")
                written = self._as_written(key, self._qs.value(key))
                if written is not None:
                    self._qs.setValue(key, written)

    def _as_written(self, key: str, value: object) -> str | None:
        """The text of ``key``'s line in the file if a person wrote it in a form QSettings does
        not write (and so misreads); None if QSettings' own reading is right.

        QSettings never writes a bare comma (it puts the whole value in quotes), nor a bare ``"``
        other than a pair around the whole value (it writes ``\\"``). A line with either was
        written by hand, and its text means what it says: JSON, a URL, a comma list.
        """
        if not isinstance(value, str | list):
            return None
        raw = self._general_lines().get(key)
        line = None if raw is None else _read_line(raw)
        if line is None or not line.hand_written:
            return None
        # Only if this is the line QSettings read (not an earlier duplicate of the key, a line
        # continued on the next, or a file changed on disk since): same items as its reading.
        read = value if isinstance(value, list) else [value]
        if [item.strip() for item in line.items] != [str(item).strip() for item in read]:
            return None
        return line.text

    def _general_lines(self) -> dict[str, str]:
        """The raw value text of each key in the file's top-level (``[General]``) section."""
        now = _file_id(self.path)
        if now != self._lines_of or now is None:
            self._lines_of, self._lines = now, _general_lines(self.path)
        return self._lines


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    """The value as written, without a trailing ``; comment`` or blanks around it."""
    items: list[str]
    """What QSettings makes of it (one item unless it has bare commas)."""
    hand_written: bool
    """It has a bare comma, or a bare quote other than a pair around the whole value."""


# QSettings' INI escapes; any other backslash pair it drops altogether.
_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "'": "'",
    "?": "?",
    "\\": "\\",
}


def _read_line(raw: str) -> _Line | None:
    """Read one INI value as QSettings does; None for forms this does not follow (then QSettings'
    reading stands): ``@`` values (``@ByteArray(...)``), hex and octal escapes, a line continued
    on the next (a trailing backslash, or a quote left open)."""
    text = raw.strip()
    if text.startswith("@"):
        return None
    items: list[str] = []
    current: list[str] = []
    quotes: list[int] = []
    quoted = False
    end = len(text)
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            escaped = text[i + 1 : i + 2]
            if not escaped or escaped == "x" or escaped.isdigit():
                return None
            current.append(_ESCAPES.get(escaped, ""))
            i += 2
        elif ch == '"':
            quotes.append(i)
            quoted = not quoted
            i += 1
            if not quoted:  # QSettings skips the blanks after a closing quote
                while i < len(text) and text[i] in " \t":
                    i += 1
        elif ch == ";" and not quoted:
            end = i
            break
        elif ch == "," and not quoted:
            items.append("".join(current))
            current = []
            i += 1
        else:
            current.append(ch)
            i += 1
    if quoted:
        return None
    items.append("".join(current))
    text = text[:end].rstrip()
    hand_written = len(items) > 1 or quotes not in ([], [0, len(text) - 1])
    return _Line(text, items, hand_written)


_SECTION: Final = re.compile(r"\s*\[([^\]]*)\]")


def _general_lines(path: Path) -> dict[str, str]:
    """Each key's raw value text in the top-level section: the lines before any section header and
    those under ``[General]`` (QSettings reads the name in any case); the last line of a key wins,
    as in QSettings."""
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    lines: dict[str, str] = {}
    top_level = True
    for line in re.split(r"\r\n|\r|\n", data.decode("utf-8", errors="replace")):
        section = _SECTION.match(line)
        if section:
            top_level = section.group(1).strip().lower() == "general"
        elif top_level and "=" in line and not line.lstrip().startswith(";"):
            key, _, value = line.partition("=")
            lines[key.strip()] = value
    return lines


def _file_id(path: Path) -> _FileId | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _cannot_open(path: Path) -> bool:
    """True if something is at ``path`` but it cannot be read as a file (a folder, a symlink loop,
    no permission); a missing file (or a missing folder on the way) is fine: nothing to lose."""
    try:
        with open(path, "rb"):
            pass
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return False
