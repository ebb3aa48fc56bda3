"""A star gallery made with another face recogniser is embedded again once, in a pool thread,
while the window is up: a banner with a progress bar while it runs, then one message with what
changed. Nothing reads the fan's gallery until it is done; the pool thread hands back a frozen
GalleryMigrated and the GUI thread opens the migrated file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QWidget

from kpopcam.settings import Settings

UPDATING = "Updating your star gallery for the new face recogniser"
WAIT_REASON = (f"{UPDATING}: your stars are back once it is done (Start and enrolling wait "
               "for it).")
NAMES_SHOWN = 3


class MigrationCancelled(RuntimeError):
    """The window closed during the migration; the gallery was left as it was."""


@dataclass(frozen=True)
class GalleryMigrated:
    """What the migration did, handed from the pool thread to the GUI thread."""

    path: Path
    embedder: str
    updated: int  # faces embedded again
    from_thumbnails: int  # of them, from a small thumbnail (older galleries kept no crop)
    dropped: tuple[tuple[str, int], ...]  # (star, faces kept with no picture to embed from)
    backup: Path | None  # the gallery as it was


def migrate_in_pool(progress: Callable[[int, int, str], None], settings: Settings, path: Path,
                    cancel: threading.Event) -> GalleryMigrated:
    """Pool thread: load the new recogniser and embed every face of the gallery again (all or
    nothing: kpopcam.stars.migrate_gallery); progress(done, total, "") after each face."""
    from kpopcam.commands.common import make_embedder
    from kpopcam.stars import migrate_gallery

    def stop_if_closed() -> None:  # before the one write at the end: the file stays as it was
        if cancel.is_set():
            raise MigrationCancelled("the window closed; the star gallery was left as it was")

    def on_face(done: int, total: int) -> None:
        stop_if_closed()
        progress(done, total, "")

    progress(0, 0, "")
    embedder = make_embedder(settings)
    stop_if_closed()
    report = migrate_gallery(path, embedder, on_progress=on_face, flip=settings.identity.flip)
    return GalleryMigrated(path, report.embedder, report.from_crops + report.from_thumbnails,
                           report.from_thumbnails, tuple(sorted(report.dropped.items())),
                           report.backup)


def done_message(result: GalleryMigrated) -> tuple[str, str]:
    """One sentence for the message bar, and the details a click away."""
    faces = f"{result.updated} face{'s' if result.updated != 1 else ''}"
    text = f"Star gallery updated for the new face recogniser ({faces})"
    names = [name for name, _ in result.dropped]
    if names:
        shown = ", ".join(names[:NAMES_SHOWN])
        more = f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        text += f"; enrol {shown}{more} again (no picture kept)"
    if result.backup is not None:
        text += f"; old copy kept as {result.backup.name}"
    details = [f"The star gallery {result.path} now uses the {result.embedder} recogniser."]
    if result.backup is not None:
        details.append(f"The gallery as it was before is kept as {result.backup}.")
    if result.from_thumbnails:
        details.append(f"{result.from_thumbnails} of the faces were updated from small "
                       "thumbnails (kept by older kpopcam): enrolling those stars again from "
                       "photos makes them recognised more reliably.")
    details += [f"{name}: {count} face{'s' if count != 1 else ''} had no picture to update "
                f"from; enrol {name} again." for name, count in result.dropped]
    return text + ".", "\n".join(details)


def failed_message(message: str) -> str:
    """The reason last: a long one is cut from the bar's sentence (whole in the details)."""
    return (f"Your star gallery could not be updated for the new face recogniser and is "
            f"unchanged; stars enrolled now are not kept ({message}).")


class MigrationBanner(QFrame):
    """The words and a progress bar, at the top of the window while the gallery migrates."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("migrationBanner")
        self.setStyleSheet("#migrationBanner {background:#1d3a5a; border-radius:6px;} "
                           "QLabel {color:#e6f2ff;}")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setMinimumWidth(220)
        self.bar.setAccessibleName("Star gallery update")
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        self.hide()

    def begin(self) -> None:
        self.set_progress(0, 0)
        self.show()

    def set_progress(self, done: int, total: int, _text: str = "") -> None:
        if total:
            self.label.setText(f"{UPDATING}: {done} of {total} faces…")
            self.bar.setFormat("%v / %m")
        else:  # the recogniser is still loading: a busy bar
            self.label.setText(f"{UPDATING}: getting it ready…")
        self.bar.setRange(0, total)
        self.bar.setValue(done)


__all__ = ["GalleryMigrated", "MigrationBanner", "MigrationCancelled", "done_message",
           "failed_message", "migrate_in_pool"]
