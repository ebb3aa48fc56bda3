"""The real-time engine: a source thread, an analysis thread and a capture thread.

source   -> latest-frame slot (older frames are dropped)
analysis -> newest frame only (no backlog) -> FrameAnalyzer -> Analysis (+ fires, each
            carrying the best frame of its moment)
capture  -> that frame -> portrait -> CaptureStore

Each counter of EngineStats has one writing thread; other threads read `snapshot()`.
Callbacks run on the engine's threads; a GUI must hand them over to its own thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from kpopcam.captures import Capture, CaptureError, CaptureStore, new_session_id
from kpopcam.live.analysis import Analysis, FrameAnalyzer
from kpopcam.live.sources import Frame, FrameSource
from kpopcam.live.trigger import Fire

log = logging.getLogger(__name__)

TIMINGS_KEPT = 20_000  # per timing series: the newest this many (memory stays flat for hours)
ERRORS_KEPT = 100


def _timings() -> deque[float]:
    return deque(maxlen=TIMINGS_KEPT)


@dataclass
class EngineStats:
    """Written by the engine's threads (source: frames_in, end_reason; analysis:
    frames_analysed, frames_dropped, the timings; capture: the rest). Read it whole once the
    engine has finished; while it runs, read `Engine.snapshot()`."""

    frames_in: int = 0
    frames_analysed: int = 0
    frames_dropped: int = 0  # frames the analysis skipped to stay at the newest: only grows
    captures: int = 0
    duplicates_skipped: int = 0
    started: float = field(default_factory=time.monotonic)
    first_frame_at: float | None = None  # monotonic time the first frame came (source)
    last_analysed_at: float | None = None  # ... and the last analysis ended (analysis)
    stage_ms: dict[str, deque[float]] = field(default_factory=dict)
    analysis_ms: deque[float] = field(default_factory=_timings)  # whole analysis of a frame
    trigger_to_disk_ms: deque[float] = field(default_factory=_timings)
    capture_errors: deque[str] = field(default_factory=lambda: deque(maxlen=ERRORS_KEPT))
    end_reason: str = ""

    @property
    def analysed_fps(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.frames_analysed / elapsed if elapsed > 0 else 0.0

    @property
    def stream_fps(self) -> float:
        """Frames analysed per second of the stream: from the first frame's arrival to the end
        of the last analysis (opening the source and finishing the captures not counted)."""
        if self.first_frame_at is None or self.last_analysed_at is None:
            return 0.0
        span = self.last_analysed_at - self.first_frame_at
        return self.frames_analysed / span if span > 0 else 0.0


@dataclass(frozen=True)
class EngineSnapshot:
    """The engine's counters at one moment, for another thread to show."""

    frames_in: int
    frames_analysed: int
    frames_dropped: int
    captures: int
    capture_errors: int
    analysed_fps: float


