""""Add this face": the face the fan clicked, cut out of the frame on screen, and which star it
will join (or that it starts a new one), before anything is added."""

from __future__ import annotations

import html

import cv2
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from kpopcam.vision.gallery_crop import face_view

FACE_PX = 160


def face_crop(frame_bgr, box) -> QImage:
    """The face at `box` of a BGR frame, with a little of what is around it."""
    return rgb_qimage(cv2.cvtColor(face_view(frame_bgr, box), cv2.COLOR_BGR2RGB))


def rgb_qimage(rgb) -> QImage:
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


class AddFaceDialog(QDialog):
    def __init__(self, face: QImage, stars: dict[str, int], suggestion: str = "",
                 parent: QWidget | None = None):
        """stars: name -> faces enrolled so far."""
        super().__init__(parent)
        self.setWindowTitle("Add this face")
        self.stars = stars
        self.picture = QLabel()
        self.picture.setPixmap(QPixmap.fromImage(face).scaled(
            FACE_PX, FACE_PX, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))
        self.picture.setFixedSize(FACE_PX, FACE_PX)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name = QComboBox()
        self.name.setEditable(True)
        self.name.setAccessibleName("Star")
        self.name.setMinimumContentsLength(16)
        names = ([suggestion] if suggestion else []) + [n for n in stars if n != suggestion]
        self.name.addItems(names)
        self.name.setCurrentText(suggestion or (names[0] if names else ""))
        self.joins = QLabel()
        self.joins.setWordWrap(True)
        self.name.currentTextChanged.connect(self._show_joins)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add face")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        side = QVBoxLayout()
        side.addWidget(QLabel("Add this face to which star? Pick one or type a new name."))
        side.addWidget(self.name)
        side.addWidget(self.joins)
        side.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.picture)
        row.addLayout(side, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self._show_joins(self.name.currentText())

    def star_name(self) -> str:
        return self.name.currentText().strip()

    def _show_joins(self, text: str) -> None:
        name = text.strip()
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(name))
        if not name:
            self.joins.setText("Type a name.")
        elif name in self.stars:
            count = self.stars[name]
            faces = f"{count} face{'s' if count != 1 else ''}"
            self.joins.setText(f"Joins <b>{html.escape(name)}</b> ({faces} so far).")
        else:
            self.joins.setText(f"Starts a new star: <b>{html.escape(name)}</b>.")
