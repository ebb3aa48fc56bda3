"""Where frames come from: a camera, a video file, the screen, or a folder of images.

Every source yields `Frame`s (BGR pixels, frame number, timestamp in seconds of stream time).
A source that cannot start raises `SourceError` with a message for a fan; one that ends or
breaks mid-way simply stops yielding and says why in `end_reason`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.files import reason_of
from kpopcam.images import IMAGE_SUFFIXES, ImageReadError, read_rgb

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg"})
CAMERA_READ_RETRIES = 5  # a camera may drop a frame now and then; this many in a row is an end


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # HxWx3 uint8 BGR, owned by whoever holds the Frame
    number: int  # 0, 1, 2, ... in the order the source produced them
    timestamp: float  # seconds of stream time since the first frame
    position: int | None = None  # the frame's place in a video file (moves on a seek)


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message says what to do."""


class FrameSource:
    """Base of all sources: iterate `frames()`, then read `end_reason`; `close()` stops."""

    name: str = "source"
    fps: float | None = None  # the source's own rate, when it has one
    end_reason: str = ""

    def __init__(self) -> None:
        self._closed = False

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Seek:
    """Go to this frame of the video file (0-based)."""

    position: int


@dataclass(frozen=True)
class Pause:
    paused: bool


PlaybackRequest = Seek | Pause


class VideoFileSource(FrameSource):
    """A video file, played at its own frame rate (`realtime=True`, as a live stream would
    arrive) or as fast as it decodes (batch work); `loops` times over (soak runs).

    Only the source thread touches the capture: other threads `post` Seek and Pause requests
    (frozen values), which it takes before reading its next frame. Frame numbers and stream
    time keep growing across seeks and pauses (the tracker and the trigger rely on it); the
    place in the file is `Frame.position`."""

    def __init__(self, path: str | Path, realtime: bool = True, loops: int = 1,
                 start_at: int = 0):
        super().__init__()
        self.path = Path(path)
        self.name = self.path.name
        self.realtime = realtime
        self.loops = loops
        if not self.path.is_file():
            raise SourceError(f"video {self.path} does not exist")
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"video {self.path} cannot be opened (not a video, or a format "
                              "OpenCV cannot decode)")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._requests: queue.SimpleQueue[PlaybackRequest] = queue.SimpleQueue()
        self._wake = threading.Event()
        if start_at > 0:
            self.post(Seek(start_at))

    def post(self, request: PlaybackRequest) -> None:
        """Seek or pause; safe from any thread (the source thread carries it out)."""
        self._requests.put(request)
        self._wake.set()

    def close(self) -> None:
        super().close()
        self._wake.set()

    def frames(self) -> Iterator[Frame]:
        player = _Player(self)
        try:
            while not self._closed:
                if not player.take_requests():
                    self._wake.wait(0.1)
                    self._wake.clear()
                    continue
                frame = player.read()
                if frame is None:
                    self.end_reason = self._why_ended(player.read_in_loop, player.position)
                    return
                yield frame
            self.end_reason = "stopped"
        finally:
            self._capture.release()

    def _take_request(self) -> PlaybackRequest | None:
        try:
            return self._requests.get_nowait()
        except queue.Empty:
            return None

    def _why_ended(self, frames_read: int, position: int) -> str:
        """frames_read: since the start or the last loop; position: the next frame of the
        file (a seek moves it)."""
        if frames_read == 0 and position == 0:
            return f"video {self.path.name} has no readable frames"
        if self.frame_count and position < self.frame_count - 1:
            return (f"video {self.path.name} broke off at frame {position} of "
                    f"{self.frame_count} (the file may be truncated)")
        return "end of video"


