"""Plain data shared by every layer: no behaviour beyond simple derived values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013 class order; every emotion vector in the app is in this order."""


@dataclass(frozen=True)
class Face:
    """One face found on an image, in that image's pixel coordinates.

    box: (x1, y1, x2, y2); landmarks: 5x2 array (left eye, right eye, nose,
    left mouth corner, right mouth corner) as seen in the image, or None when
    the detector gives none (Haar).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = field(default=None, compare=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass(frozen=True)
class StarMatch:
    """Who a face is: a star's name and the similarity, or name None for unknown."""

    name: str | None
    similarity: float

    @property
    def known(self) -> bool:
        return self.name is not None


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
