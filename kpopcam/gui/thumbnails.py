"""Square thumbnails of the star's face in each capture, made in pool threads and kept on disk.

The portrait is decoded only around the face (the JPEG reader clips and scales while decoding,
so a 1280x720 frame costs a fraction of a full decode), and the result is cached as a small
JPEG in the capture folder's THUMBS_DIR, written atomically: the next start reads 10 KB instead
of decoding the frame again. Old captures without a face box get the upper middle of the frame,
where a face usually is.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRect, QRunnable, QSize, \
    QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

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
    QImage when the portrait cannot be read. Runs in a pool thread."""
    cached = cache_path(capture, bucket)
    image = QImage(str(cached)) if cached.exists() else QImage()
    if not image.isNull():
        return image
    reader = QImageReader(str(capture.portrait))
    size = reader.size()
    if not size.isValid():
        return QImage()
    square = face_square(size.width(), size.height(), capture.face_box)
    reader.setClipRect(square)
    side = min(bucket, square.width())
    reader.setScaledSize(QSize(side, side))
    image = reader.read()
    if image.isNull():
        return QImage()
    try:
        write_bytes_atomic(cached, jpeg_bytes(image))
    except OSError:
        pass  # a read-only folder still shows thumbnails, made again next time
    return image


def jpeg_bytes(image: QImage, quality: int = 85) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG", quality)
    buffer.close()
    return bytes(data)


class _Signals(QObject):
    loaded = Signal(int, int, QImage)  # capture id, bucket, thumbnail
    skipped = Signal(int, int)  # no longer wanted when its turn came


class _Job(QRunnable):
    def __init__(self, capture: Capture, bucket: int, loader: ThumbnailLoader):
        super().__init__()
        self.capture, self.bucket = capture, bucket
        self.signals, self.loader = loader._signals, loader
        self.setAutoDelete(False)  # Python owns it: kept in ThumbnailLoader._jobs until done

    def run(self) -> None:
        key = (self.capture.id, self.bucket)
        if key not in self.loader.wanted:  # a frozenset, replaced whole by the GUI thread
            self.signals.skipped.emit(*key)
            return
        self.signals.loaded.emit(*key, make_thumbnail(self.capture, self.bucket))


class ThumbnailLoader(QObject):
    """Asks pool threads for thumbnails. Only the latest wanted ones are made, newest request
    first, so a fast scroll never leaves a backlog of cells long gone."""

    loaded = Signal(int, int, QImage)  # capture id, bucket, thumbnail (null: unreadable)

    def __init__(self, parent: QObject | None = None, threads: int = 2):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._signals = _Signals()
        self._signals.loaded.connect(self._done)
        self._signals.skipped.connect(lambda i, b: self._jobs.pop((i, b), None))
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
                self.pool.start(job, self._priority)

    def _done(self, capture_id: int, bucket: int, image: QImage) -> None:
        self._jobs.pop((capture_id, bucket), None)
        self.loaded.emit(capture_id, bucket, image)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
