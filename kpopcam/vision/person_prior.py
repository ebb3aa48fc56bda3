"""Where people probably are, drawn from their face boxes: the portrait U-Net's fourth input.

A face says much about the person it belongs to: the head around it, shoulders about three
face widths wide just under the chin, a body below. Given that as a rough map beside the
photo, a small network trained on a few hundred photos no longer has to guess from colour
and texture alone which blob is a person (the idea of PortraitFCN+, Shen et al. 2016). The
network is trained with the map sometimes left empty, so a person without a found face is
still segmented from the photo alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from kpopcam.types import Face

Box = tuple[float, float, float, float]

HEAD = 1.0  # value inside the head ellipse
BODY = 0.6  # value over the shoulders and body, less sure than the head


def person_prior(shape: tuple[int, int], faces: Iterable[Face | Box]) -> np.ndarray:
    """float32 map of shape (h, w) in [0, 1]; faces (or boxes) in that map's pixels."""
    h, w = shape
    prior = np.zeros((h, w), np.float32)
    for face in faces:
        box = face.box if isinstance(face, Face) else face
        prior = np.maximum(prior, _one_person(h, w, box))
    return prior


def scaled_boxes(faces: Iterable[Face | Box], sx: float, sy: float) -> list[Box]:
    """Boxes multiplied by (sx, sy): from a photo's pixels to a resized copy's."""
    out = []
    for face in faces:
        x1, y1, x2, y2 = face.box if isinstance(face, Face) else face
        out.append((x1 * sx, y1 * sy, x2 * sx, y2 * sy))
    return out


def _one_person(h: int, w: int, box: Box) -> np.ndarray:
    x1, y1, x2, y2 = box
    fw, fh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    cx, chin = (x1 + x2) / 2, y2
    layer = np.zeros((h, w), np.float32)
    body = np.array(
        [
            (cx - 0.35 * fw, chin),
            (cx + 0.35 * fw, chin),
            (cx + 1.4 * fw, chin + 0.7 * fh),
            (cx + 1.6 * fw, chin + 6 * fh),
            (cx - 1.6 * fw, chin + 6 * fh),
            (cx - 1.4 * fw, chin + 0.7 * fh),
        ]
    )
    cv2.fillPoly(layer, [np.round(body).astype(np.int32)], BODY)
    centre = (round(cx), round((y1 + y2) / 2 - 0.05 * fh))
    axes = (max(1, round(0.7 * fw)), max(1, round(0.9 * fh)))
    cv2.ellipse(layer, centre, axes, 0, 0, 360, HEAD, thickness=-1)
    sigma = max(0.5, 0.25 * fw)
    return cv2.GaussianBlur(layer, (0, 0), sigma)


PRIOR_DETECT_SIDE = 640  # photos are searched for faces at most this large (longest side)
PRIOR_MIN_FACE_PX = 20
MIN_FACE_SCORE = 0.9


def prior_detector():
    """The detector whose faces the portrait U-Net was trained with (MTCNN)."""
    from kpopcam.vision.detector import MtcnnDetector  # heavy import, only when needed
    return MtcnnDetector(min_face_px=PRIOR_MIN_FACE_PX)


def faces_for_prior(detector, rgb: np.ndarray) -> list[Face]:
    """The faces on a photo worth drawing a person for, in the photo's pixels.

    Large photos are searched at PRIOR_DETECT_SIDE: a face too small to find there is too
    small to change the mask.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, PRIOR_DETECT_SIDE / max(h, w))
    small = rgb if scale == 1.0 else cv2.resize(
        rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
    )
    found = [f for f in detector.detect(small, color="rgb") if f.score >= MIN_FACE_SCORE]
    return [Face(box=b, score=f.score) for f, b in
            zip(found, scaled_boxes(found, 1 / scale, 1 / scale), strict=True)]
