"""Dialogs shown when the settings cannot be used as the window starts: a settings file with a
mistake (open it to fix it, start with the default settings, or quit), and a capture folder
that cannot be used (use the default folder, or quit)."""

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


def capture_folder_box(error: Exception, default: Path, parent=None) -> QMessageBox:
    text = str(error)
    box = QMessageBox(QMessageBox.Icon.Warning, "kpopcam: capture folder",
                      text[:1].upper() + text[1:], parent=parent)
    box.setInformativeText(f"Save portraits in {default} instead? (capture.folder in your "
                           "settings is set to it when you close the window)")
    use = box.addButton("Use that folder", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(use)
    return box


def settings_with_usable_capture_folder(settings: Settings) -> Settings | None:
    """settings, or with the default capture folder when theirs cannot be used and the fan
    agrees; None: quit."""
    from kpopcam.captures import CaptureError, CaptureStore

    try:
        CaptureStore(settings.capture.path).close()
        return settings
    except CaptureError as exc:
        if not settings.capture.folder:
            box = QMessageBox(QMessageBox.Icon.Critical, "kpopcam: capture folder", str(exc))
            box.exec()
            return None
        default = settings.updated({"capture": {"folder": ""}})
        box = capture_folder_box(exc, default.capture.path)
        box.exec()
        if box.clickedButton() is not box.defaultButton():
            return None
        return settings_with_usable_capture_folder(default)
