"""Square thumbnails of the star's face in each capture, made in pool threads and kept on disk.

The portrait is decoded at a fraction of its size where the face allows (JPEG decodes at 1/2,
1/4, 1/8 for little more than the cost of the smaller image), cut around the face, and cached
as a small JPEG in the capture folder's THUMBS_DIR, written atomically: the next start reads 10 KB instead
of decoding the frame again. Old captures without a face box get the upper middle of the frame,
where a face usually is.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QRect, QRunnable, QThreadPool, Signal
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
        try:
            write_bytes_atomic(cached, data.tobytes())
        except OSError:
            pass  # a read-only folder still shows thumbnails, made again next time
    return to_qimage(rgb)


def face_crop(path: Path, face_box, bucket: int) -> np.ndarray | None:
    """The face square of the JPEG at `path`, at most `bucket` pixels a side, RGB; decoded
    at 1/2, 1/4 or 1/8 of its size where that still gives `bucket` pixels."""
    try:
        with Image.open(path) as image:  # the header only
            width, height = image.size
    except OSError:
        return None
    square = face_square(width, height, face_box)
    side = square.width()
    reduce = next((r for r in (8, 4, 2) if side / r >= bucket), 1)
    flags = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2,
             4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
    bgr = cv2.imread(str(path), flags)
    if bgr is None:
        return None
    x, y, s = square.x() // reduce, square.y() // reduce, max(1, side // reduce)
    crop = bgr[y:y + s, x:x + s]
    out = min(bucket, s)
    crop = cv2.resize(crop, (out, out), interpolation=cv2.INTER_AREA)
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
    loaded = Signal(object, int, int, QImage)  # loader token, capture id, bucket, thumbnail
    skipped = Signal(object, int, int)  # no longer wanted when its turn came


_SIGNALS: list[_Signals] = []


_LIVE: dict[tuple, QRunnable] = {}  # every job queued or running, until it has reported


def _signals() -> _Signals:
    """One sender for every loader, made on the GUI thread and never deleted: a job still
    running when its gallery is closed emits into a live object (Qt has cut the connection
    to the loader that is gone), and the job stays owned here until it has reported."""
    if not _SIGNALS:
        signals = _Signals()
        signals.loaded.connect(lambda token, i, b, _image: _LIVE.pop((token, i, b), None))
        signals.skipped.connect(lambda token, i, b: _LIVE.pop((token, i, b), None))
        _SIGNALS.append(signals)
    return _SIGNALS[0]


class _Job(QRunnable):
    def __init__(self, capture: Capture, bucket: int, loader: ThumbnailLoader):
        super().__init__()
        self.capture, self.bucket, self.token = capture, bucket, loader.token
        self.loader = loader  # only its `wanted` is read: a plain attribute, frozen value
        self.setAutoDelete(False)  # Python owns it: kept in _LIVE until it has reported

    def run(self) -> None:
        _yield_to_the_gui()
        signals = _signals()
        key = (self.capture.id, self.bucket)
        if key not in self.loader.wanted:
            signals.skipped.emit(self.token, *key)
            return
        signals.loaded.emit(self.token, *key, make_thumbnail(self.capture, self.bucket))


class ThumbnailLoader(QObject):
    """Asks a pool thread for thumbnails. Only the latest wanted ones are made, newest request
    first, so a fast scroll never leaves a backlog of cells long gone."""

    loaded = Signal(int, int, QImage)  # capture id, bucket, thumbnail (null: unreadable)

    # one thread: each more one holds Python's lock now and then, and on a loaded machine a
    # thread preempted while holding it stalls the GUI (measured: 2 threads, 530 ms stalls
    # at load 14 on 2 cores; 1 thread, 240 ms)
    def __init__(self, parent: QObject | None = None, threads: int = 1):
        super().__init__(parent)
        self.token = object()
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        _signals().loaded.connect(self._done)
        _signals().skipped.connect(self._skipped)
        self._jobs: dict[tuple[int, int], _Job] = {}
        self.wanted: frozenset[tuple[int, int]] = frozenset()
        self._priority = 0

    def want(self, captures: list[Capture], bucket: int) -> None:
        """These replace whatever was wanted before."""
        self.wanted = frozenset((c.id, bucket) for c in captures)
        self._priority = min(self._priority + 1, 2**30)
        for capture in captures:
            key = (capture.id, bucket)
            if key not in self._jobs:
                self._jobs[key] = job = _Job(capture, bucket, self)
                _LIVE[(self.token, *key)] = job
                self.pool.start(job, self._priority)

    def _skipped(self, token, capture_id: int, bucket: int) -> None:
        if token is self.token:
            self._jobs.pop((capture_id, bucket), None)

    def _done(self, token, capture_id: int, bucket: int, image: QImage) -> None:
        if token is self.token:
            self._jobs.pop((capture_id, bucket), None)
            self.loaded.emit(capture_id, bucket, image)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
