"""The captures of this run, newest on the right: each the star's face with its time. A click
asks for the capture to be opened (`open_requested`)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

FACE_PX = 64


class SessionStrip(QListWidget):
    open_requested = Signal(int)  # capture id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Captures of this run")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(FACE_PX, FACE_PX))
        self.setGridSize(QSize(FACE_PX + 24, FACE_PX + self.fontMetrics().height() + 14))
        self.setFixedHeight(self.gridSize().height() + self.horizontalScrollBar()
                            .sizeHint().height() + 6)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet("QListWidget { background: #121218; color: #dcdce6; border: none; }")
        self.itemClicked.connect(self._open)
        self.itemActivated.connect(self._open)
        self.hide()

    def add(self, capture, face: QImage) -> None:
        when = datetime.fromtimestamp(capture.taken).strftime("%H:%M:%S")
        pixmap = QPixmap.fromImage(face).scaled(
            FACE_PX, FACE_PX, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation) if not face.isNull() else QPixmap()
        item = QListWidgetItem(pixmap, when)
        item.setData(Qt.ItemDataRole.UserRole, capture.id)
        item.setToolTip(f"{capture.star} · {capture.emotion} · score {capture.score:.2f}\n"
                        "Click to open")
        item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.addItem(item)
        self.scrollToItem(item)
        self.show()

    def capture_ids(self) -> list[int]:
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]

    def new_run(self) -> None:
        """A new run: its own strip."""
        self.clear()
        self.hide()

    def _open(self, item: QListWidgetItem) -> None:
        self.open_requested.emit(int(item.data(Qt.ItemDataRole.UserRole)))
