"""A settings file that cannot be used when the window starts: a dialog, not a line on a
terminal the fan may not have, and the fan's file is never written over."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from kpopcam.cli import main
from kpopcam.gui.settings_problem import settings_after_problem, settings_problem_box
from kpopcam.settings import Settings, SettingsError

BROKEN = "[trigger]\nhold_s = -1\n"


@pytest.fixture
def broken_config(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text(BROKEN, "utf-8")
    with pytest.raises(SettingsError) as error:
        Settings.load(config)
    return config, error.value


def click_when_shown(*texts: str) -> list[str]:
    """Clicks the buttons named, one in each dialog as it comes up; returns what each said."""
    seen, todo = [], list(texts)

    def click():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, click)
            return
        seen.append(box.text() + "\n" + box.informativeText())
        wanted = todo.pop(0)
        next(b for b in box.buttons() if b.text() == wanted).click()
        if todo:
            QTimer.singleShot(20, click)

    QTimer.singleShot(0, click)
    return seen


def test_the_dialog_names_the_key_the_file_and_the_ways_out(qtbot, broken_config):
    config, error = broken_config
    box = settings_problem_box(error, config)
    qtbot.addWidget(box)
    assert "trigger.hold_s must not be negative" in box.text() and str(config) in box.text()
    assert {b.text() for b in box.buttons()} == {"Open settings file", "Start with defaults",
                                                 "Quit"}
    assert box.defaultButton().text() == "Start with defaults"


def test_start_with_defaults_leaves_the_file_as_it_is(qtbot, broken_config):
    config, error = broken_config
    click_when_shown("Start with defaults")
    settings = settings_after_problem(error, config, ["trigger.star=Lisa"])
    assert settings.trigger.hold_s == Settings().trigger.hold_s
    assert settings.trigger.star == "Lisa"  # --set still applies
    assert config.read_text("utf-8") == BROKEN


def test_open_the_file_fix_it_and_try_again(qtbot, broken_config, monkeypatch):
    config, error = broken_config
    opened = []

    def editor(url):  # the fan's editor: opens the file, the fan fixes it
        opened.append(url.toLocalFile())
        config.write_text("[trigger]\nhold_s = 1.5\n", "utf-8")
        return True

    monkeypatch.setattr(QDesktopServices, "openUrl", editor)
    said = click_when_shown("Open settings file", "Try again")
    settings = settings_after_problem(error, config, [])
    assert opened == [str(config)]
    assert "press Try again" in said[1]
    assert settings.trigger.hold_s == 1.5


def test_quit_from_the_window_command(qtbot, broken_config, capsys):
    config, _ = broken_config
    click_when_shown("Quit")
    assert main(["--config", str(config)]) == 2
    assert config.read_text("utf-8") == BROKEN


def test_a_gallery_that_is_not_sqlite_gets_a_stand_in_and_is_left_alone(qtbot, tmp_path):
    from kpopcam.gui.app import open_gallery_or_stand_in

    notes = tmp_path / "stars.sqlite"
    notes.write_bytes(b"my notes, not a gallery\n" * 50)
    gallery, error = open_gallery_or_stand_in(notes, Settings())
    try:
        assert "not a kpopcam gallery" in str(error) and str(notes) in str(error)
        assert gallery.path != notes and gallery.stars() == []
    finally:
        gallery.close()
    assert notes.read_bytes() == b"my notes, not a gallery\n" * 50


def test_a_capture_folder_that_is_a_file_is_asked_about_not_a_crash(qtbot, tmp_path):
    from kpopcam.gui.settings_problem import settings_with_usable_capture_folder

    blocker = tmp_path / "portraits"
    blocker.write_text("mine", "utf-8")
    settings = Settings().updated({"capture": {"folder": str(blocker)}})
    usable = tmp_path / "usable"
    assert settings_with_usable_capture_folder(
        settings.updated({"capture": {"folder": str(usable)}})).capture.path == usable
    said = click_when_shown("Quit")
    assert settings_with_usable_capture_folder(settings) is None
    assert str(blocker) in said[0] and "it is a file, not a folder" in said[0]
    assert "Save portraits in" in said[0]
    assert blocker.read_text("utf-8") == "mine"
