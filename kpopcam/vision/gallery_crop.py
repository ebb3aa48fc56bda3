"""The face crop the star gallery keeps of each enrolled face, so that it can embed the face
again when the embedder changes: a square JPEG around the face with a wide margin, and where
the face and its landmarks lie in it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import cv2
import numpy as np

from kpopcam.types import Face

CROP_PX = 256
CROP_MARGIN = 0.5  # of the face box's side on each side: the crop is twice the face
JPEG_QUALITY = 92
# The thumbnails older galleries kept: 96 px around the face box with a margin of 0.25.
THUMBNAIL_MARGIN = 0.25
MIN_FACE_PX = 60  # a face smaller than this in a thumbnail is too small to embed again


@dataclass(frozen=True)
class GalleryCrop:
    jpeg: bytes
    face: Face  # in the crop's pixel coordinates

    def rgb(self) -> np.ndarray:
        return decode_jpeg(self.jpeg)

    def face_json(self) -> str:
        landmarks = None if self.face.landmarks is None else self.face.landmarks.tolist()
        return json.dumps({"box": list(self.face.box), "landmarks": landmarks})


def make_crop(rgb: np.ndarray, face: Face) -> GalleryCrop:
    """The face of an RGB image cut out for the gallery."""
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * (0.5 + CROP_MARGIN)
    scale = CROP_PX / (2 * half)
    matrix = np.array([[scale, 0, CROP_PX / 2 - cx * scale], [0, scale, CROP_PX / 2 - cy * scale]])
    crop = cv2.warpAffine(
        rgb, matrix, (CROP_PX, CROP_PX),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )
    box = tuple(float(v) for v in _moved(np.array([[x1, y1], [x2, y2]]), matrix).reshape(-1))
    landmarks = None if face.landmarks is None else _moved(face.landmarks, matrix)
    return GalleryCrop(encode_jpeg(crop), Face(box, face.score, landmarks))


def read_crop(jpeg: bytes, face_json: str) -> GalleryCrop:
    data = json.loads(face_json)
    landmarks = data.get("landmarks")
    landmarks = None if landmarks is None else np.asarray(landmarks, np.float32)
    return GalleryCrop(jpeg, Face(tuple(data["box"]), 1.0, landmarks))


def crop_of_thumbnail(jpeg: bytes) -> GalleryCrop | None:
    """An old gallery's thumbnail as a crop (the face box centred in it, no landmarks), or
    None when the face in it is too small to embed again."""
    size = decode_jpeg(jpeg).shape[0]
    side = size / (1 + 2 * THUMBNAIL_MARGIN)
    if side < MIN_FACE_PX:
        return None
    lo, hi = (size - side) / 2, (size + side) / 2
    return GalleryCrop(jpeg, Face((lo, lo, hi, hi), 1.0, None))


def encode_jpeg(rgb: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("cannot encode the face crop as JPEG")
    return data.tobytes()


def decode_jpeg(jpeg: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("a face crop in the gallery is not a readable JPEG")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _moved(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float32).reshape(-1, 2)
    return (points @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def face_view(rgb: np.ndarray, box, margin: float = 0.3) -> np.ndarray:
    """The face with `margin` of its side around it, cut within the picture (no invented
    border: a face at the edge gets a narrower view): what a fan is shown of a face."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = max(0, int(cx - side / 2)), max(0, int(cy - side / 2))
    right, bottom = min(w, int(cx + side / 2)), min(h, int(cy + side / 2))
    if right - left < 2 or bottom - top < 2:
        return rgb.copy()
    return np.ascontiguousarray(rgb[top:bottom, left:right])
