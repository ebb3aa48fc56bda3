"""Choosing what of the screen to watch: a full-screen overlay over a darkened picture of the
screen, on which the fan drags a rectangle (shown bright, with its size), and a list of the open
windows. Both answer with a source spec (screen:LEFT,TOP,WIDTH,HEIGHT or window:ID)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

MIN_SIDE = 32  # screen pixels: a smaller drag is taken for a slip of the mouse
DIM = QColor(0, 0, 0, 150)
EDGE = QColor(255, 64, 160)
HINT = "Drag over the part of the screen to watch · Esc cancels"
HIDE_MS = 300  # time for the window manager to take our own window off the screen


class RegionPicker(QWidget):
    """The overlay: `grab` (all screens, in screen pixels from `origin`) stretched over
    `area` (Qt's virtual desktop by default); `picked` a region in screen pixels."""

    picked = Signal(tuple)  # (left, top, width, height)
    cancelled = Signal()

    def __init__(self, grab: QImage, origin: tuple[int, int], area: QRect | None = None):
        super().__init__(None, Qt.WindowType.FramelessWindowHint
                         | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Pick a screen region")
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setMouseTracking(True)
        self.grab_image, self.origin = grab, origin
        self.dimmed = _dimmed(grab)
        self._start: QPointF | None = None
        self._end: QPointF | None = None
        self.setGeometry(area or QGuiApplication.primaryScreen().virtualGeometry())

    # -- geometry ------------------------------------------------------------------------------

    def _scale(self) -> tuple[float, float]:
        return (self.grab_image.width() / max(1, self.width()),
                self.grab_image.height() / max(1, self.height()))

    def selection(self) -> QRectF:
        """The dragged rectangle in the overlay's own coordinates (empty before a drag)."""
        if self._start is None or self._end is None:
            return QRectF()
        return QRectF(self._start, self._end).normalized().intersected(QRectF(self.rect()))

    def region(self) -> tuple[int, int, int, int]:
        """The selection in screen pixels (LEFT, TOP, WIDTH, HEIGHT)."""
        sx, sy = self._scale()
        r = self.selection()
        left, top = round(r.left() * sx), round(r.top() * sy)
        right, bottom = round(r.right() * sx), round(r.bottom() * sy)
        return left + self.origin[0], top + self.origin[1], right - left, bottom - top

    # -- mouse and keys ------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = self._end = event.position()
            self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._start is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self._end = event.position()
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._start is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._end = event.position()
        region = self.region()
        if min(region[2], region[3]) < MIN_SIDE:
            self._start = self._end = None
            self.update()
            return
        self.picked.emit(region)
        self.close()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            self.close()

    # -- painting ------------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.drawImage(QRectF(self.rect()), self.dimmed)
        sel = self.selection()
        if not sel.isEmpty():
            sx, sy = self._scale()
            source = QRectF(sel.x() * sx, sel.y() * sy, sel.width() * sx, sel.height() * sy)
            p.drawImage(sel, self.grab_image, source)
            p.setPen(QPen(EDGE, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(sel)
            _, _, w, h = self.region()
            self._label(p, f"{w} × {h}", sel.bottomLeft() + QPointF(0, 6), below=True)
        self._label(p, HINT, QPointF(self.width() / 2, 16), centred=True)

    def _label(self, p: QPainter, text: str, at: QPointF, below: bool = False,
               centred: bool = False) -> None:
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        metrics = QFontMetrics(font)
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 20, metrics.height() + 10)
        box.moveTopLeft(at - QPointF(box.width() / 2, 0) if centred else at)
        if below and box.bottom() > self.height():
            box.moveBottom(at.y() - 12)
        box.moveLeft(max(0.0, min(box.left(), self.width() - box.width())))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 200))
        p.drawRoundedRect(box, 6, 6)
        p.setPen(QColor(255, 255, 255))
        p.setFont(font)
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def _dimmed(image: QImage) -> QImage:
    out = image.convertToFormat(QImage.Format.Format_RGB32)
    p = QPainter(out)
    p.fillRect(out.rect(), DIM)
    p.end()
    return out


def pick_region(window: QWidget, done: Callable[[str], None]) -> None:
    """Take the app's window out of the way, grab the screen and let the fan drag a region;
    `done(spec)` with screen:LEFT,TOP,WIDTH,HEIGHT, or "" when cancelled. Where the screen
    cannot be grabbed the region is typed instead."""
    window.hide()

    def grab_and_show():
        from kpopcam.gui.bridge import bgr_qimage
        from kpopcam.live.sources import SourceError, grab_screen

        try:
            grab = grab_screen()
        except SourceError as exc:
            window.show()
            done(_typed_region(window, str(exc)))
            return
        picker = RegionPicker(bgr_qimage(grab.image), (grab.left, grab.top))
        window.region_picker = picker  # tests and screenshots reach it here

        def finish(spec: str) -> None:
            window.show()
            window.raise_()
            done(spec)

        def picked(region: tuple[int, int, int, int]) -> None:
            spec = "screen:" + ",".join(str(v) for v in region)
            left, top, width, height = region
            # what the region showed, for the live view to show until Start
            window.region_still = (spec, picker.grab_image.copy(
                QRect(left - grab.left, top - grab.top, width, height)))
            finish(spec)

        picker.picked.connect(picked)
        picker.cancelled.connect(lambda: finish(""))
        picker.show()
        picker.raise_()
        picker.activateWindow()

    QTimer.singleShot(HIDE_MS, grab_and_show)


def _typed_region(parent: QWidget, why: str) -> str:
    text, ok = QInputDialog.getText(
        parent, "Screen region", f"{why}.\nType the region as LEFT,TOP,WIDTH,HEIGHT (pixels):",
        text="0,0,1280,720")
    return f"screen:{text.replace(' ', '')}" if ok and text.strip() else ""


class WindowChooser(QDialog):
    """The open windows by title and size, as OBS's Window Capture lists them."""

    def __init__(self, windows, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Watch a window")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Pick the window where the stream plays. Keep it uncovered: "
                                "what lies on top of it is seen too."))
        self.list = QListWidget()
        for window in windows:
            item = QListWidgetItem(f"{window.title}  ({window.width}×{window.height})")
            item.setData(Qt.ItemDataRole.UserRole, window.id)
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(520, 360)

    def spec(self) -> str:
        item = self.list.currentItem()
        return f"window:{item.data(Qt.ItemDataRole.UserRole):#x}" if item else ""
