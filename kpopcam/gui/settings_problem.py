"""The dialog shown when the settings file cannot be used as the window starts: open the file
to fix it, start with the default settings (the file is kept as it is), or quit."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from kpopcam.settings import Settings, SettingsError

OPEN, RETRY, DEFAULTS, QUIT = "open", "retry", "defaults", "quit"


def settings_problem_box(error: SettingsError, path: Path, opened: bool = False,
                         parent=None) -> QMessageBox:
    """The question, its buttons named by what they do (their `choice` property)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "kpopcam: settings",
                      f"Your settings file cannot be used:\n\n{error}", parent=parent)
    box.setInformativeText(
        f"Fix {path} in the editor, save it, then press Try again."
        if opened else
        "Open it to fix it, or start with the default settings (your file is left as it is).")
    first = (RETRY, "Try again") if opened else (OPEN, "Open settings file")
    for choice, text, role in (
        (*first, QMessageBox.ButtonRole.ActionRole),
        (DEFAULTS, "Start with defaults", QMessageBox.ButtonRole.AcceptRole),
        (QUIT, "Quit", QMessageBox.ButtonRole.RejectRole),
    ):
        button = box.addButton(text, role)
        button.setProperty("choice", choice)
        if choice in (DEFAULTS, RETRY):
            box.setDefaultButton(button)
    return box


def settings_after_problem(error: SettingsError, path: Path,
                           overrides: list[str]) -> Settings | None:
    """Asks until the fan has settings to start with: the fixed file's, the defaults, or None
    (quit). The broken file is never written over."""
    opened = False
    while True:
        box = settings_problem_box(error, path, opened)
        box.exec()
        clicked = box.clickedButton()
        choice = clicked.property("choice") if clicked else QUIT
        if choice == QUIT:
            return None
        if choice == DEFAULTS:
            return _defaults(overrides)
        if choice == OPEN:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
            opened = True
            continue
        try:
            return Settings.load(path).with_overrides(overrides)
        except SettingsError as again:
            error = again


def _defaults(overrides: list[str]) -> Settings:
    try:
        return Settings().with_overrides(overrides)
    except SettingsError:
        return Settings()