class _Player:
    """The source thread's own playback state of a VideoFileSource: where it is in the file,
    paused or not, and the clock that paces real-time playback."""

    def __init__(self, source: VideoFileSource):
        self.source = source
        self.number = 0  # frames produced
        self.position = 0  # the next frame of the file
        self.read_in_loop = 0
        self.paused = False
        self.show_one = False  # a seek while paused shows its frame
        self._restart_clock()

    def _restart_clock(self) -> None:
        self.clock, self.clock_stream = time.monotonic(), self.number / self.source.fps

    def take_requests(self) -> bool:
        """Carry out the posted requests; False while paused with nothing to show. Of many
        seeks (a seek bar dragged) only the last is made: each costs a decode from a key
        frame."""
        seek, taken = None, False
        while (request := self.source._take_request()) is not None:
            taken = True
            if isinstance(request, Seek):
                seek = request
            elif isinstance(request, Pause):
                self.paused = request.paused
        if seek is not None:
            last = max(0, self.source.frame_count - 1)
            self.position = max(0, min(seek.position, last))
            self.source._capture.set(cv2.CAP_PROP_POS_FRAMES, self.position)
            self.show_one = self.paused
        if taken:
            self._restart_clock()
        return not self.paused or self.show_one

    def read(self) -> Frame | None:
        capture, s = self.source._capture, self.source
        ok, image = capture.read()
        if (not ok or image is None) and self.read_in_loop > 0 and s.loops > 1:
            s.loops -= 1
            self.read_in_loop, self.position = 0, 0
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = capture.read()
        if not ok or image is None:
            return None
        self.show_one = False
        timestamp = self.number / s.fps
        if s.realtime:
            _sleep_until(self.clock + timestamp - self.clock_stream)
        frame = Frame(image, self.number, timestamp, self.position)
        self.number += 1
        self.position += 1
        self.read_in_loop += 1
        return frame


@dataclass(frozen=True)
class VideoStill:
    """One frame of a video file, for a preview before a run."""

    image: np.ndarray  # BGR
    position: int
    frame_count: int
    fps: float


def read_video_frame(path: str | Path, position: int = 0) -> VideoStill:
    """The frame at `position` (clamped to the video), for a preview."""
    source = VideoFileSource(path, realtime=False)
    try:
        last = max(0, source.frame_count - 1)
        position = max(0, min(position, last))
        if position:
            source._capture.set(cv2.CAP_PROP_POS_FRAMES, position)
        ok, image = source._capture.read()
        if not ok or image is None:
            raise SourceError(f"video {source.path.name} has no readable frame at {position}")
        return VideoStill(image, position, source.frame_count, source.fps)
    finally:
        source._capture.release()


class CameraSource(FrameSource):
    """A camera by index, at the resolution asked for when the camera offers it."""

    def __init__(self, index: int = 0, width: int | None = None, height: int | None = None):
        super().__init__()
        self.name = f"camera {index}"
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise SourceError(f"no camera at index {index}: is one connected, and not in use "
                              "by another app? Try a video file or the screen instead")
        if width and height:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else None

    def frames(self) -> Iterator[Frame]:
        start, number, failures = time.monotonic(), 0, 0
        try:
            while not self._closed:
                ok, image = self._capture.read()
                if not ok or image is None:
                    failures += 1
                    if failures >= CAMERA_READ_RETRIES:
                        self.end_reason = f"{self.name} stopped sending pictures"
                        return
                    time.sleep(0.05)
                    continue
                failures = 0
                yield Frame(image, number, time.monotonic() - start)
                number += 1
            self.end_reason = "stopped"
        finally:
            self._capture.release()


def list_cameras(max_index: int = 5) -> list[int]:
    """Indices of the cameras that really open and give a picture."""
    found = []
    for index in range(max_index):
        capture = cv2.VideoCapture(index)
        if capture.isOpened() and capture.read()[0]:
            found.append(index)
        capture.release()
    return found


