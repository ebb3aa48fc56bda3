"""Face detection (MTCNN, or Haar for comparison) and the face crops the other models read."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from kpopcam.types import Face

MTCNN_MIN_FACE_PX = 12  # P-Net's window: MTCNN cannot look for smaller faces
PHOTO_PAD = 0.4  # border added around a tight face crop, as a fraction of its side

# Where the five landmarks sit in a FaceNet input crop (fractions of its side): the mean
# MTCNN landmarks within square MTCNN-box crops of idol photos, so that aligned crops keep that
# framing while eyes are levelled and jitter is removed. Measured by training/face_template.py
# (385 BLACKPINK photos). Box crops with no margin beat margins of 0.1 and 0.2 by 5-18 points
# of top-1 accuracy there (training/RESULTS.md).
FACENET_TEMPLATE = np.array(
    [
        [0.3275, 0.3996],
        [0.6725, 0.3996],
        [0.5000, 0.6058],
        [0.3652, 0.7692],
        [0.6348, 0.7692],
    ],
    dtype=np.float32,
)


class FaceDetector(Protocol):
    def detect(self, image: np.ndarray, color: str = "bgr") -> list[Face]: ...


def to_rgb(image: np.ndarray, color: str) -> np.ndarray:
    """An HxWx3 uint8 RGB view of a BGR, RGB or grey image; ValueError for anything else."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("image must be a non-empty numpy array")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(image, code)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if color == "bgr" else image


class MtcnnDetector:
    """MTCNN (facenet-pytorch's networks and algorithm, run in onnxruntime: mtcnn_onnx.py).
    Faces come back largest first, in full-frame pixels.

    min_face_px: smallest face to find, in full-frame pixels. scale: the frame is resized by
    this factor before detection; 0.5 is about 4x faster but cannot find faces smaller than
    12 / scale pixels. factor: the step between image pyramid levels; 0.6 instead of
    0.709 searches fewer levels (about 1.6x faster) at some loss of reach.
    """

    def __init__(
        self,
        min_face_px: int = 20,
        scale: float = 1.0,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
    ):
        from kpopcam.vision.mtcnn_onnx import OnnxMtcnn

        if not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        self.scale = scale
        self.min_face_px = min_face_px
        self._mtcnn = OnnxMtcnn(
            min_face_px=max(MTCNN_MIN_FACE_PX, round(min_face_px * scale)),
            thresholds=thresholds,
            factor=factor,
        )

    def detect(self, image: np.ndarray, color: str = "bgr") -> list[Face]:
        return self.detect_many([image], color)[0]

    def detect_many(self, images: list[np.ndarray], color: str = "bgr") -> list[list[Face]]:
        """Faces on each image; images of one size go through each stage together."""
        small = [_resize(to_rgb(image, color), self.scale) for image in images]
        found: list[list[Face] | None] = [None] * len(small)
        for indices in _same_size(small):
            batch = np.stack([small[i] for i in indices])
            for i, detections in zip(indices, self._mtcnn.detect_batch(batch), strict=True):
                found[i] = self._faces(detections)
        return found

    def _faces(self, detections) -> list[Face]:
        faces = [
            Face(
                box=tuple(float(v) / self.scale for v in box),
                score=float(prob),
                landmarks=np.asarray(pts, dtype=np.float32) / self.scale,
            )
            for box, prob, pts in zip(detections.boxes, detections.probabilities,
                                      detections.landmarks, strict=True)
        ]
        return sorted(faces, key=lambda f: f.area, reverse=True)


