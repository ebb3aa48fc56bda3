"""Every n-th frame of a video as RGB, read by the app's own video source (batch pace)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from kpopcam.live.sources import VideoFileSource


def sampled_frames(video: Path, every: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number in the file, RGB image) of frames 0, every, 2 * every, ..."""
    for frame in VideoFileSource(video, realtime=False).frames():
        if frame.number % every == 0:
            yield frame.number, cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB)