class ScreenSource(FrameSource):
    """The screen, or a region (left, top, width, height) of it, at up to `fps` grabs a second."""

    def __init__(self, region: tuple[int, int, int, int] | None = None, fps: float = 30.0,
                 monitor: int = 1):
        super().__init__()
        import mss

        self.name = "screen"
        self.fps = fps
        try:
            self._grabber = mss.MSS()
            screens = self._grabber.monitors
            if monitor >= len(screens):
                raise SourceError(f"there is no screen {monitor} (found {len(screens) - 1})")
            self._area = dict(screens[monitor])
            if region:
                self._area = _region_on_screen(region, screens[0])
        except mss.exception.ScreenShotError as exc:
            raise SourceError(f"the screen cannot be captured here: {_first_line(exc)}") from exc

    def frames(self) -> Iterator[Frame]:
        import mss

        start, number = time.monotonic(), 0
        try:
            while not self._closed:
                try:
                    shot = self._grabber.grab(self._area)
                except mss.exception.ScreenShotError as exc:  # X11 adds a dump: first line
                    self.end_reason = f"the screen could not be captured: {_first_line(exc)}"
                    return
                image = cv2.cvtColor(np.asarray(shot), cv2.COLOR_BGRA2BGR)
                yield Frame(image, number, time.monotonic() - start)
                number += 1
                _sleep_until(start + number / self.fps)
            self.end_reason = "stopped"
        finally:
            self._grabber.close()


@dataclass(frozen=True)
class ScreenGrab:
    """A picture of all screens together, and where its top-left corner lies."""

    image: np.ndarray  # BGR
    left: int
    top: int


def grab_screen() -> ScreenGrab:
    """All screens at once, for a fan to drag a region over."""
    import mss

    try:
        with mss.MSS() as grabber:
            area = grabber.monitors[0]
            shot = grabber.grab(area)
    except mss.exception.ScreenShotError as exc:
        raise SourceError(f"the screen cannot be captured here: {_first_line(exc)}") from exc
    return ScreenGrab(cv2.cvtColor(np.asarray(shot), cv2.COLOR_BGRA2BGR), area["left"],
                      area["top"])


class WindowSource(FrameSource):
    """One window, followed as it moves or changes size, at up to `fps` grabs a second. It is
    grabbed where it lies on the screen: what covers it is seen too (OBS's Xcomposite capture
    avoids that; it needs a compositing window manager)."""

    FOLLOW_S = 0.5  # how often the window's place is looked up again

    def __init__(self, window_id: int, fps: float = 30.0):
        super().__init__()
        import mss

        from kpopcam.live.windows import find_window

        self.fps = fps
        self.window_id = window_id
        self._find = find_window
        window = find_window(window_id)
        if window is None:
            raise SourceError("that window is closed or minimised: pick it again from the list")
        self.name = window.title or f"window {window_id:#x}"
        self._window = window
        try:
            self._grabber = mss.MSS()
            self._screen = dict(self._grabber.monitors[0])
        except mss.exception.ScreenShotError as exc:
            raise SourceError(f"the screen cannot be captured here: {_first_line(exc)}") from exc

    def frames(self) -> Iterator[Frame]:
        import mss

        start, number, looked = time.monotonic(), 0, time.monotonic()
        try:
            while not self._closed:
                if time.monotonic() - looked > self.FOLLOW_S:
                    self._window, looked = self._find(self.window_id), time.monotonic()
                area = self._window and _clipped(self._window.region, self._screen)
                if area is None:
                    self.end_reason = f"the window {self.name!r} was closed or minimised"
                    return
                try:
                    shot = self._grabber.grab(area)
                except mss.exception.ScreenShotError as exc:
                    self.end_reason = f"the window could not be captured: {_first_line(exc)}"
                    return
                yield Frame(cv2.cvtColor(np.asarray(shot), cv2.COLOR_BGRA2BGR), number,
                            time.monotonic() - start)
                number += 1
                _sleep_until(start + number / self.fps)
            self.end_reason = "stopped"
        finally:
            self._grabber.close()


