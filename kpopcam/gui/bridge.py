"""The one object of the GUI that talks to the engine.

It loads the models, starts and stops the engine and enrols stars, all in pool threads, and
hands what the engine reports (frames, analyses, captures, stats, the end of a run) to the GUI
thread as Qt signals. Frames arrive as owned QImage copies made on the source thread; the GUI
only draws.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader

from kpopcam.settings import Settings
from kpopcam.stars import StarGallery

STATS_EVERY_MS = 250
TOAST_PX = 160
RECENT_FRAMES = 16  # the analysis lags the display by a few frames: a click finds its frame


@dataclass
class LoadedModels:
    """What the engine and enrolment need; made by a loader in a pool thread."""

    face_models: object  # kpopcam.live.analysis.FaceModels
    portraits: object | None  # PortraitMaker
    photo_detector: object  # detector for still photos (enrolment)


@dataclass(frozen=True)
class Preview:
    """A frame of a video file shown before a run (or while it is not running)."""

    spec: str
    image: QImage
    position: int
    frame_count: int
    fps: float


def load_models(settings: Settings, gallery: StarGallery, progress: Callable) -> LoadedModels:
    """The real models, as the settings ask (seconds of loading: never on the GUI thread)."""
    progress(0, 4, "Loading models…")
    from kpopcam.live.loading import load_face_models, load_portrait_maker
    from kpopcam.vision.detector import photo_detector

    progress(1, 4, "Loading face detector and recogniser…")
    face_models = load_face_models(settings, gallery)
    progress(2, 4, "Loading portrait maker…")
    portraits = load_portrait_maker(settings)
    progress(3, 4, "Loading photo detector…")
    photo = photo_detector(settings)
    progress(4, 4, "Ready")
    return LoadedModels(face_models, portraits, photo)


ModelLoader = Callable[[Settings, StarGallery, Callable], LoadedModels]


class EnrolCancelled(RuntimeError):
    """The fan cancelled an enrolment; nothing was added."""


class Lifecycle(Enum):
    """Where the bridge is; every change happens on the GUI thread."""

    LOADING = "loading"  # the models are loading
    BROKEN = "broken"  # the models could not be loaded
    IDLE = "idle"  # ready, nothing running
    STARTING = "starting"  # the source is opening in a pool thread
    RUNNING = "running"
    STOPPING = "stopping"  # asked to stop; `stopped` follows once captures are saved


class EngineBridge(QObject):
    loading = Signal(int, int, str)  # step, steps, text
    ready = Signal()
    frame_ready = Signal()  # a new frame waits in latest_image()
    analysed = Signal(object)  # Analysis
    captured = Signal(object, QImage)  # Capture, thumbnail of the portrait
    captured_face = Signal(object, QImage)  # Capture, its star's face cut out (session strip)
    previewed = Signal(object)  # Preview: a still of a video file before a run
    capture_failed = Signal(str)  # why a capture could not be saved (at once, mid-run)
    stats_changed = Signal(dict)
    started = Signal(str)  # source name
    stopped = Signal(str)  # why
    failed = Signal(str, str)  # message, details
    cameras_found = Signal(list)
    enrol_progress = Signal(int, int, str)
    enrolled = Signal(str, object)  # star name, EnrolReport
    face_added = Signal(str)
    faces_added = Signal(str, int)  # star name, how many of the face's looks were added
    stars_changed = Signal()

    def __init__(self, settings: Settings, gallery: StarGallery, workers,
                 loader: ModelLoader = load_models, parent: QObject | None = None):
        super().__init__(parent)
        self.settings, self.gallery, self.workers, self.loader = (settings, gallery, workers,
                                                                  loader)
        self.models: LoadedModels | None = None
        self.load_error: str = ""
        self.engine = None
        self.state = Lifecycle.LOADING
        self._models_settled = threading.Event()  # loaded or failed: enrolment stops waiting
        self._cancel_start: threading.Event | None = None
        self._slot_lock = threading.Lock()
        self._latest_image: QImage | None = None
        self._latest_frame = None  # kpopcam.live.sources.Frame
        self._recent_frames: deque = deque(maxlen=RECENT_FRAMES)  # the same owned Frames
        self._latest_analysis = None  # kpopcam.live.analysis.Analysis
        self._frame_pending = False
        self._latest_ms: float = 0.0
        self._faces = 0
        self._session_captures = 0
        self._preview_busy = False
        self._preview_next: tuple[str, int] | None = None
        self.capture_failed.connect(
            lambda why: self.failed.emit("A portrait could not be saved", why))
        self._timer = QTimer(self)
        self._timer.setInterval(STATS_EVERY_MS)
        self._timer.timeout.connect(self._poll)

    # -- models --------------------------------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self.models is not None

    @property
    def is_running(self) -> bool:
        return self.state in (Lifecycle.STARTING, Lifecycle.RUNNING, Lifecycle.STOPPING)

    def load(self) -> None:
        def work(progress):
            return self.loader(self.settings, self.gallery, progress)

        def done(models):
            self.models = models
            self.state = Lifecycle.IDLE
            self._models_settled.set()
            self.ready.emit()

        def failed(message, details):
            self.load_error = message
            self.state = Lifecycle.BROKEN
            self._models_settled.set()
            self.failed.emit(f"The face models could not be loaded: {message}", details)

        self.workers.submit(work, done=done, progress=self.loading.emit, failed=failed)

    def find_cameras(self) -> None:
        def work(_progress):
            from kpopcam.live.sources import list_cameras

            return list_cameras()

        self.workers.submit(work, done=self.cameras_found.emit,
                            failed=lambda m, d: self.cameras_found.emit([]))

    # -- running -------------------------------------------------------------------------------

    def start(self, source_spec: str, settings: Settings, start_at: int = 0) -> None:
        """Open the source (a video from frame `start_at`) and start the engine in a pool
        thread; `started` or `failed`."""
        if self.state is not Lifecycle.IDLE:
            return
        self.settings = settings
        self.state = Lifecycle.STARTING
        cancel = self._cancel_start = threading.Event()
        models = self.models

        def work(_progress):
            from kpopcam.live.loading import build_engine
            from kpopcam.live.sources import open_source

            source = open_source(source_spec, start_at=start_at)
            if models.portraits is not None:
                from kpopcam.vision.portrait import PortraitOptions

                p = settings.portrait
                models.portraits.options = PortraitOptions(strength=p.strength, lens=p.lens)
            engine = build_engine(settings, source, models.face_models, models.portraits,
                                  on_frame=self._on_frame, on_analysis=self._on_analysis,
                                  on_capture=self._on_capture,
                                  on_capture_error=self.capture_failed.emit)
            if cancel.is_set():  # stopped or closed while the source was opening
                engine.stop()
            engine.start()
            if cancel.is_set():  # ... or while it was starting: the GUI may be gone by now
                engine.stop()
                engine.wait(5)
            return engine

        def done(engine):
            self.engine = engine
            self._session_captures = 0
            self._timer.start()
            if cancel.is_set():  # stop() or shutdown() came while it was starting
                engine.stop()  # _poll says `stopped` once it has ended
            else:
                self.state = Lifecycle.RUNNING
                self.started.emit(engine.source.name)

        def failed(message, details):
            self.state = Lifecycle.IDLE
            self.failed.emit(message, details)
            self.stopped.emit(message)

        self.workers.submit(work, done=done, failed=failed)

    def stop(self) -> None:
        """Ask the engine to stop, also while it is still starting; `stopped` follows once
        its captures are saved."""
        if self.state not in (Lifecycle.STARTING, Lifecycle.RUNNING):
            return
        self.state = Lifecycle.STOPPING
        if self._cancel_start is not None:
            self._cancel_start.set()
        if self.engine is not None:
            self.engine.stop()

    def post_playback(self, request) -> bool:
        """Hand a Seek or Pause (frozen values) to a running video file's source thread;
        False when the running source is not a video file."""
        source = self.engine.source if self.engine is not None else None
        if source is None or not hasattr(source, "post"):
            return False
        source.post(request)
        return True

    def preview(self, spec: str, position: int = 0) -> None:
        """A still of the video file `spec` at `position`, decoded in a pool thread:
        `previewed`, or `failed`. While one is decoding only the newest wish waits."""
        if self._preview_busy:
            self._preview_next = (spec, position)
            return
        self._preview_busy = True

        def work(_progress):
            from kpopcam.live.sources import read_video_frame

            still = read_video_frame(spec, position)
            return Preview(spec, bgr_qimage(still.image), still.position, still.frame_count,
                           still.fps)

        def settled():
            self._preview_busy = False
            if self._preview_next is not None:
                wish, self._preview_next = self._preview_next, None
                self.preview(*wish)

        def done(preview):
            self.previewed.emit(preview)
            settled()

        def failed(message, details):
            self.failed.emit(message, details)
            settled()

        self.workers.submit(work, done=done, failed=failed)

    def update_rule(self, settings: Settings) -> None:
        """New target star, emotion or sensitivity for a running engine: a new frozen rule,
        taken by the analysis thread at its next frame."""
        self.settings = settings
        if self.engine is not None:
            from kpopcam.live.trigger import CaptureRule

            self.engine.analyzer.post_rule(CaptureRule.from_settings(settings.trigger))

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop the engine, also one still starting (its start task is waited for by
        wait_for_tasks once the window is gone, and stops the engine it made)."""
        if self._cancel_start is not None:
            self._cancel_start.set()
        if self.engine is not None:
            self.engine.stop()
            self.engine.wait(timeout)

    def wait_for_tasks(self, timeout: float = 120.0) -> bool:
        """True when no background task is left. Python must not shut down under a task
        that is still importing a model's library: the import then fails with a baffling error."""
        return self.workers.wait(int(timeout * 1000))

    def _poll(self) -> None:
        engine = self.engine
        if engine is None:
            self._timer.stop()
            return
        snap = engine.snapshot()
        self.stats_changed.emit({
            "fps": snap.analysed_fps, "latency_ms": self._latest_ms, "faces": self._faces,
            "captures": self._session_captures, "frames_in": snap.frames_in,
            "dropped": snap.frames_dropped,
        })
        if engine.running:
            return
        self._timer.stop()
        self.engine = None
        self.state = Lifecycle.IDLE
        if engine.error is not None:
            import traceback

            details = "".join(traceback.format_exception(engine.error))
            self.failed.emit(f"The run stopped: {engine.error}", details)
        self.stopped.emit(engine.stats.end_reason or "stopped")

    # -- engine callbacks (engine threads) -------------------------------------------------------

    def _on_frame(self, frame) -> None:
        qimage = bgr_qimage(frame.image)
        with self._slot_lock:
            self._latest_image, self._latest_frame = qimage, frame
            self._recent_frames.append(frame)
            emit = not self._frame_pending
            self._frame_pending = True
        if emit:  # the GUI takes the newest when it gets to it: no backlog of frames
            self.frame_ready.emit()

    def _on_analysis(self, analysis) -> None:
        with self._slot_lock:
            self._latest_analysis = analysis
        self._latest_ms = sum(analysis.stage_ms.values())
        self._faces = len(analysis.faces)
        self.analysed.emit(analysis)

    def _on_capture(self, capture) -> None:
        self._session_captures += 1
        thumbnail = read_thumbnail(capture.portrait, TOAST_PX)
        self.captured.emit(capture, thumbnail)
        self.captured_face.emit(capture, face_of_capture(capture) or thumbnail)

    def latest_image(self) -> QImage | None:
        with self._slot_lock:
            self._frame_pending = False
            return self._latest_image

    def latest_frame(self):
        """The source frame now on screen (an owned Frame), or None."""
        with self._slot_lock:
            return self._latest_frame

    def frame_of(self, analysis):
        """The frame an analysis was made on (its boxes fit it), else the newest frame."""
        with self._slot_lock:
            for frame in self._recent_frames:
                if frame.number == analysis.frame_number:
                    return frame
            return self._latest_frame

    # -- stars ---------------------------------------------------------------------------------

    def enroll(self, name: str, photos: list[Path], lookalikes: bool = False) -> threading.Event:
        """Enrol photos as `name` in a pool thread: enrol_progress, then enrolled or failed.
        Setting the returned event cancels it; nothing is added then. lookalikes: add faces
        that look more like another star too (the fan said they are her)."""
        cancel = threading.Event()

        def work(progress):
            from kpopcam.enrollment import enroll

            total = len(photos)
            progress(0, total, "Waiting for the face models to load…")
            models = self._wait_for_models(cancel)
            counter = iter(range(1, total + 1))
            progress(0, total, "")

            def on_photo(photo):
                if cancel.is_set():
                    raise EnrolCancelled(f"enrolling {name} was cancelled; nothing was added")
                progress(next(counter), total, Path(photo).name)

            return enroll(name, photos, models.photo_detector, models.face_models.embedder,
                          self.gallery, flip=self.settings.identity.flip, on_photo=on_photo,
                          lookalikes=lookalikes)

        def done(report):
            self.stars_changed.emit()
            self.enrolled.emit(name, report)

        self.workers.submit(work, done=done, progress=self.enrol_progress.emit,
                            failed=lambda m, d: self.failed.emit(
                                f"Enrolling {name} failed: {m}", d))
        return cancel

    def add_live_face(self, name: str, box: tuple[float, float, float, float],
                      frame=None, looks: tuple = ()) -> None:
        """Add the face at `box` of `frame` (by default the frame on screen) to the star
        `name` (made if new): the best distinct looks its track has had (several poses:
        `looks`, the clicked report's album, else the album of the face at `box` now), or
        the frame's face when the track has none yet."""
        if frame is None:
            frame = self.latest_frame()
        with self._slot_lock:
            analysis = self._latest_analysis
        looks = tuple(looks) or _looks_at(analysis, box)
        if frame is None and not looks:
            return
        image = None if looks else frame.image.copy()  # an owned copy for the pool thread
        number = frame.number if frame is not None else 0
        source = self.engine.source.name if self.engine else "live"
        flip = self.settings.identity.flip

        def work(_progress):
            from kpopcam.enrollment import enroll_frame_face, looks_as_faces

            models = self._wait_for_models()
            embedder = models.face_models.embedder
            if looks:
                return self.gallery.add_faces(name, looks_as_faces(looks, source, embedder,
                                                                   flip))
            import cv2

            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            enroll_frame_face(name, rgb, box, f"{source} frame {number}",
                              models.photo_detector, embedder, self.gallery, flip=flip)
            return 1

        def done(count):
            self.stars_changed.emit()
            self.face_added.emit(name)
            self.faces_added.emit(name, count)

        self.workers.submit(work, done=done, failed=lambda m, d: self.failed.emit(
            f"The face could not be added to {name}: {m}", d))

    def _wait_for_models(self, cancel: threading.Event | None = None) -> LoadedModels:
        """The models, once loaded (enrolment asked for during loading waits for them); an
        error at once when they could not be loaded or the wait is cancelled."""
        while not self._models_settled.wait(0.1):
            if cancel is not None and cancel.is_set():
                raise EnrolCancelled("cancelled while the face models were loading")
        if self.models is None:
            raise RuntimeError(f"the face models could not be loaded ({self.load_error})")
        return self.models


