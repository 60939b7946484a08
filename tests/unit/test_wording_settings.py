"""Words for the settings file's problems: at start-up and after a save that did not happen."""

from __future__ import annotations

from ccdesk.core.settings_codec import SettingsFault, SettingsFileProblem, SettingsProblem
from ccdesk.wording import settings_file_text, settings_not_saved_text, settings_notice_text

INI = "/home/u/.config/ccdesk/ccdesk.ini"


def test_bad_lines_say_where_the_copy_is_or_that_they_are_dropped():
    with_copy = SettingsFileProblem(SettingsFault.BAD_LINES, INI, INI + ".unreadable")
    assert settings_file_text(with_copy) == (
        f"Some lines of the settings file {INI} could not be read and were ignored. "
        f"A copy of the file as it was is in {INI}.unreadable."
    )
    assert settings_file_text(SettingsFileProblem(SettingsFault.BAD_LINES, INI)) == (
        f"Some lines of the settings file {INI} could not be read and were ignored. "
        "The next save leaves them out."
    )


def test_the_notice_puts_the_file_first_and_is_none_when_all_is_well():
    problems = (SettingsProblem("rules[1]", "invalid rule"), SettingsProblem("stale_after_s", "not a number"))
    assert settings_notice_text((), ()) is None
    assert settings_notice_text((SettingsFileProblem(SettingsFault.UNREADABLE, INI),), ()) == (
        f"The settings file {INI} could not be read, so ccdesk uses its defaults and will not save over it. "
        "Check that it is a readable file, or move it away."
    )
    assert settings_notice_text((), problems) == (
        "Some settings were invalid and were reset to their defaults: rules[1], stale_after_s. "
        "The settings file keeps what it says for them until you change them in Settings."
    )


def test_a_save_that_did_not_happen_says_why():
    assert settings_not_saved_text(SettingsFileProblem(SettingsFault.NOT_WRITTEN, INI)) == (
        f"Settings not saved: the settings file {INI} could not be written. "
        "The change holds until ccdesk quits."
    )
    assert settings_not_saved_text(SettingsFileProblem(SettingsFault.UNREADABLE, INI)) == (
        f"Settings not saved: the settings file {INI} could not be read when ccdesk started, and ccdesk "
        "does not write over a file it could not read. The change holds until ccdesk quits."
    )