def _clipped(region: tuple[int, int, int, int], screen: dict) -> dict | None:
    """The part of a window that lies on the screen; None when too little does."""
    left, top, width, height = region
    x1, y1 = max(left, screen["left"]), max(top, screen["top"])
    x2 = min(left + width, screen["left"] + screen["width"])
    y2 = min(top + height, screen["top"] + screen["height"])
    if x2 - x1 < 16 or y2 - y1 < 16:
        return None
    return {"left": x1, "top": y1, "width": x2 - x1, "height": y2 - y1}


class ImageFolderSource(FrameSource):
    """The images of a folder in name order, each shown for `seconds_per_image` like a slide:
    repeated as frames at `fps` (so that an emotion can hold long enough to be caught), at
    that pace in real time (`realtime=True`, as a fan would watch them) or at once (batch)."""

    def __init__(self, folder: str | Path, seconds_per_image: float = 1.0, fps: float = 10.0,
                 realtime: bool = True):
        super().__init__()
        self.folder = Path(folder)
        self.name = self.folder.name
        self.fps = fps
        self.realtime = realtime
        self.repeats = max(1, round(seconds_per_image * fps))
        self.skipped: list[tuple[Path, str]] = []
        try:
            self._paths = sorted(p for p in self.folder.iterdir()
                                 if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        except OSError as exc:
            raise SourceError(f"folder {self.folder} cannot be read: {reason_of(exc)}") from exc
        if not self._paths:
            raise SourceError(f"folder {self.folder} has no images")

    def frames(self) -> Iterator[Frame]:
        start, number = time.monotonic(), 0
        for path in self._paths:
            try:
                image = cv2.cvtColor(read_rgb(path), cv2.COLOR_RGB2BGR)
            except ImageReadError as exc:
                self.skipped.append((path, str(exc)))
                continue
            for _ in range(self.repeats):
                if self._closed:
                    self.end_reason = "stopped"
                    return
                timestamp = number / self.fps
                if self.realtime:
                    _sleep_until(start + timestamp)
                yield Frame(image.copy(), number, timestamp)
                number += 1
        self.end_reason = "end of folder"


def open_source(spec: str, realtime: bool = True, start_at: int = 0) -> FrameSource:
    """A source from what a fan types: camera:0, screen, screen:LEFT,TOP,WIDTH,HEIGHT,
    window:ID (an X11 window), a video file (from frame `start_at`) or a folder of images."""
    kind, _, rest = spec.partition(":")
    if kind == "window":
        try:
            return WindowSource(int(rest, 0))
        except ValueError:
            raise SourceError(f"window must be an X11 window id: {spec!r}") from None
    if kind == "camera":
        try:
            return CameraSource(int(rest or 0))
        except ValueError:
            raise SourceError(f"camera index must be a number: {spec!r}") from None
    if kind == "screen":
        return ScreenSource(_region(rest) if rest else None)
    path = Path(spec).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, realtime=realtime)
    if not path.exists():
        raise SourceError(f"{spec!r} is not a camera (camera:0), the screen (screen) or an "
                          "existing video file or folder")
    return VideoFileSource(path, realtime=realtime, start_at=start_at)


def _region(text: str) -> tuple[int, int, int, int]:
    try:
        left, top, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise SourceError(f"screen region must be LEFT,TOP,WIDTH,HEIGHT, got {text!r}") from None
    if width <= 0 or height <= 0:
        raise SourceError("screen region needs a positive width and height")
    return left, top, width, height


def _region_on_screen(region: tuple[int, int, int, int], screen: dict) -> dict:
    """mss's grab area for a region, which must lie on the screen: X11 answers a grab
    outside it with an error dump instead of a picture."""
    left, top, width, height = region
    s_left, s_top, s_width, s_height = (screen[k] for k in ("left", "top", "width", "height"))
    if (left < s_left or top < s_top or left + width > s_left + s_width
            or top + height > s_top + s_height):
        raise SourceError(
            f"the screen region {left},{top},{width},{height} (LEFT,TOP,WIDTH,HEIGHT) is not "
            f"all on the screen, which is {s_width}x{s_height} at {s_left},{s_top}")
    return {"left": left, "top": top, "width": width, "height": height}


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
