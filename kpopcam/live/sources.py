"""Where frames come from: a camera, a video file, the screen, or a folder of images.

Every source yields `Frame`s (BGR pixels, frame number, timestamp in seconds of stream time).
A source that cannot start raises `SourceError` with a message for a fan; one that ends or
breaks mid-way simply stops yielding and says why in `end_reason`.
"""

from __future__ import annotations

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


class VideoFileSource(FrameSource):
    """A video file, played at its own frame rate (`realtime=True`, as a live stream would
    arrive) or as fast as it decodes (batch work); `loops` times over (soak runs)."""

    def __init__(self, path: str | Path, realtime: bool = True, loops: int = 1):
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

    def frames(self) -> Iterator[Frame]:
        start, number, loop_start = time.monotonic(), 0, 0
        try:
            while not self._closed:
                ok, image = self._capture.read()
                if (not ok or image is None) and number > loop_start and self.loops > 1:
                    self.loops -= 1
                    loop_start = number
                    self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                    continue
                if not ok or image is None:
                    self.end_reason = self._why_ended(number - loop_start)
                    return
                timestamp = number / self.fps
                if self.realtime:
                    _sleep_until(start + timestamp)
                yield Frame(image, number, timestamp)
                number += 1
            self.end_reason = "stopped"
        finally:
            self._capture.release()

    def _why_ended(self, frames_read: int) -> str:
        if frames_read == 0:
            return f"video {self.path.name} has no readable frames"
        if self.frame_count and frames_read < self.frame_count - 1:
            return (f"video {self.path.name} broke off at frame {frames_read} of "
                    f"{self.frame_count} (the file may be truncated)")
        return "end of video"


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


def open_source(spec: str, realtime: bool = True) -> FrameSource:
    """A source from what a fan types: camera:0, screen, screen:LEFT,TOP,WIDTH,HEIGHT, a video
    file or a folder of images."""
    kind, _, rest = spec.partition(":")
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
    return VideoFileSource(path, realtime=realtime)


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
