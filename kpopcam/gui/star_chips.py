"""The star filter of the gallery: a row of face chips (the star's enrolled face, round, with
the name), "All stars" first; one chip is chosen at a time."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPainterPath, QPalette, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QWidget,
)

CHIP_PX = 40


def round_face(jpeg: bytes | None, name: str, side: int = CHIP_PX) -> QPixmap:
    """The face cut round; a star with no enrolled face gets the first letter of the name."""
    out = QPixmap(side, side)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addEllipse(0, 0, side, side)
    painter.setClipPath(path)
    image = QImage.fromData(jpeg) if jpeg else QImage()
    if image.isNull():
        painter.fillRect(out.rect(), QColor(110, 90, 160))
        painter.setPen(QColor(255, 255, 255))
        font = painter.font()
        font.setPixelSize(side // 2)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(out.rect(), Qt.AlignmentFlag.AlignCenter, (name[:1] or "?").upper())
    else:
        painter.drawImage(out.rect(), image.scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
            Qt.TransformationMode.SmoothTransformation))
    painter.end()
    return out


class StarChips(QScrollArea):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFixedHeight(CHIP_PX + 30)
        self.setAccessibleName("Filter by star")
        self._inner = QWidget()
        self._row = QHBoxLayout(self._inner)
        self._row.setContentsMargins(0, 0, 0, 0)
        self.setWidget(self._inner)
        self.viewport().setBackgroundRole(QPalette.ColorRole.Window)  # as the panel, no box
        self._inner.setBackgroundRole(QPalette.ColorRole.Window)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.group.buttonClicked.connect(lambda _b: self.changed.emit())
        self.buttons: dict[str | None, QToolButton] = {}
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.set_stars([], "")

    def current(self) -> str | None:
        """The chosen star's name, or None for all stars."""
        for name, button in self.buttons.items():
            if button.isChecked():
                return name
        return None

    def set_current(self, name: str | None) -> bool:
        button = self.buttons.get(name)
        if button is None:
            return False
        if not button.isChecked():
            button.setChecked(True)
            self.changed.emit()
        return True

    def names(self) -> list[str]:
        return [n for n in self.buttons if n is not None]

    def set_stars(self, stars: list[tuple[str, bytes | None]], hint: str) -> None:
        """(name, face JPEG or None) in the order shown; the chosen one stays chosen when it
        is still there. `hint` shows beside the chips (e.g. what to do with no stars)."""
        wanted = self.current()
        for button in self.buttons.values():
            self.group.removeButton(button)
            button.hide()  # at once: deleteLater waits for the event loop
            button.deleteLater()
        self._row.removeWidget(self.hint)
        while self._row.count():
            self._row.takeAt(0)
        self.buttons = {}
        for name, face in [(None, None), *stars]:
            button = QToolButton()
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setText("All stars" if name is None else name)
            button.setToolTip("Show every star" if name is None else f"Show only {name}")
            button.setIconSize(QSize(CHIP_PX, CHIP_PX))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            if name is not None:
                button.setIcon(QIcon(round_face(face, name)))
            self.group.addButton(button)
            self._row.addWidget(button)
            self.buttons[name] = button
        self.hint.setText(hint)
        self.hint.setVisible(bool(hint))
        self._row.addWidget(self.hint, 1)
        self._row.addStretch(0 if hint else 1)
        (self.buttons.get(wanted) or self.buttons[None]).setChecked(True)
