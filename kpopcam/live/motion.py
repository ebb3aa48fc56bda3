"""Faces followed by their own motion between detections (pyramidal Lucas-Kanade optical flow).

On a 1080p crowd a background detection takes 0.3-0.6 s on 2 cores, and the faces walk on in
the meantime: moved at the speed of the last two detections, the boxes trailed the faces (one
in ten drawn boxes overlapped its face by half on crowd-1080p). Here every face box is carried
from frame to frame by the flow of points inside it, and a detection, which is of a frame
some time back, is carried forward the same way, from the frame it was made on to this one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from kpopcam.types import Face

WORK_SIDE = 640  # the flow is computed on a grey copy whose longer side is at most this
GRID = 4  # points per side of the grid laid over the middle of a face
INNER = 0.6  # the grid covers this share of the box (the middle: face, not background)
MIN_POINTS = 5  # fewer points followed well, and the face is not moved by the flow
MAX_ROUND_TRIP_PX = 1.0  # a point that does not flow back to where it started is dropped
LK = dict(winSize=(15, 15), maxLevel=3,
          criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


@dataclass(frozen=True)
class Grey:
    """A frame as the flow reads it: grey, at most WORK_SIDE px, and its scale to the frame."""

    image: np.ndarray
    scale: float

    @classmethod
    def of(cls, bgr: np.ndarray) -> Grey:
        scale = min(1.0, WORK_SIDE / max(bgr.shape[:2]))
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        return cls(grey, scale)


def carried(faces: list[Face], before: Grey, after: Grey) -> list[Face | None]:
    """Each face moved (and scaled) as the picture inside it moved from `before` to `after`;
    None for a face whose points could not be followed (it left, or was covered)."""
    if not faces:
        return []
    grids = [_grid(face.box, before.scale) for face in faces]
    points = np.concatenate(grids).reshape(-1, 1, 2)
    ahead, ok, _ = cv2.calcOpticalFlowPyrLK(before.image, after.image, points, None, **LK)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(after.image, before.image, ahead, None, **LK)
    good = (ok.ravel() == 1) & (ok_back.ravel() == 1) & (
        np.linalg.norm((back - points).reshape(-1, 2), axis=1) <= MAX_ROUND_TRIP_PX)
    start = 0
    moved: list[Face | None] = []
    for face, grid in zip(faces, grids, strict=True):
        span = slice(start, start + len(grid))
        start += len(grid)
        keep = good[span]
        moved.append(_moved(face, grid[keep] / before.scale,
                            ahead.reshape(-1, 2)[span][keep] / after.scale)
                     if keep.sum() >= MIN_POINTS else None)
    return moved


def _grid(box, scale: float) -> np.ndarray:
    x1, y1, x2, y2 = box
    cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * INNER, (y2 - y1) * INNER
    xs = np.linspace(cx - w / 2, cx + w / 2, GRID)
    ys = np.linspace(cy - h / 2, cy + h / 2, GRID)
    return (np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2) * scale).astype(np.float32)


def _moved(face: Face, old: np.ndarray, new: np.ndarray) -> Face:
    """The face under the median shift of its points, scaled by the median change of their
    spread about their middle (a face walking towards the camera grows)."""
    old_mid, new_mid = np.median(old, 0), np.median(new, 0)
    spread_old = np.linalg.norm(old - old_mid, axis=1)
    spread_new = np.linalg.norm(new - new_mid, axis=1)
    usable = spread_old > 1e-3
    zoom = float(np.median(spread_new[usable] / spread_old[usable])) if usable.any() else 1.0
    zoom = float(np.clip(zoom, 0.8, 1.25))
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2 - old_mid[0], (y1 + y2) / 2 - old_mid[1]  # box centre about them
    hw, hh = (x2 - x1) / 2 * zoom, (y2 - y1) / 2 * zoom
    nx, ny = new_mid[0] + cx * zoom, new_mid[1] + cy * zoom
    landmarks = None if face.landmarks is None else (
        (face.landmarks - old_mid) * zoom + new_mid).astype(np.float32)
    return Face((float(nx - hw), float(ny - hh), float(nx + hw), float(ny + hh)), face.score,
                landmarks)
