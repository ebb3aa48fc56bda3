"""Saved portraits as a phone's gallery shows them: face cards grouped by day and watch run,
a star filter of face chips, emotion, date and favourites filters, a card size slider; the
viewer; favourites; delete with undo; export that says where it wrote.

The grid (gallery_grid.py) paints only the cards on screen and thumbnails are made in pool
threads (thumbnails.py), so tens of thousands of captures neither freeze the window nor fill
memory."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kpopcam.captures import Capture, CaptureError, CaptureStore
from kpopcam.gui.gallery_grid import SIDES, GalleryGrid
from kpopcam.gui.star_chips import StarChips
from kpopcam.gui.thumbnails import BUCKETS, cache_path
from kpopcam.gui.viewer import CaptureViewer
from kpopcam.types import EMOTIONS

DATES = (("Any date", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))
UNDO_S = 10  # how long a delete can be undone; then the files go for good
EXPORT_NOTICE_S = 20


def open_in_file_manager(folder: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class NoticeBar(QFrame):
    """One line with an action button (Undo, Open folder), gone after some seconds."""

    expired = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setStyleSheet("#noticeBar {background:#2b2b33; border-radius:6px;} "
                           "#noticeBar QLabel {color:#f2f2f7;}")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton()
        close = QPushButton("✕")
        close.setFixedWidth(28)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.finish)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.action)
        layout.addWidget(close)
        self.timer = QTimer(self, singleShot=True)
        self.timer.timeout.connect(self.finish)
        self._slot = None
        self.hide()

    def show_notice(self, text: str, action: str, slot, seconds: float) -> None:
        self.finish()  # the notice before ends first (its undo is no longer offered)
        self.label.setText(text)
        self.action.setText(action)
        self._slot = slot
        self.action.clicked.connect(slot)
        self.timer.start(int(seconds * 1000))
        self.show()

    def finish(self) -> None:
        """Hide; `expired` tells that the action is no longer offered."""
        if self._slot is None:
            return
        self.timer.stop()
        self.action.clicked.disconnect(self._slot)
        self._slot = None
        self.hide()
        self.expired.emit()

    @property
    def text(self) -> str:
        return self.label.text() if self._slot is not None else ""


class EmptyState(QWidget):
    """What to do next, where the grid would be empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.title.setFont(font)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setFixedWidth(520)  # a wrapped label placed by alignment gets no height
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 5)
        self.button = QPushButton()
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for w in (self.title, self.text, self.button):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
            if isinstance(w, QLabel):
                w.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
        self._slot = None

    def say(self, title: str, text: str, button: str, slot) -> None:
        self.title.setText(title)
        self.text.setText(text)
        if self._slot is not None:
            self.button.clicked.disconnect(self._slot)
        self._slot = slot
        self.button.clicked.connect(slot)
        self.button.setText(button)