def _same_size(images: list[np.ndarray]) -> list[list[int]]:
    """Indices of the images grouped by shape, first appearance first."""
    groups: dict[tuple, list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    return list(groups.values())


class HaarDetector:
    """OpenCV's frontal-face Haar cascade behind the same interface (no landmarks)."""

    def __init__(self, min_face_px: int = 20, scale: float = 1.0, min_neighbors: int = 5):
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"Haar cascade {path} could not be loaded")
        self.scale = scale
        self.min_face_px = min_face_px
        self.min_neighbors = min_neighbors

    def detect(self, image: np.ndarray, color: str = "bgr") -> list[Face]:
        grey = cv2.cvtColor(_resize(to_rgb(image, color), self.scale), cv2.COLOR_RGB2GRAY)
        side = max(1, round(self.min_face_px * self.scale))
        rects, _, weights = self._cascade.detectMultiScale3(
            grey, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(side, side),
            outputRejectLevels=True,
        )
        faces = [
            Face(box=tuple(float(v) / self.scale for v in (x, y, x + w, y + h)), score=float(s))
            for (x, y, w, h), s in zip(rects, np.ravel(weights), strict=True)
        ]
        return sorted(faces, key=lambda f: f.area, reverse=True)


def make_detector(kind: str = "mtcnn", min_face_px: int = 20, scale: float = 1.0,
                  factor: float = 0.709) -> FaceDetector:
    if kind == "mtcnn":
        return MtcnnDetector(min_face_px=min_face_px, scale=scale, factor=factor)
    if kind == "haar":
        return HaarDetector(min_face_px=min_face_px, scale=scale)
    raise ValueError(f"unknown detector {kind!r} (mtcnn or haar)")


def photo_detector(settings) -> FaceDetector:
    """The detector for still photos (enrol, analyze, portrait): the [detector] settings."""
    d = settings.detector
    return make_detector(d.kind, min_face_px=d.min_face_px, scale=d.scale)


def live_detector(settings) -> FaceDetector:
    """The detector for live video, which trades reach for speed: the [live] settings."""
    live = settings.live
    return make_detector(settings.detector.kind, min_face_px=live.min_face_px,
                         scale=live.detect_scale, factor=live.pyramid_factor)


def detect_in_photo(detector: FaceDetector, rgb: np.ndarray) -> list[Face]:
    """Faces on a photo; a tight face crop (no face found) is tried again with a plain border,
    since MTCNN needs some context around a face. Boxes are in the photo's coordinates."""
    faces = detector.detect(rgb, color="rgb")
    if faces:
        return faces
    h, w = rgb.shape[:2]
    dy, dx = round(h * PHOTO_PAD), round(w * PHOTO_PAD)
    fill = [int(v) for v in rgb.reshape(-1, 3).mean(axis=0)]
    padded = cv2.copyMakeBorder(rgb, dy, dy, dx, dx, cv2.BORDER_CONSTANT, value=fill)
    return [_shifted(f, -dx, -dy) for f in detector.detect(padded, color="rgb")]


def _shifted(face: Face, dx: float, dy: float) -> Face:
    x1, y1, x2, y2 = face.box
    landmarks = None if face.landmarks is None else face.landmarks + np.float32([dx, dy])
    return Face((x1 + dx, y1 + dy, x2 + dx, y2 + dy), face.score, landmarks)


def aligned_crop(rgb: np.ndarray, face: Face, size: int = 160) -> np.ndarray:
    """The face warped so its landmarks sit on FACENET_TEMPLATE: eyes level, fixed framing.

    Falls back to box_crop when the face has no landmarks (Haar).
    """
    if face.landmarks is None:
        return box_crop(rgb, face, size)
    matrix, _ = cv2.estimateAffinePartial2D(
        np.asarray(face.landmarks, dtype=np.float32), FACENET_TEMPLATE * size, method=cv2.LMEDS
    )
    if matrix is None:
        return box_crop(rgb, face, size)
    return cv2.warpAffine(
        rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def box_crop(rgb: np.ndarray, face: Face, size: int = 160, margin: float = 0.0) -> np.ndarray:
    """A square crop around the face box, widened by `margin` of the box side on each side.

    Parts outside the image are filled by repeating the border, so a face at the edge still
    gives a crop of the right size.
    """
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = max(x2 - x1, y2 - y1) * (0.5 + margin)
    scale = size / (2 * half)
    matrix = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]])
    return cv2.warpAffine(
        rgb, matrix, (size, size), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
