"""Real video files made from real photos, and a gallery with the astronaut enrolled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpopcam.enrollment import enroll
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg

STAR = "Eileen"
SIZE = (640, 480)
BACKGROUND = 70


def place(canvas: np.ndarray, rgb: np.ndarray, scale: float, x: int, y: int) -> None:
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    canvas[y : y + h, x : x + w] = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)


def write_video(path, segments, fps: float = 10.0, size=SIZE, codec: str = "mp4v") -> str:
    """segments: (seconds, photo or None, scale[, x]) shown one after another; the photo
    drifts slowly to the right from x, as a filmed face would."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, size)
    assert writer.isOpened()
    for seconds, photo, scale, *x in segments:
        for i in range(round(seconds * fps)):
            frame = np.full((size[1], size[0], 3), BACKGROUND, np.uint8)
            if photo is not None:
                place(frame, photo, scale, (x[0] if x else 120) + 2 * (i % 40), 60)
            writer.write(frame)
    writer.release()
    return str(path)


@pytest.fixture(scope="session")
def star_gallery(tmp_path_factory, astronaut, detector, embedder):
    folder = tmp_path_factory.mktemp("live_gallery")
    photo = save_jpeg(astronaut, folder / "eileen.jpg")
    with StarGallery(folder / "stars.sqlite") as gallery:
        assert enroll(STAR, [photo], detector, embedder, gallery).added
        yield gallery
