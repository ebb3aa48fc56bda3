"""Square thumbnails of the star's face in each capture, made in pool threads and kept on disk.

The portrait is decoded at a fraction of its size where the face allows (JPEG decodes at 1/2,
1/4, 1/8 for little more than the cost of the smaller image), cut around the face, and cached
as a small JPEG in the capture folder's THUMBS_DIR, written atomically: the next start reads
10 KB instead of decoding the frame again. Old captures without a face box get the upper
middle of the frame, where a face usually is.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QImage

from kpopcam.captures import Capture
from kpopcam.files import write_bytes_atomic

THUMBS_DIR = ".thumbs"
BUCKETS = (160, 320)  # cached sizes; a card shows the smallest at least its size
FACE_MARGIN = 0.9  # of the face's side on each side: the thumbnail shows head and shoulders


def bucket_for(side: int) -> int:
    return next((b for b in BUCKETS if b >= side), BUCKETS[-1])


def cache_path(capture: Capture, bucket: int) -> Path:
    return capture.folder / THUMBS_DIR / f"{capture.portrait.stem}_{bucket}.jpg"


def face_square(width: int, height: int, face_box) -> QRect:
    """The square of the frame the thumbnail shows: around the face, inside the frame."""
    if face_box is None:
        side = min(width, height)
        return QRect((width - side) // 2, int((height - side) * 0.3), side, side)
    x1, y1, x2, y2 = face_box
    side = min(max(x2 - x1, y2 - y1) * (1 + 2 * FACE_MARGIN), width, height)
    left = min(max((x1 + x2 - side) / 2, 0), width - side)
    top = min(max((y1 + y2 - side) / 2, 0), height - side)
    return QRect(int(left), int(top), max(1, int(side)), max(1, int(side)))


def make_thumbnail(capture: Capture, bucket: int) -> QImage:
    """The face thumbnail from the disk cache, or made from the portrait and cached. A null
    QImage when the portrait cannot be read. Runs in a pool thread.

    OpenCV decodes (it lets go of Python's lock while it works; Qt's image reader holds it,
    and a pool thread decoding a frame with QImageReader stalls the GUI thread as long)."""
    cached = cache_path(capture, bucket)
    rgb = read_rgb(cached) if cached.exists() else None
    if rgb is None:
        rgb = face_crop(capture.portrait, capture.face_box, bucket)
        if rgb is None:
            return QImage()
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, 85])
        with contextlib.suppress(OSError):  # a read-only folder still shows thumbnails
            write_bytes_atomic(cached, data.tobytes())
    return to_qimage(rgb)


def face_crop(path: Path, face_box, bucket: int) -> np.ndarray | None:
    """The face square of the JPEG at `path`, at most `bucket` pixels a side, RGB; decoded
    at 1/2, 1/4 or 1/8 of its size where the face still gets `bucket` pixels. (The face box
    alone says how far: no header is parsed in Python, which would hold Python's lock.)"""
    if face_box is None:
        reduce = 2  # old captures: frames of 640 px and more still give a 320 px card
    else:
        side = max(face_box[2] - face_box[0], face_box[3] - face_box[1]) * (1 + 2 * FACE_MARGIN)
        reduce = next((r for r in (8, 4, 2) if side / r >= bucket), 1)
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
             4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
    bgr = cv2.imread(str(path), flags)
    if bgr is None:
        return None
    height, width = bgr.shape[:2]
    box = None if face_box is None else [v / reduce for v in face_box]
    square = face_square(width, height, box)
    x, y, s = square.x(), square.y(), square.width()
    out = min(bucket, s)
    crop = cv2.resize(bgr[y:y + s, x:x + s], (out, out), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


def read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def to_qimage(rgb: np.ndarray) -> QImage:
    """An owned QImage of an RGB array (the array may go away after)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


_polite = threading.local()


def _yield_to_the_gui() -> None:
    """Once per pool thread: a lower OS priority (Linux nice is per thread), so that on a busy
    machine the GUI thread gets the CPU first and the thumbnails wait."""
    if getattr(_polite, "done", False):
        return
    _polite.done = True
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 5))


class _Signals(QObject):
    loaded = Signal(object, int, int, QImage)  # loader's work, capture id, bucket, thumbnail


_SIGNALS: list[_Signals] = []


def _signals() -> _Signals:
    """One sender for every loader, made on the GUI thread and never deleted: a thumbnail
    finished after its gallery was closed is emitted into a live object (Qt has cut the
    connection to the loader that is gone)."""
    if not _SIGNALS:
        _SIGNALS.append(_Signals())
    return _SIGNALS[0]


class _Work:
    """What one loader's thread shares with the GUI thread, under `lock`: the thumbnails
    still wanted (newest request first) and whether to stop. No Qt object: it outlives the
    loader."""

    def __init__(self):
        self.lock = threading.Condition()
        self.todo: list[tuple[Capture, int]] = []
        self.current: tuple[int, int] | None = None
        self.stopped = False

    def run(self) -> None:
        _yield_to_the_gui()
        signals = _signals()
        while True:
            with self.lock:
                while not self.todo and not self.stopped:
                    self.lock.wait()
                if self.stopped:
                    return
                capture, bucket = self.todo.pop(0)
                self.current = (capture.id, bucket)
            image = make_thumbnail(capture, bucket)
            with self.lock:
                self.current = None
            signals.loaded.emit(self, capture.id, bucket, image)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            self.todo = []
            self.lock.notify()


class ThumbnailLoader(QObject):
    """A thread of its own makes the thumbnails wanted last, in order; what a scroll has
    left behind is dropped, never made.

    One thread, and no QThreadPool: each more thread holds Python's lock now and then, and
    on a loaded machine a thread preempted while holding it stalls the GUI (measured at load
    14 on 2 cores: two pool threads, 530 ms stalls; one, 240 ms); and PySide kept every
    QRunnable it had queued, with its Capture, so Python's full collections grew to 0.4 s."""

    loaded = Signal(int, int, QImage)  # capture id, bucket, thumbnail (null: unreadable)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._work = work = _Work()
        _signals().loaded.connect(self._done)
        self.destroyed.connect(lambda *_: work.stop())  # not a method: self is gone by then
        self._thread = threading.Thread(target=work.run, name="kpopcam-thumbnails",
                                        daemon=True)
        self._thread.start()

    def want(self, captures: list[Capture], bucket: int) -> None:
        """These, in this order, replace whatever was wanted before."""
        work = self._work
        with work.lock:
            work.todo = [(c, bucket) for c in captures if (c.id, bucket) != work.current]
            work.lock.notify()

    def _done(self, work, capture_id: int, bucket: int, image: QImage) -> None:
        if work is self._work:
            self.loaded.emit(capture_id, bucket, image)

    def busy(self) -> bool:
        with self._work.lock:
            return bool(self._work.todo) or self._work.current is not None

    def stop(self) -> None:
        self._work.stop()
        self._thread.join(5)
