"""The settings file: a :class:`~ccdesk.core.settings.KeyValueStore` over an INI-format QSettings.

The file lives in the user's config location (``~/.config/ccdesk/ccdesk.ini`` on Linux,
``%APPDATA%\\ccdesk\\ccdesk.ini`` on Windows, ``~/Library/Preferences/ccdesk/ccdesk.ini`` on macOS).
Its base name is the application name (``CCDESK_APP_NAME``, ``ccdesk-test`` in tests), so tests
never read or write the user's real settings. The Qt layer keeps its own values in the same file
under other keys (``window/geometry``, base64).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from ccdesk.core.identity import app_name_from_env
from ccdesk.core.settings import Settings
from ccdesk.core.settings_codec import SettingsProblem, load_settings, save_settings

logger = logging.getLogger(__name__)

ORGANIZATION = "ccdesk"


class QtSettingsStore:
    """String values in an INI file through QSettings; never raises on reading.

    QSettings writes atomically (a temporary file and a rename) and only on :meth:`sync` or when
    the object goes away. Use it from the GUI thread only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        app_name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Open the settings file (created on the first write).

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
        value = self._qs.value(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list):
            # ``a, b`` without quotes reads back as a list: give back the text as written.
            return ", ".join(str(item) for item in value)
        if isinstance(value, QByteArray):
            return bytes(value.data()).decode("utf-8", errors="replace")
        if isinstance(value, bytes | bytearray):
            return bytes(value).decode("utf-8", errors="replace")
        return str(value)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` (text) under ``key``."""
        self._qs.setValue(key, str(value))

    def remove(self, key: str) -> None:
        """Remove ``key``; a missing key is fine."""
        if key:
            self._qs.remove(key)

    def sync(self) -> None:
        """Write pending changes to the file now; failures are logged (see :meth:`problems`)."""
        self._qs.sync()
        if self._qs.status() is QSettings.Status.AccessError:
            logger.warning("could not write the settings file %s", self.path)

    def problems(self) -> tuple[SettingsProblem, ...]:
        """Problems with the file as a whole: unreadable, or lines QSettings could not parse."""
        status = self._qs.status()
        if status is QSettings.Status.FormatError:
            return (SettingsProblem("file", "format error; unreadable lines ignored"),)
        if status is QSettings.Status.AccessError:
            return (SettingsProblem("file", "cannot be read or written"),)
        return ()

    def load(self) -> tuple[Settings, tuple[SettingsProblem, ...]]:
        """Read the settings: :func:`~ccdesk.core.settings.load_settings` plus the file's own problems."""
        file_problems = self.problems()
        for problem in file_problems:
            logger.warning("settings file %s: %s", self.path, problem)
        settings, problems = load_settings(self)
        return settings, file_problems + problems

    def save(self, settings: Settings) -> None:
        """Write the settings and sync the file."""
        save_settings(self, settings)
