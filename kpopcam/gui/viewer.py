"""One capture, large: next and previous (arrow keys), zoom and pan (wheel, drag, double-click
to fit), full screen (F or F11; Esc leaves it), a before/after slider between the original
frame and the portrait, and the facts of the moment.

Both images are decoded in a pool thread; the face thumbnail stands in until they arrive.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QObject, QPointF, QRectF, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from kpopcam.captures import Capture, CaptureRows
from kpopcam.gui.thumbnails import read_rgb, to_qimage

ZOOM_STEP = 1.25
MAX_ZOOM = 8.0
KEPT = 6  # decoded captures kept (the one shown and its neighbours)


class _Signals(QObject):
    loaded = Signal(int, QImage, QImage)  # capture id, original, portrait


class _Decode(QRunnable):
    def __init__(self, capture: Capture, signals: _Signals):
        super().__init__()
        self.capture, self.signals = capture, signals

    def run(self) -> None:
        # OpenCV decodes without holding Python's lock (QImage(path) would stall the GUI)
        images = []
        for path in (self.capture.original, self.capture.portrait):
            rgb = read_rgb(path)
            images.append(QImage() if rgb is None else to_qimage(rgb))
        self.signals.loaded.emit(self.capture.id, *images)


class BeforeAfterCanvas(QWidget):
    """The original left of the split and the portrait right of it, zoomed and panned as one.
    split 0: all portrait; 1: all original."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.original: QPixmap | None = None
        self.portrait: QPixmap | None = None
        self.split = 0.0
        self.zoom = 1.0  # 1: fitted
        self.centre = QPointF(0.5, 0.5)  # of the image shown at the widget's centre
        self._drag: QPointF | None = None

    def set_images(self, original: QPixmap | None, portrait: QPixmap | None,
                   keep_view: bool = False) -> None:
        self.original, self.portrait = original, portrait
        if not keep_view:
            self.fit()
        self.update()

    def fit(self) -> None:
        self.zoom, self.centre = 1.0, QPointF(0.5, 0.5)
        self.update()

    def set_split(self, split: float) -> None:
        self.split = min(1.0, max(0.0, split))
        self.update()

    def image_rect(self) -> QRectF:
        """Where the picture lies in the widget."""
        shown = self.portrait or self.original
        if shown is None or shown.isNull():
            return QRectF()
        w, h = shown.width(), shown.height()
        fit = min(self.width() / w, self.height() / h)
        scale = fit * self.zoom
        return QRectF(self.width() / 2 - self.centre.x() * w * scale,
                      self.height() / 2 - self.centre.y() * h * scale, w * scale, h * scale)

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        """Zoom keeping the image point under `at` (widget pixels) where it is."""
        rect = self.image_rect()
        if rect.isEmpty():
            return
        at = at or QPointF(self.width() / 2, self.height() / 2)
        point = QPointF((at.x() - rect.x()) / rect.width(), (at.y() - rect.y()) / rect.height())
        new_zoom = min(MAX_ZOOM, max(1.0, self.zoom * factor))
        ratio = new_zoom / self.zoom
        self.zoom = new_zoom
        # the image point stays under the cursor: move the centre towards it
        self.centre = QPointF(point.x() + (self.centre.x() - point.x()) / ratio,
                              point.y() + (self.centre.y() - point.y()) / ratio)
        if self.zoom == 1.0:
            self.centre = QPointF(0.5, 0.5)
        self._clamp()
        self.update()

    def pan_by(self, dx: float, dy: float) -> None:
        rect = self.image_rect()
        if rect.isEmpty():
            return
        self.centre = QPointF(self.centre.x() - dx / rect.width(),
                              self.centre.y() - dy / rect.height())
        self._clamp()
        self.update()

    def _clamp(self) -> None:
        half = 0.5 / self.zoom
        self.centre = QPointF(min(1 - half, max(half, self.centre.x())),
                              min(1 - half, max(half, self.centre.y())))

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(18, 18, 22))
        rect = self.image_rect()
        if rect.isEmpty():
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Loading…")
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        split_x = rect.left() + rect.width() * self.split
        for pixmap, clip in ((self.portrait, QRectF(split_x, 0, self.width(), self.height())),
                             (self.original, QRectF(0, 0, split_x, self.height()))):
            if pixmap is not None and not pixmap.isNull() and clip.width() > 0:
                painter.save()
                painter.setClipRect(clip)
                painter.drawPixmap(rect, pixmap, QRectF(pixmap.rect()))
                painter.restore()
        if 0 < self.split < 1:
            painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
            painter.drawLine(QPointF(split_x, rect.top()), QPointF(split_x, rect.bottom()))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(QRectF(split_x - 110, rect.top() + 6, 100, 20),
                             Qt.AlignmentFlag.AlignRight, "original")
            painter.drawText(QRectF(split_x + 10, rect.top() + 6, 100, 20),
                             Qt.AlignmentFlag.AlignLeft, "portrait")

    def wheelEvent(self, event) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP ** steps, event.position())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._drag = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self.pan_by(delta.x(), delta.y())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self.fit()


