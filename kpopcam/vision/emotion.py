"""Emotion of each face: the detector's faces on a frame in, seven probabilities out.

`standardize` is the one preprocessing step shared by training (training/train_emotion.py)
and the app; `crop_faces` cuts FER2013-like grey crops out of a frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.types import EMOTIONS, Face
from kpopcam.vision.threads import INFERENCE_THREADS
from kpopcam.vision.weights import WeightsError, locate, read_card

# How FER2013 frames a face, relative to the detector's (MTCNN) box: the frame's side is
# CROP_SCALE x sqrt(box width x box height) and its centre sits CROP_SHIFT of its side above
# the box centre (MTCNN boxes are taller than wide). Medians over 189 val faces, measured by
# training/emotion_framing.py.
CROP_SCALE = 1.06
CROP_SHIFT = 0.017
_MIN_STD = 2.0  # on the 0-255 scale: a flat crop becomes zeros instead of noise


def standardize(faces: np.ndarray) -> np.ndarray:
    """Grey faces (N, H, W) or (N, 1, H, W) on the 0-255 scale -> float32 (N, 1, H, W), each
    image shifted and scaled to mean 0, standard deviation 1 (brightness and contrast of a
    stream vary far more than FER2013's). The standard deviation is the sample one (n - 1), as
    torch's std, which training used.
    """
    x = np.asarray(faces, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"faces must be (N, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2, 3), keepdims=True, ddof=1), _MIN_STD)
    return (x - mean) / std


def to_grey(image: np.ndarray, color: str = "bgr") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise ValueError("image must be a non-empty uint8 numpy array")
    if image.ndim == 2:
        return image
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image must be HxW, HxWx3 or HxWx4, got shape {image.shape}")
    if color not in ("bgr", "rgb"):
        raise ValueError(f"color must be 'bgr' or 'rgb', got {color!r}")
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if color == "bgr" else cv2.COLOR_RGBA2GRAY)
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY if color == "bgr" else cv2.COLOR_RGB2GRAY)


def crop_faces(
    image: np.ndarray, faces: Sequence[Face], side: int = 48, color: str = "bgr"
) -> np.ndarray:
    """(N, side, side) uint8 grey crops framed as FER2013 frames its faces (CROP_SCALE,
    CROP_SHIFT); parts outside the image repeat the border pixels.
    """
    grey = to_grey(image, color)
    crops = np.empty((len(faces), side, side), dtype=np.uint8)
    for i, face in enumerate(faces):
        half = CROP_SCALE * np.sqrt(max(face.area, 1.0)) / 2
        cx, cy = face.center[0], face.center[1] - CROP_SHIFT * 2 * half
        # Cut at the face's own size first, then shrink by area: a warp straight to 48 px
        # samples 1 pixel in 16 of a 200 px face, so a dim, noisy stream reads as noise.
        native = max(side, round(2 * half))
        scale = native / (2 * half)
        matrix = np.array(
            [[scale, 0, -(cx - half) * scale], [0, scale, -(cy - half) * scale]], np.float32
        )
        crop = cv2.warpAffine(
            grey, matrix, (native, native), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        crops[i] = crop if native == side else cv2.resize(crop, (side, side),
                                                          interpolation=cv2.INTER_AREA)
    return crops


@dataclass(frozen=True)
class EmotionReading:
    """Probabilities in EMOTIONS order for one face."""

    probabilities: tuple[float, ...]

    @property
    def top(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    def __getitem__(self, emotion: str) -> float:
        return self.probabilities[EMOTIONS.index(emotion)]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(EMOTIONS, self.probabilities, strict=True))


class EmotionReader:
    """The shipped emotion model's ONNX export in onnxruntime. One forward pass per frame for
    all its faces.

    weights: a .pt file other than the shipped one (its card beside it names the export).
    threads: intra-op threads of the session. forward: run this numpy callable, (N, 1, H, W)
    float32 -> logits, instead of the export (training's torch reference: training/).
    """

    def __init__(
        self, weights: str | Path | None = None, threads: int | None = INFERENCE_THREADS,
        forward=None,
    ):
        pt_path, card_path = locate("emotion", weights)
        self.card = read_card(card_path)
        classes = tuple(self.card.get("classes", EMOTIONS))
        if classes != EMOTIONS:
            raise ValueError(f"emotion weights have classes {classes}, the app needs {EMOTIONS}")
        self.side = int(self.card.get("input_size", [48, 48])[0])
        self.backend = "onnx" if forward is None else "given"
        if forward is None:
            export = self.card.get("onnx")
            if not export:
                raise WeightsError(f"{card_path} names no ONNX export of {pt_path.name}; make "
                                   "one with python -m training.export_emotion")
            from kpopcam.vision.onnx_model import OnnxModel

            forward = OnnxModel(pt_path.with_name(export["file"]), export["sha256"], threads)
        self._forward = forward

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, 7) float32 for grey crops (N, side, side) uint8; (0, 7) for no crops."""
        if len(crops) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        logits = self._forward(standardize(crops))
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)

    def read(
        self, image: np.ndarray, faces: Sequence[Face], color: str = "bgr"
    ) -> list[EmotionReading]:
        """One reading per face, in the order of `faces`."""
        if not faces:
            return []
        crops = crop_faces(image, faces, self.side, color)
        return [EmotionReading(tuple(float(p) for p in row)) for row in self.probabilities(crops)]
