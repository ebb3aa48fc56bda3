"""Saved portraits: a grid of thumbnails, newest first, filterable by star, emotion and date;
a large view switching between portrait and original; delete, open folder, export.

Thumbnails are decoded in pool threads and only for the cells on screen (the view asks for
them), so thousands of captures neither freeze the window nor fill memory."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    QUrl,
    Signal,
)
from PySide6.QtGui import QDesktopServices, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kpopcam.captures import Capture, CaptureError, CaptureStore
from kpopcam.gui.bridge import read_thumbnail
from kpopcam.types import EMOTIONS

THUMB = 160
CACHE = 600  # thumbnails kept in memory
DATES = (("Any date", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))


class _ThumbSignals(QObject):
    loaded = Signal(int, QImage)


class _ThumbJob(QRunnable):
    def __init__(self, capture_id: int, path: Path, signals: _ThumbSignals):
        super().__init__()
        self.capture_id, self.path, self.signals = capture_id, path, signals

    def run(self) -> None:
        self.signals.loaded.emit(self.capture_id, read_thumbnail(self.path, THUMB))


class CaptureModel(QAbstractListModel):
    """Captures as list items; the decoration is a thumbnail loaded on demand."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.captures: list[Capture] = []
        self._thumbs: OrderedDict[int, QPixmap] = OrderedDict()
        self._asked: set[int] = set()
        self._rows: dict[int, int] = {}
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(2)
        self._signals = _ThumbSignals()
        self._signals.loaded.connect(self._loaded)
        self.placeholder = QPixmap(THUMB, THUMB * 3 // 4)
        self.placeholder.fill(Qt.GlobalColor.darkGray)

    def set_captures(self, captures: list[Capture]) -> None:
        self.beginResetModel()
        self.captures = captures
        self._rows = {c.id: i for i, c in enumerate(captures)}
        self.pool.clear()  # thumbnails no longer wanted first
        self._asked &= set(self._thumbs)
        self.endResetModel()

    def prepend(self, capture: Capture) -> None:
        """A new capture on top (newest first), without listing the others again."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.captures.insert(0, capture)
        self._rows = {c.id: i for i, c in enumerate(self.captures)}
        self.endInsertRows()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.captures)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        c = self.captures[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{c.star} · {c.emotion}\n{datetime.fromtimestamp(c.taken):%d %b %H:%M:%S}"
        if role == Qt.ItemDataRole.DecorationRole:
            thumb = self._thumbs.get(c.id)
            if thumb is not None:
                self._thumbs.move_to_end(c.id)
                return thumb
            if c.id not in self._asked:
                self._asked.add(c.id)
                self.pool.start(_ThumbJob(c.id, c.portrait, self._signals))
            return self.placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{c.star}, {c.emotion} ({c.score:.2f})\n"
                    f"{datetime.fromtimestamp(c.taken):%Y-%m-%d %H:%M:%S}\n{c.portrait.name}")
        if role == Qt.ItemDataRole.UserRole:
            return c
        return None

    def _loaded(self, capture_id: int, image: QImage) -> None:
        if image.isNull():
            return
        self._thumbs[capture_id] = QPixmap.fromImage(image)
        while len(self._thumbs) > CACHE:
            old, _ = self._thumbs.popitem(last=False)
            self._asked.discard(old)
        row = self._rows.get(capture_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def has_thumbnail(self, capture_id: int) -> bool:
        return capture_id in self._thumbs


class GalleryPanel(QWidget):
    message = Signal(str, str, str)  # text, details, kind

    def __init__(self, folder: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.store: CaptureStore | None = None
        self.star = QComboBox()
        self.star.setAccessibleName("Filter by star")
        self.emotion = QComboBox()
        self.emotion.setAccessibleName("Filter by emotion")
        self.emotion.addItem("Any emotion", None)
        for e in EMOTIONS:
            self.emotion.addItem(e, e)
        self.date = QComboBox()
        self.date.setAccessibleName("Filter by date")
        for text, days in DATES:
            self.date.addItem(text, days)
        self.count = QLabel()
        filters = QHBoxLayout()
        for label, combo in (("&Star", self.star), ("&Emotion", self.emotion),
                             ("&Date", self.date)):
            text = QLabel(label)
            text.setBuddy(combo)
            filters.addWidget(text)
            filters.addWidget(combo)
            combo.currentIndexChanged.connect(self.refresh)
        filters.addStretch(1)
        filters.addWidget(self.count)

        self.model = CaptureModel(self)
        self.view = QListView()
        self.view.setAccessibleName("Saved portraits")
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setIconSize(QSize(THUMB, THUMB))
        self.view.setGridSize(QSize(THUMB + 24, THUMB + 44))
        self.view.setUniformItemSizes(True)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setModel(self.model)
        self.view.activated.connect(self.open_capture)  # double-click or Enter
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)

        self.open_button = QPushButton("&View")
        self.delete_button = QPushButton("De&lete…")
        self.export_button = QPushButton("E&xport…")
        self.folder_button = QPushButton("Open &folder")
        self.open_button.clicked.connect(lambda: self.open_capture(self.view.currentIndex()))
        self.delete_button.clicked.connect(self.delete_selected)
        self.export_button.clicked.connect(self.export_selected)
        self.folder_button.clicked.connect(self.open_folder)
        actions = QHBoxLayout()
        for b in (self.open_button, self.delete_button, self.export_button):
            actions.addWidget(b)
        actions.addStretch(1)
        actions.addWidget(self.folder_button)
        QShortcut(QKeySequence.StandardKey.Delete, self.view, self.delete_selected)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addLayout(actions)
        self.set_folder(folder)

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
            self.store.close()
        self.store = store
        self.refresh()

    def refresh(self) -> None:
        if self.store is None:  # no usable folder yet: an empty grid
            self.model.set_captures([])
            self._show_count()
            return
        self._set_star_choices(self.store.stars())
        captures = self.store.list(star=self.star.currentData(),
                                   emotion=self.emotion.currentData(), since=self._since())
        self.model.set_captures(captures)
        self._show_count()

    def add_capture(self, capture: Capture) -> None:
        """A capture saved this run: one row added (no listing again) when the filters let
        it through; its star joins the star filter."""
        if self.store is None or capture.folder != self.store.folder:
            return
        if self.star.findData(capture.star) < 0:
            self._set_star_choices(sorted({*self._star_choices(), capture.star},
                                          key=str.casefold))
        since = self._since()
        if (self.star.currentData() in (None, capture.star)
                and self.emotion.currentData() in (None, capture.emotion)
                and (since is None or capture.taken >= since)):
            self.model.prepend(capture)
            self._show_count()

    def _since(self) -> float | None:
        days = self.date.currentData()
        if days is None:
            return None
        midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
        return (midnight - timedelta(days=days)).timestamp()

    def _star_choices(self) -> list[str]:
        return [self.star.itemData(i) for i in range(1, self.star.count())]

    def _set_star_choices(self, stars: list[str]) -> None:
        wanted = self.star.currentData()
        self.star.blockSignals(True)
        self.star.clear()
        self.star.addItem("Any star", None)
        for s in stars:
            self.star.addItem(s, s)
        self.star.setCurrentIndex(max(0, self.star.findData(wanted)))
        self.star.blockSignals(False)

    def _show_count(self) -> None:
        total = self.model.rowCount()
        self.count.setText(f"{total} portrait{'s' if total != 1 else ''}")
        self._selection_changed()

    def selected(self) -> list[Capture]:
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.captures[r] for r in rows]

    def _selection_changed(self, *_):
        has = bool(self.view.selectionModel().selectedIndexes())
        for b in (self.open_button, self.delete_button, self.export_button):
            b.setEnabled(has)

    # -- actions -------------------------------------------------------------------------------

    def open_capture(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self.viewer = CaptureViewer(index.data(Qt.ItemDataRole.UserRole), self)
        self.viewer.open()

    def delete_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        what = (f"the portrait of {chosen[0].star}" if len(chosen) == 1
                else f"{len(chosen)} portraits")
        answer = QMessageBox.question(
            self, "Delete", f"Delete {what} (portrait and original) from disk?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        for c in chosen:
            try:
                self.store.delete(c.id)
            except (KeyError, OSError) as exc:
                self.message.emit(f"{c.portrait.name} could not be deleted", str(exc), "error")
        self.refresh()

    def export_selected(self) -> None:
        chosen = self.selected()
        if not chosen:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export portraits to")
        if not folder:
            return
        try:
            for c in chosen:
                shutil.copy2(c.portrait, Path(folder) / c.portrait.name)
                shutil.copy2(c.original, Path(folder) / c.original.name)
        except OSError as exc:
            self.message.emit("Export failed", str(exc), "error")
            return
        self.message.emit(f"Exported {len(chosen)} portrait(s) with their originals to "
                          f"{folder}.", "", "info")

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.store.folder)))


class CaptureViewer(QDialog):
    """One capture, large; P/O or the button switches between portrait and original."""

    def __init__(self, capture: Capture, parent: QWidget | None = None):
        super().__init__(parent)
        self.capture = capture
        self.setWindowTitle(f"{capture.star} · {capture.emotion} · "
                            f"{datetime.fromtimestamp(capture.taken):%Y-%m-%d %H:%M:%S}")
        self.resize(900, 700)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.picture.setMinimumSize(200, 150)
        self.toggle = QPushButton()
        self.toggle.clicked.connect(self.switch)
        self.info = QLabel(f"score {capture.score:.2f} · from {capture.source}, frame "
                           f"{capture.frame}")
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.toggle)
        row.addWidget(self.info, 1)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addLayout(row)
        self.showing_portrait = False
        self._pixmaps: dict[bool, QPixmap] = {}
        self.switch()

    def switch(self) -> None:
        self.showing_portrait = not self.showing_portrait
        self.toggle.setText("Show &original" if self.showing_portrait else "Show &portrait")
        self._show()

    def _show(self) -> None:
        key = self.showing_portrait
        if key not in self._pixmaps:
            path = self.capture.portrait if key else self.capture.original
            self._pixmaps[key] = QPixmap(str(path))
        pixmap = self._pixmaps[key]
        if not pixmap.isNull():
            self.picture.setPixmap(pixmap.scaled(self.picture.size(),
                                                 Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._show()


__all__ = ["CaptureModel", "CaptureViewer", "GalleryPanel"]
