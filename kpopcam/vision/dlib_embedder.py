"""Face identity with dlib's ResNet face recogniser: 128-d unit embeddings of detected faces.

dlib's recipe: its 5-point shape predictor finds the eyes and nose inside the detector's box,
get_face_chip levels and scales the face to a 150x150 chip (padding 0.25), and the ResNet
turns the chip into a 128-d descriptor. The weights are dlib's, released into the public
domain, shipped by the face-recognition-models package.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import numpy as np

from kpopcam.types import Face
from kpopcam.vision import weights

log = logging.getLogger(__name__)

CHIP_SIZE = 150
CHIP_PADDING = 0.25
EMBEDDING_DIM = 128
# One lock for the whole process, not one per embedder: two DlibEmbedders (the live engine's
# and a pool thread's, or the fused embedder's) must not be inside dlib at once either.
_DLIB_LOCK = threading.Lock()


class DlibEmbedder:
    """dlib's face recogniser with the same interface as FaceEmbedder: unit vectors, so that
    cosine similarity is their dot product. dlib runs on the calling thread only.

    Thread-safe: one dlib call at a time in the whole process, whichever embedder makes it.
    dlib's network objects are not made for concurrent use; the live analysis and an "add this
    face" in a pool thread sharing one froze the whole window (every thread waiting, found in a
    window soak). dlib also keeps the GIL for the whole of each call: while any thread is in
    dlib, no other Python thread runs, the GUI's included (training/RESULTS.md)."""

    kind = "dlib"
    dim = EMBEDDING_DIM

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError as exc:  # an optional extra since the app's install must stay small
            raise weights.WeightsError(
                f"dlib's face recogniser needs dlib: {weights.DLIB_INSTALL}") from exc

        start = time.perf_counter()
        predictor_path, recogniser_path = weights.dlib_model_paths()
        try:
            with _DLIB_LOCK:
                self._predictor = dlib.shape_predictor(str(predictor_path))
                self._recogniser = dlib.face_recognition_model_v1(str(recogniser_path))
        except RuntimeError as exc:  # dlib's message for a damaged .dat
            raise weights.WeightsError(f"dlib cannot read its model files: {exc}") from exc
        self._dlib = dlib
        self._lock = _DLIB_LOCK
        self.load_seconds = time.perf_counter() - start
        log.info("dlib face recogniser ready in %.2f s", self.load_seconds)

    def chips(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """A 150x150 RGB chip per face: landmarks found inside its box, eyes levelled."""
        rgb = np.ascontiguousarray(rgb)
        chips = []
        with self._lock:
            for face in faces:
                x1, y1, x2, y2 = (round(v) for v in face.box)
                shape = self._predictor(rgb, self._dlib.rectangle(x1, y1, x2, y2))
                chips.append(self._dlib.get_face_chip(rgb, shape, CHIP_SIZE, CHIP_PADDING))
        return chips

    def embed_chips(self, chips: Sequence[np.ndarray], flip: bool = False) -> np.ndarray:
        """(n, 128) float32 unit vectors of 150x150 chips.

        flip: average each chip's descriptor with its mirror image's (then re-normalise).
        """
        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        if flip:
            batch += [np.ascontiguousarray(c[:, ::-1]) for c in chips]
        with self._lock:
            descriptors = self._recogniser.compute_face_descriptor(batch)
            vectors = np.array([list(d) for d in descriptors], np.float32)
        vectors = unit_rows(vectors)
        if flip:
            vectors = unit_rows(vectors[: len(chips)] + vectors[len(chips) :])
        return vectors

    def embed_faces(self, rgb: np.ndarray, faces: Sequence[Face], flip: bool = True) -> np.ndarray:
        """(n, 128) embeddings of the detector's faces on an RGB image."""
        return self.embed_chips(self.chips(rgb, faces), flip=flip)


def unit_rows(v: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (float32)."""
    return (v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)).astype(np.float32)