class GalleryPanel(QWidget):
    message = Signal(str, str, str)  # text, details, kind
    go_to_tab = Signal(int)  # 0 live, 1 stars

    def __init__(self, folder: Path, stars=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.store: CaptureStore | None = None
        self.star_gallery = stars  # kpopcam.stars.StarGallery: the faces of the chips
        self.viewer: CaptureViewer | None = None
        self._trashed: list[int] = []  # the last delete, while it can be undone
        self._trashed_thumbs: list[Path] = []  # their cached thumbnails, gone with them

        self.chips = StarChips()
        self.chips.changed.connect(self.refresh)
        self.emotion = QComboBox()
        self.emotion.setAccessibleName("Filter by emotion")
        self.emotion.addItem("Any emotion", None)
        for e in EMOTIONS:
            self.emotion.addItem(e, e)
        self.date = QComboBox()
        self.date.setAccessibleName("Filter by date")
        for text, days in DATES:
            self.date.addItem(text, days)
        self.favourites = QPushButton("♥ &Favourites")
        self.favourites.setCheckable(True)
        self.favourites.setToolTip("Show only your favourites")
        self.favourites.toggled.connect(self.refresh)
        self.card_size = QSlider(Qt.Orientation.Horizontal)
        self.card_size.setRange(*SIDES)
        self.card_size.setSingleStep(8)
        self.card_size.setPageStep(40)
        self.card_size.setValue(180)
        self.card_size.setFixedWidth(140)
        self.card_size.setAccessibleName("Card size")
        self.card_size.setToolTip("Card size (or Ctrl and the mouse wheel on the cards)")
        self.count = QLabel()
        filters = QHBoxLayout()
        for label, combo in (("&Emotion", self.emotion), ("&Date", self.date)):
            text = QLabel(label)
            text.setBuddy(combo)
            filters.addWidget(text)
            filters.addWidget(combo)
            combo.currentIndexChanged.connect(self.refresh)
        filters.addWidget(self.favourites)
        filters.addStretch(1)
        filters.addWidget(self.count)
        filters.addSpacing(12)
        filters.addWidget(QLabel("Size"))
        filters.addWidget(self.card_size)

        self.grid = GalleryGrid()
        self.card_size.valueChanged.connect(self.grid.set_side)
        self.grid.set_side(self.card_size.value())
        self.grid.activated.connect(self.open_capture)
        self.grid.selection_changed.connect(self._selection_changed)
        self.grid.delete_requested.connect(self.delete_selected)
        self.grid.resize_requested.connect(self.card_size.setValue)
        self.empty = EmptyState()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.grid)
        self.pages.addWidget(self.empty)
        self.notice = NoticeBar()
        self.notice.expired.connect(self._purge)

        self.open_button = QPushButton("&View")
        self.favourite_button = QPushButton("♡ Favo&urite")
        self.delete_button = QPushButton("De&lete")
        self.export_button = QPushButton("E&xport…")
        self.folder_button = QPushButton("Open &folder")
        self.open_button.clicked.connect(lambda: self.open_capture(self.grid.current))
        self.favourite_button.clicked.connect(self.toggle_favourite)
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_selected)
        self.folder_button.clicked.connect(self.open_folder)
        actions = QHBoxLayout()
        for b in (self.open_button, self.favourite_button, self.delete_button,
                  self.export_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.folder_button)
        QShortcut(QKeySequence.StandardKey.Undo, self, self.undo_delete)

        layout = QVBoxLayout(self)
        layout.addWidget(self.chips)
        layout.addLayout(filters)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.notice)
        layout.addLayout(actions)
        self.set_folder(folder)

    @property
    def view(self) -> GalleryGrid:
        """What takes the keyboard when the tab is shown."""
        return self.grid

    # -- data ----------------------------------------------------------------------------------

    def set_folder(self, folder: Path) -> None:
        """Show another capture folder; one that cannot be used is said in the message bar
        and the gallery keeps showing the folder it had."""
        if self.store is not None and self.store.folder == Path(folder):
            return
        try:
            store = CaptureStore(folder)
        except CaptureError as exc:
            self.message.emit(str(exc).capitalize(), "", "error")
            return
        if self.store is not None:
            self.notice.finish()
            self.store.close()
            self.grid.forget_all()
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        if self.store is None:  # no usable folder yet: an empty grid
            self.grid.set_captures([])
            self._show_count()
            return
        self.refresh_stars()
        captures = self.store.rows(star=self.chips.current(), emotion=self.emotion.currentData(),
                                   since=self._since(), favourites=self.favourites.isChecked())
        self.grid.set_captures(captures)
        self._show_count()

    def refresh_stars(self, captured_names: list[str] | None = None) -> None:
        """The chips: enrolled stars with their face, then stars with captures only (from
        the index, or `captured_names` when the caller knows them)."""
        enrolled = [] if self.star_gallery is None else [
            (s.name, s.thumbnail) for s in self.star_gallery.stars()]
        known = {name for name, _ in enrolled}
        if captured_names is None:
            captured_names = [] if self.store is None else self.store.stars()
        captured = [(s, None) for s in captured_names if s not in known]
        hint = "" if enrolled else ("No stars enrolled yet: enrol your star in the Stars tab "
                                    "(Ctrl+2) and choose them here by face.")
        if [n for n, _ in enrolled + captured] != self.chips.names() or hint != \
                self.chips.hint.text():
            self.chips.blockSignals(True)
            self.chips.set_stars(enrolled + captured, hint)
            self.chips.blockSignals(False)

    def set_star(self, name: str | None) -> bool:
        return self.chips.set_current(name)

    def add_capture(self, capture: Capture) -> None:
        """A capture saved this run: added on top (no listing again) when the filters let it
        through; its star joins the chips."""
        if self.store is None or capture.folder != self.store.folder:
            return
        if capture.star not in self.chips.names():
            self.refresh_stars(sorted({*self.chips.names(), capture.star}, key=str.casefold))
        since = self._since()
        if (self.chips.current() in (None, capture.star)
                and self.emotion.currentData() in (None, capture.emotion)
                and not self.favourites.isChecked()
                and (since is None or capture.taken >= since)):
            self.grid.prepend(capture)
            self._show_count()

    def _since(self) -> float | None:
        days = self.date.currentData()
        if days is None:
            return None
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - timedelta(days=days)).timestamp()

    def _filtered(self) -> bool:
        return (self.chips.current() is not None or self.emotion.currentData() is not None
                or self.date.currentData() is not None or self.favourites.isChecked())

    def clear_filters(self) -> None:
        for w in (self.chips, self.emotion, self.date, self.favourites):
            w.blockSignals(True)
        self.chips.set_current(None)
        self.emotion.setCurrentIndex(0)
        self.date.setCurrentIndex(0)
        self.favourites.setChecked(False)
        for w in (self.chips, self.emotion, self.date, self.favourites):
            w.blockSignals(False)
        self.refresh()

    def _show_count(self) -> None:
        total = len(self.grid.captures)
        self.count.setText(f"{total} portrait{'s' if total != 1 else ''}")
        self._selection_changed()
        if total:
            self.pages.setCurrentWidget(self.grid)
            return
        self.pages.setCurrentWidget(self.empty)
        if self.store is None:
            self.empty.say("No capture folder", "The capture folder cannot be used. Choose "
                           "another one in the settings.", "Go to Live", lambda: None)
        elif self._filtered():
            self.empty.say("Nothing matches these filters", self._filter_words(),
                           "Clear filters", self.clear_filters)
        else:
            self.empty.say("No portraits yet",
                           "Enrol your star in Stars (Ctrl+2), then pick a source in Live "
                           "(Ctrl+1), choose the star and an emotion and press Start: each "
                           "moment your star shows it is saved here as a portrait.",
                           "Go to Live", lambda: self.go_to_tab.emit(0))

    def _filter_words(self) -> str:
        parts = ["favourite portraits" if self.favourites.isChecked() else "portraits"]
        if (star := self.chips.current()) is not None:
            parts.append(f"of {star}")
        if (emotion := self.emotion.currentData()) is not None:
            parts.append(f"looking {emotion}")
        if self.date.currentData() is not None:
            parts.append(self.date.currentText().lower())
        text = f"No {' '.join(parts)}."
        if self.favourites.isChecked():
            text += " Mark a portrait with ♡ Favourite (here or in the viewer) to keep it here."
        return text + " Clear the filters to see every portrait."

    def selected(self) -> list[Capture]:
        return self.grid.selected_captures()

    def _selection_changed(self) -> None:
        chosen = self.selected()
        for b in (self.open_button, self.favourite_button, self.delete_button,
                  self.export_button):
            b.setEnabled(bool(chosen))
        every = bool(chosen) and all(c.favourite for c in chosen)
        self.favourite_button.setText("♥ Favo&urite" if every else "♡ Favo&urite")

    # -- actions -------------------------------------------------------------------------------

    def open_capture(self, index: int) -> None:
        if not 0 <= index < len(self.grid.captures):
            return
        self.viewer = CaptureViewer(self.grid.captures, index, self)
        self.viewer.set_thumbnails({c.id: p for c in self.grid.captures[
            max(0, index - 5):index + 6] if (p := self.grid.thumbnail(c.id)) is not None})
        self.viewer.favourite_changed.connect(self._set_favourites)
        self.viewer.delete_requested.connect(lambda i: self._trash([i]))
        self.viewer.finished.connect(lambda _r: self.grid.setFocus())
        self.viewer.open()

    def open_capture_id(self, capture_id: int) -> bool:
        """The viewer on this capture among the grid's; False if the grid does not show it."""
        index = self.grid.captures.index_of(capture_id)
        if index >= 0:
            self.open_capture(index)
        return index >= 0

    def toggle_favourite(self) -> None:
        chosen = self.selected()
        if chosen:
            on = not all(c.favourite for c in chosen)
            for c in chosen:
                self._set_favourites(c.id, on)

    def _set_favourites(self, capture_id: int, on: bool) -> None:
        self.store.set_favourite(capture_id, on)
        rows = self.grid.captures
        i = rows.index_of(capture_id)
        if i < 0:
            return
        rows = rows.replaced(replace(rows[i], favourite=on))
        if self.favourites.isChecked() and not on:
            rows = rows.without({capture_id})
        self.grid.set_captures(rows)
        self._show_count()

    def delete_selected(self) -> None:
        chosen = self.selected()
        if chosen:
            self._trash([c.id for c in chosen])

    def _trash(self, ids: list[int]) -> None:
        self.notice.finish()  # the delete before can no longer be undone
        try:
            done = self.store.trash(ids)
        except OSError as exc:
            self.message.emit("The portraits could not be deleted", str(exc), "error")
            self.refresh()
            return
        gone = set(done)
        rows = self.grid.captures
        self._trashed_thumbs = [cache_path(rows[i], b) for i, x in enumerate(rows.column("id"))
                                if x in gone for b in BUCKETS]
        self.grid.set_captures(rows.without(gone))
        self.grid.forget(gone)
        self._show_count()
        self.refresh_stars()
        self._trashed = done
        n = len(done)
        self.notice.show_notice(f"Deleted {n} portrait{'s' if n != 1 else ''}.", "&Undo",
                                self.undo_delete, UNDO_S)

    def undo_delete(self) -> None:
        if not self._trashed or self.store is None:
            return
        ids, self._trashed, self._trashed_thumbs = self._trashed, [], []
        self.store.restore(ids)
        self.notice.finish()
        self.refresh()
        self.message.emit(f"Restored {len(ids)} portrait{'s' if len(ids) != 1 else ''}.", "",
                          "info")

    def _purge(self) -> None:
        """The undo is gone: what the last delete moved to the trash goes for good."""
        self._trashed = []
        if self.store is not None:
            self.store.purge_trash()
        for path in self._trashed_thumbs:
            path.unlink(missing_ok=True)
        self._trashed_thumbs = []

    def export_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export portraits to")
        if not folder:
            return
        folder = Path(folder)
        try:
            for c in chosen:
                shutil.copy2(c.portrait, folder / c.portrait.name)
                shutil.copy2(c.original, folder / c.original.name)
        except OSError as exc:
            self.message.emit("Export failed", str(exc), "error")
            return
        n = len(chosen)
        self.notice.show_notice(
            f"Exported {n} portrait{'s' if n != 1 else ''} with {'its' if n == 1 else 'their'}"
            f" original{'s' if n != 1 else ''} to {folder}", "Open &folder",
            lambda: open_in_file_manager(folder), EXPORT_NOTICE_S)

    def open_folder(self) -> None:
        if self.store is not None:
            open_in_file_manager(self.store.folder)

    def finish_pending(self) -> None:
        """The window closes: a delete still offered for undo goes for good now."""
        self.notice.finish()


__all__ = ["GalleryPanel", "NoticeBar", "open_in_file_manager"]
