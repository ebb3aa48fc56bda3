"""`kpopcam` with no command: the desktop app. The window is up at once; the models load in a
pool thread while the fan looks around."""

from __future__ import annotations

import logging
import os
import sys
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kpopcam.settings import Settings, SettingsError, default_path


def run_app(args=None, settings_error: SettingsError | None = None) -> int:
    """The window. settings_error: the settings file could not be used; a dialog offers to
    open it or to start with the defaults."""
    if not _has_display():
        print("kpopcam: no screen to open the window on (no DISPLAY or WAYLAND_DISPLAY). "
              "Run it from the desktop, or use the commands: kpopcam --help", file=sys.stderr)
        return 2

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kpopcam")
    app.setOrganizationName("kpopcam")
    config = getattr(args, "config", None)
    settings = _settings_for_window(args, settings_error)
    if settings is None:  # the fan chose to quit
        return 2
    window = make_window(getattr(args, "gallery", None), settings, config)
    install_excepthook(window)
    window.show()
    QTimer.singleShot(0, window.start_background_work)
    return app.exec()


def make_window(gallery_path, settings: Settings, config=None, **window_options):
    """The main window on the fan's gallery, or on a stand-in while theirs is migrated (once
    the window is up: start_background_work) or when it cannot be opened (said in the
    window)."""
    from kpopcam.gui.main_window import MainWindow
    from kpopcam.stars import GalleryNeedsMigration

    gallery, gallery_error = open_gallery_or_stand_in(gallery_path, settings)
    if isinstance(gallery_error, GalleryNeedsMigration):
        return MainWindow(settings, gallery, config, migration=gallery_error, **window_options)
    window = MainWindow(settings, gallery, config, **window_options)
    if gallery_error is not None:
        window.show_error(f"{gallery_error}; stars enrolled now are not kept.",
                          "".join(traceback.format_exception(gallery_error)))
    return window


def _settings_for_window(args, settings_error: SettingsError | None) -> Settings | None:
    """The settings to start with, after asking the fan about a settings file or a capture
    folder that cannot be used; None when the fan chose to quit."""
    from kpopcam.gui.settings_problem import (
        settings_after_problem,
        settings_with_usable_capture_folder,
    )

    if settings_error is not None:
        settings = settings_after_problem(
            settings_error, getattr(args, "config", None) or default_path(),
            getattr(args, "overrides", []))
    else:
        settings = getattr(args, "settings", None) or Settings.load()
    return None if settings is None else settings_with_usable_capture_folder(settings)


def open_gallery_or_stand_in(path, settings: Settings):
    """(the fan's star gallery, None), or (an empty one in a temporary folder, the error) when
    the fan's cannot be opened: the window starts either way and the fan's file is untouched.
    A gallery made with another face recogniser is not migrated here: the error is then
    GalleryNeedsMigration, and the window migrates it off the GUI thread."""
    import tempfile
    from pathlib import Path
    from types import SimpleNamespace

    from kpopcam.commands.common import open_gallery
    from kpopcam.stars import GalleryError, StarGallery

    try:
        return open_gallery(SimpleNamespace(gallery=path, settings=settings),
                            migrate_now=False), None
    except GalleryError as exc:
        stand_in = StarGallery(Path(tempfile.mkdtemp(prefix="kpopcam-")) / "stars.sqlite",
                               embedder=settings.identity.weights,
                               threshold=settings.identity.match_threshold,
                               margin=settings.identity.match_margin)
        return stand_in, exc


def _has_display() -> bool:
    """Qt aborts the process when it has no screen; say so instead (Linux only: other
    systems always have one)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def install_excepthook(window) -> None:
    """An error nobody caught shows in the window (details a click away), not only in the
    terminal."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        details = "".join(traceback.format_exception(kind, value, tb))
        logging.getLogger("kpopcam").error("unexpected error\n%s", details)
        try:
            window.show_error(f"Something went wrong: {value}", details)
        except Exception:  # the window itself is gone
            previous(kind, value, tb)

    sys.excepthook = hook