class CaptureViewer(QDialog):
    """The captures of the grid, one at a time, starting at `index`."""

    favourite_changed = Signal(int, bool)  # capture id, favourite
    delete_requested = Signal(int)  # capture id

    def __init__(self, captures: CaptureRows, index: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.captures, self.index = captures, index  # Captures made only for those shown
        self.resize(1000, 720)
        self.canvas = BeforeAfterCanvas()
        self.split = QSlider(Qt.Orientation.Horizontal)
        self.split.setRange(0, 100)
        self.split.setAccessibleName("Original and portrait")
        self.split.setToolTip("Slide to compare the original frame (left) with the portrait")
        self.split.valueChanged.connect(lambda v: self.canvas.set_split(v / 100))
        self.toggle = QPushButton()
        self.toggle.clicked.connect(self.switch)
        self.split.valueChanged.connect(self._toggle_text)
        self.facts = QLabel()
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setWordWrap(True)
        self.previous_button = QPushButton("◀")
        self.previous_button.setToolTip("Previous (←)")
        self.previous_button.setAccessibleName("Previous portrait")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next (→)")
        self.next_button.setAccessibleName("Next portrait")
        self.favourite_button = QPushButton()
        self.delete_button = QPushButton("Delete")
        self.full_button = QPushButton("Full screen")
        self.full_button.setToolTip("F or F11; Esc leaves full screen")
        fit = QPushButton("Fit")
        fit.setToolTip("Zoom with the wheel, drag to pan, double-click to fit")
        close = QPushButton("Close")
        self.previous_button.clicked.connect(lambda: self.go(-1))
        self.next_button.clicked.connect(lambda: self.go(1))
        self.favourite_button.clicked.connect(self.toggle_favourite)
        self.delete_button.clicked.connect(self._delete)
        self.full_button.clicked.connect(self.toggle_full_screen)
        fit.clicked.connect(self.canvas.fit)
        close.clicked.connect(self.accept)

        compare = QHBoxLayout()
        compare.addWidget(QLabel("Original"))
        compare.addWidget(self.split, 1)
        compare.addWidget(QLabel("Portrait"))
        compare.addWidget(self.toggle)
        buttons = QHBoxLayout()
        for b in (self.previous_button, self.next_button, self.favourite_button,
                  self.delete_button, fit, self.full_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(compare)
        layout.addWidget(self.facts)
        layout.addLayout(buttons)
        for b in (self.previous_button, self.next_button, self.favourite_button,
                  self.delete_button, fit, self.full_button, close, self.toggle):
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # arrows stay with the viewer

        for keys, slot in ((("F", "F11"), self.toggle_full_screen),
                           (("Right",), lambda: self.go(1)), (("Left",), lambda: self.go(-1)),
                           (("+", "="), lambda: self.canvas.zoom_by(ZOOM_STEP)),
                           (("-",), lambda: self.canvas.zoom_by(1 / ZOOM_STEP)),
                           (("0",), self.canvas.fit), (("O", "P"), self.switch)):
            for key in keys:
                QShortcut(QKeySequence(key), self, slot)
        self._decoded: OrderedDict[int, tuple[QPixmap, QPixmap]] = OrderedDict()
        self._asked: set[int] = set()
        self._thumbs: dict[int, QPixmap] = {}
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)  # after the pool: deleted after it has waited for its jobs
        self._signals.loaded.connect(self._loaded)
        self.split.setValue(0)
        self._toggle_text()
        self.show_index(index)

    # -- which capture -------------------------------------------------------------------------

    @property
    def capture(self) -> Capture:
        return self.captures[self.index]

    @property
    def showing_portrait(self) -> bool:
        return self.split.value() < 50

    def set_thumbnails(self, thumbs: dict[int, QPixmap]) -> None:
        """Face thumbnails the grid has: shown while the full images decode."""
        self._thumbs = thumbs

    def go(self, step: int) -> None:
        self.show_index(self.index + step)

    def show_index(self, index: int) -> None:
        if not self.captures:
            self.reject()
            return
        self.index = max(0, min(len(self.captures) - 1, index))
        c = self.capture
        self.setWindowTitle(f"{c.star} · {c.emotion} · "
                            f"{datetime.fromtimestamp(c.taken):%Y-%m-%d %H:%M:%S}")
        self.facts.setText(
            f"<b>{c.star}</b> &nbsp; {c.emotion} {c.score:.2f} &nbsp;·&nbsp; "
            f"{datetime.fromtimestamp(c.taken):%A %-d %B %Y, %H:%M:%S} &nbsp;·&nbsp; "
            f"{c.source}, frame {c.frame} &nbsp;·&nbsp; {self.index + 1} of "
            f"{len(self.captures)}")
        self.facts.setToolTip(str(c.portrait))
        self._favourite_text()
        self.previous_button.setEnabled(self.index > 0)
        self.next_button.setEnabled(self.index < len(self.captures) - 1)
        decoded = self._decoded.get(c.id)
        if decoded:
            self.canvas.set_images(*decoded)
        else:
            thumb = self._thumbs.get(c.id)
            self.canvas.set_images(None, thumb)
        for i in (self.index, self.index + 1, self.index - 1):  # the neighbours before asked
            if 0 <= i < len(self.captures):
                self._decode(self.captures[i])

    def _decode(self, capture: Capture) -> None:
        if capture.id in self._decoded or capture.id in self._asked:
            return
        self._asked.add(capture.id)
        self.pool.start(_Decode(capture, self._signals))

    def _loaded(self, capture_id: int, original: QImage, portrait: QImage) -> None:
        self._asked.discard(capture_id)
        self._decoded[capture_id] = (QPixmap.fromImage(original), QPixmap.fromImage(portrait))
        while len(self._decoded) > KEPT:
            self._decoded.popitem(last=False)
        if capture_id == self.capture.id:
            self.canvas.set_images(*self._decoded[capture_id],
                                   keep_view=self.canvas.zoom != 1.0)

    def is_decoded(self) -> bool:
        return self.capture.id in self._decoded

    # -- actions -------------------------------------------------------------------------------

    def switch(self) -> None:
        self.split.setValue(100 if self.showing_portrait else 0)

    def _toggle_text(self) -> None:
        self.toggle.setText("Show &original" if self.showing_portrait else "Show &portrait")

    def toggle_favourite(self) -> None:
        c = self.capture
        c = replace(c, favourite=not c.favourite)
        self.captures = self.captures.replaced(c)
        self._favourite_text()
        self.favourite_changed.emit(c.id, c.favourite)

    def _favourite_text(self) -> None:
        self.favourite_button.setText("♥ Favourite" if self.capture.favourite
                                      else "♡ Favourite")

    def _delete(self) -> None:
        c = self.capture
        self.captures = self.captures.without({c.id})
        self.delete_requested.emit(c.id)
        self.show_index(self.index)

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.isFullScreen():
            self.showNormal()
            return
        super().keyPressEvent(event)
