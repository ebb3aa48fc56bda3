"""dlib's ResNet face recogniser in onnxruntime: dlib's descriptors with no dlib at runtime.

dlib-bin keeps Python's GIL for the whole of each call, so while it embeds a face no other
thread runs, the GUI's included (training/RESULTS.md); onnxruntime lets go of it. The network
is weights/dlib_resnet.onnx (training/export_dlib.py), the graph of dlib's anet_type with its
weights as ONNX external data in weights/dlib_resnet.weights (22 MB, converted from
face-recognition-models' .dat by kpopcam.vision.dlib_convert; dlib's models are public
domain). Shipping them, rather than depending on face-recognition-models (132 MB, most of it a
68-point model kpopcam never uses), keeps the app's install small.

The chip is dlib's recipe without dlib, in numpy: its 5-point shape predictor inside the
detector's box finds the eye corners and the nose base (kpopcam.vision.dlib_landmarks), and
the chip is cut so that they sit on get_face_chip's template, 150 px, padding 0.25
(kpopcam.vision.dlib_chip). Both give dlib-bin's results to the pixel on real photos, so the
descriptors are dlib's, but for faces under about 60 px: those are framed by their landmarks'
own spread and always flip-averaged, which names far faces of real footage dlib's recipe
misses (training/RESULTS.md, "Small faces"). MTCNN's own five points put on a fitted template
instead cost 6 points of top-1 at one photo per star (training/RESULTS.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kpopcam.types import Face
from kpopcam.vision import dlib_convert, weights
from kpopcam.vision.dlib_chip import face_chip, is_small
from kpopcam.vision.dlib_embedder import unit_rows
from kpopcam.vision.dlib_landmarks import ShapePredictor
from kpopcam.vision.onnx_model import OnnxModel
from kpopcam.vision.threads import INFERENCE_THREADS

log = logging.getLogger(__name__)

NAME = "dlib_resnet"  # weights/: .json (card), .onnx (graph) and .weights (its external data)
CHIP_SIZE = dlib_convert.INPUT_SIZE
EMBEDDING_DIM = dlib_convert.DESCRIPTOR_DIM
# Where get_face_chip_details puts the 5-point predictor's points, as fractions of the chip's
# side, padding 0.25 (dlib/image_transforms/interpolation.h)
CHIP_PADDING = 0.25
CHIP_POINTS = (np.array([[0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
                         [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
                         [0.4901123135679, 0.6277975316475]]) + CHIP_PADDING) / (
    1 + 2 * CHIP_PADDING)


def resnet_card() -> tuple[dict, Path]:
    """(card, shipped ONNX graph) of the export."""
    graph, card_path = weights.find_weights(NAME, ".onnx")
    return weights.read_card(card_path), graph


def load_resnet(threads: int | None = INFERENCE_THREADS) -> OnnxModel:
    """dlib's ResNet as a numpy callable: (N, 3, 150, 150) float32 RGB 0..255 -> (N, 128)
    dlib descriptors. Graph and weights file are checked against the card."""
    card, graph = resnet_card()
    weights.verify_file(graph.with_name(card["weights_file"]), card["sha256"])
    return OnnxModel(graph, card["onnx"]["sha256"], threads)


class DlibOnnxEmbedder:
    """dlib's face recogniser (its descriptors, unit-normalised) on dlib's chips, in numpy and
    onnxruntime: the same interface as DlibEmbedder and FaceEmbedder. Thread-safe: each call
    only reads the session, which onnxruntime allows from several threads."""

    kind = "dlib-onnx"
    dim = EMBEDDING_DIM

    def __init__(self, threads: int | None = INFERENCE_THREADS) -> None:
        start = time.perf_counter()
        self.forward = load_resnet(threads)
        self.landmarks = ShapePredictor.load()
        self.load_seconds = time.perf_counter() - start
        log.info("dlib face recogniser (onnxruntime) ready in %.2f s", self.load_seconds)

    def chips(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """A 150x150 RGB chip per face: dlib's landmarks found inside its box, eyes levelled,
        framed as dlib's get_face_chip frames it, but a small face (under about 60 px) keeps
        its size on the chip when its landmarks fit the template badly
        (kpopcam.vision.dlib_chip)."""
        return [chip for chip, _ in self._cut(rgb, faces)]

    def _cut(self, rgb: np.ndarray, faces: Sequence[Face]) -> list[tuple[np.ndarray, bool]]:
        """(chip, whether the face is small) per face."""
        template = CHIP_POINTS * CHIP_SIZE
        cut = []
        for face in faces:
            points = self.landmarks(rgb, tuple(round(v) for v in face.box))
            cut.append((face_chip(rgb, template, points, CHIP_SIZE, small_face_fit=True),
                        is_small(template, points)))
        return cut

    def embed_chips(self, chips: Sequence[np.ndarray],
                    flip: bool | Sequence[bool] = False) -> np.ndarray:
        """(n, 128) float32 unit vectors of 150x150 RGB uint8 chips.

        flip: average each chip's descriptor with its mirror image's (then re-normalise); or
        one such choice per chip.
        """
        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        batch = np.stack([np.asarray(c) for c in chips])
        if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"chips must be {CHIP_SIZE}x{CHIP_SIZE}x3 RGB, got {batch.shape}")
        mirrored = np.flatnonzero(np.broadcast_to(np.asarray(flip, bool), len(batch)))
        batch = np.concatenate([batch, batch[mirrored, :, ::-1]])
        x = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        vectors = unit_rows(self.forward(x))
        plain = vectors[: len(chips)]
        plain[mirrored] = unit_rows(plain[mirrored] + vectors[len(chips) :])
        return plain

    def embed_faces(self, rgb: np.ndarray, faces: Sequence[Face], flip: bool = True) -> np.ndarray:
        """(n, 128) embeddings of the detector's faces on an RGB image. flip: each averaged
        with its mirror image's. A small face always is: its cosines to its star are the
        lowest and nearest the line, and its mirror image is the cheapest second look."""
        cut = self._cut(rgb, faces)
        return self.embed_chips([chip for chip, _ in cut],
                                flip=[flip or small for _, small in cut])
