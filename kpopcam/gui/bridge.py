"""The one object of the GUI that talks to the engine.

It loads the models, starts and stops the engine and enrols stars, all in pool threads, and
hands what the engine reports (frames, analyses, captures, stats, the end of a run) to the GUI
thread as Qt signals. Frames arrive as owned QImage copies made on the source thread; the GUI
only draws.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader

from kpopcam.settings import Settings
from kpopcam.stars import StarGallery

STATS_EVERY_MS = 250
TOAST_PX = 160


@dataclass
class LoadedModels:
    """What the engine and enrolment need; made by a loader in a pool thread."""

    face_models: object  # kpopcam.live.analysis.FaceModels
    portraits: object | None  # PortraitMaker
    photo_detector: object  # detector for still photos (enrolment)


def load_models(settings: Settings, gallery: StarGallery, progress: Callable) -> LoadedModels:
    """The real models, as the settings ask (this imports torch: never on the GUI thread)."""
    progress(0, 4, "Loading torch…")
    import torch  # noqa: F401  (the slow part of a cold start)

    from kpopcam.commands.common import make_detector
    from kpopcam.live.loading import load_face_models, load_portrait_maker

    progress(1, 4, "Loading face detector and recogniser…")
    face_models = load_face_models(settings, gallery)
    progress(2, 4, "Loading portrait maker…")
    portraits = load_portrait_maker(settings)
    progress(3, 4, "Loading photo detector…")
    photo_detector = make_detector(settings)
    progress(4, 4, "Ready")
    return LoadedModels(face_models, portraits, photo_detector)


ModelLoader = Callable[[Settings, StarGallery, Callable], LoadedModels]


class EngineBridge(QObject):
    loading = Signal(int, int, str)  # step, steps, text
    ready = Signal()
    frame_ready = Signal()  # a new frame waits in latest_image()
    analysed = Signal(object)  # Analysis
    captured = Signal(object, QImage)  # Capture, thumbnail of the portrait
    stats_changed = Signal(dict)
    started = Signal(str)  # source name
    stopped = Signal(str)  # why
    failed = Signal(str, str)  # message, details
    cameras_found = Signal(list)
    enrol_progress = Signal(int, int, str)
    enrolled = Signal(str, object)  # star name, EnrolReport
    face_added = Signal(str)
    stars_changed = Signal()

    def __init__(self, settings: Settings, gallery: StarGallery, workers,
                 loader: ModelLoader = load_models, parent: QObject | None = None):
        super().__init__(parent)
        self.settings, self.gallery, self.workers, self.loader = (settings, gallery, workers,
                                                                  loader)
        self.models: LoadedModels | None = None
        self.engine = None
        self._models_ready = threading.Event()
        self._starting = False
        self._slot_lock = threading.Lock()
        self._latest_image: QImage | None = None
        self._latest_frame = None  # kpopcam.live.sources.Frame
        self._frame_pending = False
        self._latest_ms: float = 0.0
        self._faces = 0
        self._session_captures = 0
        self._timer = QTimer(self)
        self._timer.setInterval(STATS_EVERY_MS)
        self._timer.timeout.connect(self._poll)

    # -- models --------------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self.models is not None

    @property
    def is_running(self) -> bool:
        return self.engine is not None or self._starting

    def load(self) -> None:
        def work(progress):
            return self.loader(self.settings, self.gallery, progress)

        def done(models):
            self.models = models
            self._models_ready.set()
            self.ready.emit()

        self.workers.submit(work, done=done, progress=self.loading.emit,
                            failed=lambda m, d: self.failed.emit(
                                f"The face models could not be loaded: {m}", d))

    def find_cameras(self) -> None:
        def work(_progress):
            from kpopcam.live.sources import list_cameras

            return list_cameras()

        self.workers.submit(work, done=self.cameras_found.emit,
                            failed=lambda m, d: self.cameras_found.emit([]))

    # -- running -------------------------------------------------------------------------------

    def start(self, source_spec: str, settings: Settings) -> None:
        """Open the source and start the engine in a pool thread; `started` or `failed`."""
        if self.is_running or not self.is_ready:
            return
        self.settings = settings
        self._starting = True
        models = self.models

        def work(_progress):
            from kpopcam.live.loading import build_engine
            from kpopcam.live.sources import open_source

            source = open_source(source_spec)
            if models.portraits is not None:
                from kpopcam.vision.portrait import PortraitOptions

                p = settings.portrait
                models.portraits.options = PortraitOptions(strength=p.strength, lens=p.lens)
            engine = build_engine(settings, source, models.face_models, models.portraits,
                                  on_frame=self._on_frame, on_analysis=self._on_analysis,
                                  on_capture=self._on_capture)
            return engine.start()

        def done(engine):
            self._starting = False
            self.engine = engine
            self._session_captures = 0
            self._timer.start()
            self.started.emit(engine.source.name)

        def failed(message, details):
            self._starting = False
            self.failed.emit(message, details)
            self.stopped.emit(message)

        self.workers.submit(work, done=done, failed=failed)

    def stop(self) -> None:
        """Ask the engine to stop; `stopped` follows once its captures are saved."""
        if self.engine is not None:
            self.engine.stop()

    def update_rule(self, settings: Settings) -> None:
        """New target star, emotion or sensitivity for a running engine."""
        self.settings = settings
        if self.engine is None:
            return
        rule, t = self.engine.analyzer.rule, settings.trigger
        rule.star, rule.emotion, rule.min_score, rule.hold_s = (t.star, t.emotion, t.min_score,
                                                                 t.hold_s)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the engine; tasks still running (model loading) are waited for by
        wait_for_tasks once the window is gone."""
        if self.engine is not None:
            self.engine.stop()
            self.engine.wait(timeout)

    def wait_for_tasks(self, timeout: float = 120.0) -> bool:
        """True when no background task is left. Python must not shut down under a task
        that is still importing torch: the import then fails with a baffling error."""
        return self.workers.wait(int(timeout * 1000))

    def _poll(self) -> None:
        engine = self.engine
        if engine is None:
            self._timer.stop()
            return
        stats = engine.stats
        self.stats_changed.emit({
            "fps": stats.analysed_fps, "latency_ms": self._latest_ms, "faces": self._faces,
            "captures": self._session_captures, "frames_in": stats.frames_in,
            "dropped": stats.frames_dropped,
        })
        if engine.running:
            return
        self._timer.stop()
        self.engine = None
        if engine.error is not None:
            import traceback

            details = "".join(traceback.format_exception(engine.error))
            self.failed.emit(f"The run stopped: {engine.error}", details)
        for error in stats.capture_errors:
            self.failed.emit("A portrait could not be saved", error)
        self.stopped.emit(stats.end_reason or "stopped")

    # -- engine callbacks (engine threads) -------------------------------------------------------

    def _on_frame(self, frame) -> None:
        image = frame.image
        h, w = image.shape[:2]
        qimage = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888).copy()
        with self._slot_lock:
            self._latest_image, self._latest_frame = qimage, frame
            emit = not self._frame_pending
            self._frame_pending = True
        if emit:  # the GUI takes the newest when it gets to it: no backlog of frames
            self.frame_ready.emit()

    def _on_analysis(self, analysis) -> None:
        self._latest_ms = sum(analysis.stage_ms.values())
        self._faces = len(analysis.faces)
        self.analysed.emit(analysis)

    def _on_capture(self, capture) -> None:
        self._session_captures += 1
        self.captured.emit(capture, read_thumbnail(capture.portrait, TOAST_PX))

    def latest_image(self) -> QImage | None:
        with self._slot_lock:
            self._frame_pending = False
            return self._latest_image

    # -- stars ---------------------------------------------------------------------------------

    def enroll(self, name: str, photos: list[Path]) -> None:
        """Enrol photos as `name` in a pool thread: enrol_progress, then enrolled or failed."""
        def work(progress):
            from kpopcam.enrollment import enroll

            self._wait_for_models()
            total = len(photos)
            counter = iter(range(1, total + 1))
            progress(0, total, "")
            return enroll(name, photos, self.models.photo_detector,
                          self.models.face_models.embedder, self.gallery,
                          flip=self.settings.identity.flip,
                          on_photo=lambda p: progress(next(counter), total, Path(p).name))

        def done(report):
            self.stars_changed.emit()
            self.enrolled.emit(name, report)

        self.workers.submit(work, done=done, progress=self.enrol_progress.emit,
                            failed=lambda m, d: self.failed.emit(
                                f"Enrolling {name} failed: {m}", d))

    def add_live_face(self, name: str, box: tuple[float, float, float, float]) -> None:
        """Add the face at `box` of the frame on screen to the star `name` (made if new)."""
        with self._slot_lock:
            frame = self._latest_frame
        if frame is None:
            return
        image = frame.image.copy()  # an owned copy for the pool thread
        source = self.engine.source.name if self.engine else "live"

        def work(_progress):
            import cv2

            from kpopcam.enrollment import thumbnail_jpeg
            from kpopcam.stars import EnrolledFace
            from kpopcam.types import Face

            self._wait_for_models()
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            faces = self.models.photo_detector.detect(rgb, color="rgb")
            face = max(faces, key=lambda f: iou(f.box, box), default=None)
            if face is None or iou(face.box, box) < 0.3:
                face = Face(tuple(float(v) for v in box), 1.0)
            embedding = self.models.face_models.embedder.embed_faces(
                rgb, [face], flip=self.settings.identity.flip)[0]
            self.gallery.add_faces(name, [EnrolledFace(
                np.asarray(embedding), f"{source} frame {frame.number}",
                thumbnail_jpeg(rgb, face))])
            return name

        def done(added):
            self.stars_changed.emit()
            self.face_added.emit(added)

        self.workers.submit(work, done=done, failed=lambda m, d: self.failed.emit(
            f"The face could not be added to {name}: {m}", d))

    def _wait_for_models(self) -> None:
        if not self._models_ready.wait(600):
            raise RuntimeError("the face models are not loaded")


def read_thumbnail(path: Path, side: int) -> QImage:
    """A JPEG decoded straight to about `side` pixels (cheap: JPEG decodes at 1/2, 1/4, 1/8)."""
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return image if not image.isNull() else QImage()


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


__all__ = ["EngineBridge", "LoadedModels", "load_models", "read_thumbnail"]
