"""`kpopcam` with no command: the desktop app. The window is up at once; torch and the models
load in a pool thread while the fan looks around."""

from __future__ import annotations

import logging
import os
import sys
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kpopcam.settings import Settings


def run_app(args=None) -> int:
    if not _has_display():
        print("kpopcam: no screen to open the window on (no DISPLAY or WAYLAND_DISPLAY). "
              "Run it from the desktop, or use the commands: kpopcam --help", file=sys.stderr)
        return 2
    from kpopcam.commands.common import open_gallery
    from kpopcam.gui.main_window import MainWindow
    from kpopcam.stars import GalleryError, StarGallery

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = getattr(args, "settings", None) or Settings.load()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kpopcam")
    app.setOrganizationName("kpopcam")
    gallery_error = None
    try:
        gallery = open_gallery(args) if args is not None else _default_gallery(settings)
    except (GalleryError, OSError) as exc:
        import tempfile
        from pathlib import Path

        gallery_error = exc
        gallery = StarGallery(Path(tempfile.mkdtemp()) / "stars.sqlite",
                              embedder=settings.identity.weights)
    window = MainWindow(settings, gallery, getattr(args, "config", None))
    install_excepthook(window)
    if gallery_error is not None:
        window.show_error(f"Your star gallery could not be opened: {gallery_error}. Stars "
                          "enrolled now are not kept.",
                          "".join(traceback.format_exception(gallery_error)))
    window.show()
    QTimer.singleShot(0, window.start_background_work)
    return app.exec()


def _has_display() -> bool:
    """Qt aborts the process when it has no screen; say so instead (Linux only: other
    systems always have one)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _default_gallery(settings: Settings):
    from kpopcam.settings import data_dir
    from kpopcam.stars import StarGallery

    return StarGallery(data_dir() / "stars.sqlite", embedder=settings.identity.weights,
                       threshold=settings.identity.match_threshold)


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