def bgr_qimage(image) -> QImage:
    """An owned QImage of a BGR numpy picture."""
    h, w = image.shape[:2]
    return QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888).copy()


def face_of_capture(capture) -> QImage | None:
    """The star's face cut from the saved portrait (vision/gallery_crop.face_view); None for
    a capture without a face box or an unreadable file."""
    if capture.face_box is None:
        return None
    from kpopcam.images import ImageReadError, read_rgb
    from kpopcam.vision.gallery_crop import face_view

    try:
        face = face_view(read_rgb(capture.portrait), capture.face_box)
    except ImageReadError:
        return None
    h, w = face.shape[:2]
    return QImage(face.data, w, h, face.strides[0], QImage.Format.Format_RGB888).copy()


def _looks_at(analysis, box) -> tuple:
    """The album of the reported face at `box` (the one it overlaps most), or ()."""
    if analysis is None:
        return ()
    from kpopcam.types import iou

    best = max(analysis.faces, key=lambda f: iou(f.box, box), default=None)
    return best.album if best is not None and iou(best.box, box) >= 0.5 else ()


def read_thumbnail(path: Path, side: int) -> QImage:
    """A JPEG decoded straight to about `side` pixels (cheap: JPEG decodes at 1/2, 1/4, 1/8)."""
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > side:
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return image if not image.isNull() else QImage()


__all__ = ["EngineBridge", "LoadedModels", "Lifecycle", "Preview", "load_models",
           "read_thumbnail"]
