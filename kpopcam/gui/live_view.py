"""The live picture: the newest source frame with the latest analysis drawn over it (boxes,
names, emotion bars, a marker and countdown ring on the target), a flash and a thumbnail
toast when a portrait is saved. It only draws what the bridge hands it."""

from __future__ import annotations

import time

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kpopcam.types import EMOTIONS

TARGET = QColor(255, 64, 160)  # K-pop pink: the chosen star
KNOWN = QColor(80, 200, 255)
UNKNOWN = QColor(200, 200, 200)
BAR_BG = QColor(0, 0, 0, 150)
# Beyond this many faces (a crowd, an audience shot) strangers keep their box and tag but not
# their emotion bars: seven bar panels each would cover the stars' faces.
CROWD = 3
FLASH_S = 0.35
TOAST_S = 3.0
STALE_S = 1.0  # an analysis older than this (no new one) is not drawn any more


class LiveView(QWidget):
    face_clicked = Signal(object)  # TrackReport under the click

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.image: QImage | None = None
        self.analysis = None
        self._analysis_at = 0.0
        self.paused = False  # a paused video: its last analysis stays drawn (and clickable)
        self.message = "Pick a source and press Start (space)"
        self.frames_shown = 0
        self.faces_drawn = 0  # boxes painted so far (soak runs and tests read it)
        self._flash_at = 0.0
        self._toast: tuple[QImage, str, float] | None = None
        self._tick = QTimer(self)
        self._tick.setInterval(40)
        self._tick.timeout.connect(self._animate)

    # -- what to draw ------------------------------------------------------------------------

    def set_frame(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            return
        self.image = image
        self.frames_shown += 1
        self.update()

    def set_analysis(self, analysis) -> None:
        self.analysis, self._analysis_at = analysis, time.monotonic()
        self.update()

    def draws_analysis(self) -> bool:
        return self.analysis is not None and (
            self.paused or time.monotonic() - self._analysis_at < STALE_S)

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def clear(self, message: str = "") -> None:
        self.image, self.analysis = None, None
        self.set_message(message)

    def flash(self, thumbnail: QImage | None = None, text: str = "") -> None:
        now = time.monotonic()
        self._flash_at = now
        if thumbnail is not None and not thumbnail.isNull():
            self._toast = (thumbnail, text, now)
        self._tick.start()
        self.update()

    @property
    def toast_text(self) -> str:
        return self._toast[1] if self._toast else ""

    def _animate(self) -> None:
        now = time.monotonic()
        if now - self._flash_at > FLASH_S and (self._toast is None
                                               or now - self._toast[2] > TOAST_S):
            self._toast = None
            self._tick.stop()
        self.update()

    # -- geometry ------------------------------------------------------------------------------

    def picture_rect(self) -> QRectF:
        """Where the frame is drawn: as large as fits, aspect kept, centred."""
        if self.image is None:
            return QRectF(self.rect())
        w, h = self.image.width(), self.image.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2,
                      w * scale, h * scale)

    def face_rect(self, face, frame_size) -> QRectF:
        pic = self.picture_rect()
        sx, sy = pic.width() / frame_size[0], pic.height() / frame_size[1]
        x1, y1, x2, y2 = face.box
        box = QRectF(pic.x() + x1 * sx, pic.y() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
        return box.intersected(pic)  # a face cut by the frame's edge: its box stops there

    def face_at(self, x: float, y: float):
        if not self.draws_analysis():  # only a face the fan can see
            return None
        for face in self.analysis.faces:
            if self.face_rect(face, self.analysis.frame_size).contains(QPointF(x, y)):
                return face
        return None

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        face = self.face_at(event.position().x(), event.position().y())
        if face is not None and event.button() == Qt.MouseButton.LeftButton:
            self.face_clicked.emit(face)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        over = self.face_at(event.position().x(), event.position().y()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        self.setToolTip("Click to add this face to a star" if over else "")

    # -- painting ------------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.fillRect(self.rect(), QColor(18, 18, 24))
        if self.image is None:
            p.setPen(QColor(220, 220, 230))
            p.setFont(_font(self, 1.3))
            p.drawText(self.rect().adjusted(20, 20, -20, -20),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        p.drawImage(self.picture_rect(), self.image)
        if self.draws_analysis():
            crowded = len(self.analysis.faces) > CROWD
            for face in self.analysis.faces:
                self._draw_face(p, face, self.analysis.frame_size,
                                bars=not crowded or bool(face.star))
        self._draw_flash_and_toast(p)

    def _draw_face(self, p: QPainter, face, frame_size, bars: bool = True) -> None:
        self.faces_drawn += 1
        r = self.face_rect(face, frame_size)
        color = TARGET if face.is_target else (KNOWN if face.star else UNKNOWN)
        p.setPen(QPen(color, 4 if face.is_target else 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(r, 6, 6)
        name = face.star or "unknown"
        label = f"★ {name}" if face.is_target else name
        label += f" · {face.emotion}"
        font = _font(self, 1.0, bold=True)
        metrics = QFontMetrics(font)
        tw, th = metrics.horizontalAdvance(label) + 12, metrics.height() + 6
        top = r.top() - th - 2 if r.top() - th - 2 >= 0 else r.bottom() + 2
        tag = QRectF(r.left(), top, tw, th)
        tag.moveLeft(max(0.0, min(tag.left(), self.width() - tw)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRoundedRect(tag, 4, 4)
        p.setPen(QColor(0, 0, 0))
        p.setFont(font)
        p.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)
        if bars:
            self._draw_bars(p, face, r)
        if face.hold is not None:
            self._draw_countdown(p, r, face.hold)

    def _draw_bars(self, p: QPainter, face, r: QRectF) -> None:
        """One bar per emotion beside the box (inside the picture), the strongest highlighted."""
        font = _font(self, 0.8)
        metrics = QFontMetrics(font)
        row = metrics.height() + 1
        label_w = metrics.horizontalAdvance("surprise") + 6
        bar_w = 60
        width = label_w + bar_w + 10
        height = row * len(EMOTIONS) + 8
        pic = self.picture_rect()
        x = r.right() + 6 if r.right() + 6 + width <= pic.right() else r.left() - 6 - width
        x = max(pic.left(), x)
        y = max(pic.top(), min(r.top(), pic.bottom() - height))
        panel = QRectF(x, y, width, height)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(BAR_BG)
        p.drawRoundedRect(panel, 4, 4)
        p.setFont(font)
        top = max(range(len(EMOTIONS)), key=lambda i: face.emotions[i])
        for i, (emotion, value) in enumerate(zip(EMOTIONS, face.emotions, strict=True)):
            ry = y + 4 + i * row
            p.setPen(QColor(255, 255, 255) if i == top else QColor(190, 190, 190))
            p.drawText(QRectF(x + 4, ry, label_w, row), Qt.AlignmentFlag.AlignVCenter, emotion)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(255, 255, 255, 40))
            p.drawRect(QRectF(x + 4 + label_w, ry + 3, bar_w, row - 6))
            p.setBrush(TARGET if i == top else QColor(120, 170, 255))
            p.drawRect(QRectF(x + 4 + label_w, ry + 3, bar_w * max(0.0, min(1.0, value)),
                              row - 6))

    def _draw_countdown(self, p: QPainter, r: QRectF, hold: float) -> None:
        """A ring at the box's corner filling up while the rule holds."""
        d = max(22.0, min(44.0, r.width() * 0.25))
        ring = QRectF(r.right() - d - 4, r.bottom() - d - 4, d, d)
        p.setBrush(QColor(0, 0, 0, 140))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(ring)
        p.setPen(QPen(TARGET, 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(ring.adjusted(3, 3, -3, -3), 90 * 16, -int(360 * 16 * hold))

    def _draw_flash_and_toast(self, p: QPainter) -> None:
        now = time.monotonic()
        flash = now - self._flash_at
        if flash < FLASH_S:
            p.fillRect(self.rect(), QColor(255, 255, 255, int(200 * (1 - flash / FLASH_S))))
        if self._toast is None or now - self._toast[2] > TOAST_S:
            return
        thumb, text, _ = self._toast
        font = _font(self, 0.9, bold=True)
        metrics = QFontMetrics(font)
        w = max(thumb.width(), metrics.horizontalAdvance(text)) + 16
        h = thumb.height() + metrics.height() + 20
        box = QRectF(self.width() - w - 12, self.height() - h - 12, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 190))
        p.drawRoundedRect(box, 8, 8)
        p.drawImage(QPointF(box.x() + (w - thumb.width()) / 2, box.y() + 8), thumb)
        p.setPen(QColor(255, 255, 255))
        p.setFont(font)
        p.drawText(QRectF(box.x(), box.y() + thumb.height() + 10, w, metrics.height() + 4),
                   Qt.AlignmentFlag.AlignCenter, text)


def _font(widget: QWidget, scale: float, bold: bool = False) -> QFont:
    font = QFont(widget.font())
    font.setPointSizeF(max(7.0, font.pointSizeF() * scale))
    font.setBold(bold)
    return font