class Engine:
    def __init__(
        self,
        source: FrameSource,
        analyzer: FrameAnalyzer,
        portraits=None,
        store: CaptureStore | None = None,
        on_frame: Callable[[Frame], None] | None = None,
        on_analysis: Callable[[Analysis], None] | None = None,
        on_capture: Callable[[Capture], None] | None = None,
        on_capture_error: Callable[[str], None] | None = None,
        every_frame: bool = False,
    ):
        self.source, self.analyzer = source, analyzer
        self.portraits, self.store = portraits, store
        self.on_frame, self.on_analysis, self.on_capture = on_frame, on_analysis, on_capture
        self.on_capture_error = on_capture_error
        self.stats = EngineStats()
        self.session = new_session_id()  # stamped on every capture of this run
        # every_frame: batch work (a file read as fast as it decodes): the source waits for
        # the analysis to take each frame, so none is dropped and they are analysed in order
        self.every_frame = every_frame
        self._taken = -1  # number of the last frame the analysis took
        self._latest: Frame | None = None
        self._latest_ready = threading.Condition()
        self._source_done = threading.Event()
        self._stop = threading.Event()
        self._fires: queue.Queue[tuple[Fire, float] | None] = queue.Queue()
        self._recent = RecentCaptures()
        self._capturing = threading.Event()  # a fire is queued or being saved
        analyzer.yield_to_capture = self._capturing.is_set
        # daemons: a window closed mid-run must not keep the process alive; captures are
        # written atomically, so one cut short leaves nothing half-written
        self._threads = [
            threading.Thread(target=self._guard(loop), name=f"kpopcam-{name}", daemon=True)
            for name, loop in (("source", self._source_loop), ("analysis", self._analysis_loop),
                               ("capture", self._capture_loop))
        ]
        self.error: BaseException | None = None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> Engine:
        """Start the threads; an engine stopped before it started stays stopped."""
        if self._stop.is_set():
            self.source.close()
            return self
        self.stats.started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Ask every thread to finish; captures already due are still saved."""
        self._stop.set()
        self.source.close()
        with self._latest_ready:
            self._latest_ready.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream has ended and every capture is saved; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            if thread.ident is None:  # never started
                continue
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def snapshot(self) -> EngineSnapshot:
        s = self.stats
        return EngineSnapshot(s.frames_in, s.frames_analysed, s.frames_dropped, s.captures,
                              len(s.capture_errors), s.analysed_fps)

    # -- threads -----------------------------------------------------------------------------

    def _guard(self, loop):
        def run():
            try:
                loop()
            except BaseException as exc:  # an engine thread must never die silently
                log.exception("%s failed", threading.current_thread().name)
                self.error = exc
                self.stop()
                self._source_done.set()
                self._fires.put(None)
        return run

    def _source_loop(self) -> None:
        try:
            for frame in self.source.frames():
                with self._latest_ready:
                    while self.every_frame and self._untaken() and not self._stop.is_set():
                        self._latest_ready.wait(0.1)
                    self._latest = frame
                    self.stats.frames_in += 1
                    if self.stats.first_frame_at is None:
                        self.stats.first_frame_at = time.monotonic()
                    self._latest_ready.notify_all()
                if self.on_frame:
                    self.on_frame(frame)
                if self._stop.is_set():
                    break
        finally:
            self.stats.end_reason = self.source.end_reason or "stopped"
            self._source_done.set()
            with self._latest_ready:
                self._latest_ready.notify_all()

    def _analysis_loop(self) -> None:
        last_number, last_time = -1, 0.0
        try:
            while True:
                frame = self._next_frame(last_number)
                if frame is None:  # moments held long enough when the stream ended are kept
                    for fire in self.analyzer.finish(last_time):
                        self._fires.put((fire, time.perf_counter()))
                    return
                self.stats.frames_dropped += frame.number - last_number - 1
                last_number, last_time = frame.number, frame.timestamp
                start = time.perf_counter()
                analysis = self.analyzer.analyse(frame)
                self.stats.analysis_ms.append((time.perf_counter() - start) * 1000)
                self.stats.frames_analysed += 1
                self.stats.last_analysed_at = time.monotonic()
                for name, ms in analysis.stage_ms.items():
                    self.stats.stage_ms.setdefault(name, _timings()).append(ms)
                for fire in analysis.fires:
                    self._capturing.set()
                    self._fires.put((fire, time.perf_counter()))
                if self.on_analysis:
                    self.on_analysis(analysis)
        finally:
            self.analyzer.close()
            self._fires.put(None)
            if self._source_done.is_set():  # frames that came after the last one analysed
                self.stats.frames_dropped += max(0, self.stats.frames_in - 1 - last_number)

    def _next_frame(self, last_number: int) -> Frame | None:
        """The newest frame not yet analysed; None once the stream is over."""
        with self._latest_ready:
            while True:
                frame = self._latest
                if frame is not None and frame.number > last_number:
                    self._taken = frame.number
                    self._latest_ready.notify_all()
                    return frame
                if self._source_done.is_set() or self._stop.is_set():
                    return None
                self._latest_ready.wait(0.1)

    def _untaken(self) -> bool:
        return self._latest is not None and self._latest.number > self._taken

    def _capture_loop(self) -> None:
        while (item := self._fires.get()) is not None:
            try:
                self._save(*item)
            finally:
                if self._fires.empty():  # a hint only: a fire queued meanwhile sets it again
                    self._capturing.clear()

    def _save(self, fire: Fire, fired_at: float) -> None:
        try:
            capture = self._capture(fire)
        except CaptureError as exc:
            self.stats.capture_errors.append(str(exc))
            log.error("%s", exc)
            if self.on_capture_error:
                self.on_capture_error(str(exc))
            return
        if capture is None:
            return
        self.stats.captures += 1
        self.stats.trigger_to_disk_ms.append((time.perf_counter() - fired_at) * 1000)
        if self.on_capture:
            self.on_capture(capture)

    # -- capturing ---------------------------------------------------------------------------

    def _capture(self, fire: Fire) -> Capture | None:
        best = fire.best
        if self.store is None or best is None:  # nowhere to save, or no frame to save
            return None
        rgb = cv2.cvtColor(fire.frame.image, cv2.COLOR_BGR2RGB)
        if self._recent.is_duplicate(fire.star, best.timestamp, rgb, best.face.box):
            self.stats.duplicates_skipped += 1
            return None
        portrait = self.portraits.render(rgb, best.face) if self.portraits else rgb
        return self.store.save(rgb, portrait, fire.star, fire.emotion, best.score,
                               self.source.name, best.frame_number, face_box=best.face.box,
                               session=self.session)


class RecentCaptures:
    """Remembers each star's last capture to spot the same picture saved twice in one moment
    (an emotion flickering around the threshold with no cooldown). The face is compared, not
    the whole frame: a talking head's second smile differs from the first only there."""

    # Two 32x32 grey thumbnails are one picture when their mean difference is under this share
    # of their contrast (standard deviation): a fixed number of grey levels took a second smile
    # for the first through a camera aimed at a screen, whose glow flattens every difference.
    # 0.075 is the old fixed 3 grey levels on a face of usual contrast (40).
    DIFF = 0.075
    MIN_CONTRAST = 8.0  # grey levels: a flat (dark, blank) thumbnail is not compared more finely
    WINDOW_S = 10.0  # ... when they are also this close in stream time

    def __init__(self):
        self._last: dict[str, tuple[float, np.ndarray]] = {}

    def is_duplicate(self, star: str, timestamp: float, rgb: np.ndarray,
                     face_box: tuple[float, float, float, float] | None = None) -> bool:
        small = cv2.resize(cv2.cvtColor(_face_area(rgb, face_box), cv2.COLOR_RGB2GRAY), (32, 32),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        previous = self._last.get(star)
        self._last[star] = (timestamp, small)
        if previous is None or timestamp - previous[0] > self.WINDOW_S:
            return False
        contrast = max(self.MIN_CONTRAST, (float(small.std()) + float(previous[1].std())) / 2)
        return float(np.abs(small - previous[1]).mean()) < self.DIFF * contrast


def _face_area(rgb: np.ndarray, box) -> np.ndarray:
    """The face with a little margin, or the whole picture when there is no box."""
    if box is None:
        return rgb
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = 0.15 * (x2 - x1), 0.15 * (y2 - y1)
    x1, y1 = max(0, int(x1 - mx)), max(0, int(y1 - my))
    x2, y2 = min(w, int(x2 + mx)), min(h, int(y2 + my))
    return rgb[y1:y2, x1:x2] if x2 - x1 >= 8 and y2 - y1 >= 8 else rgb
