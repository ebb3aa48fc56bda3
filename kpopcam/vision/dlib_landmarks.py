"""dlib's 5-point face landmarks (shape_predictor_5_face_landmarks.dat) in numpy.

The predictor is a cascade of regression-tree forests (Kazemi and Sullivan, 2014), in dlib's
own serialisation (see kpopcam.vision.dlib_convert for its integers and floats; a matrix is
-rows, -columns, then its elements; a std::vector is its length, then its elements):
version 1, the mean shape, the forests (per cascade level, per tree: its split nodes, each two
feature-pixel indices and a threshold, then its leaves' shape updates), each level's
feature pixels as an anchor landmark and an offset from it.

At each level the feature pixels are placed relative to the current shape (the mean shape's
similarity transform to it, then the box's [0, 1] square onto the image), their grey values
read, and every tree walked on differences of two of them; the leaves it ends in move the
shape. Reading the 9 MB file takes seconds in Python, so the export (training/export_dlib.py)
reads it once and ships its arrays as weights/dlib_landmarks.npz.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

import numpy as np

from kpopcam.vision import weights
from kpopcam.vision.dlib_convert import _Stream
from kpopcam.vision.weights import WeightsError

POINTS = 5
NAME = "dlib_landmarks"  # weights/: .npz and its card .json


def _matrix(s: _Stream) -> list[float]:
    rows, cols = -s.integer(), -s.integer()
    return [s.real() for _ in range(rows * cols)]


def read_predictor(data: bytes) -> dict[str, np.ndarray]:
    """The predictor's arrays: mean_shape (P, 2); split_a, split_b (L, T, S) feature indices,
    split_thresh (L, T, S); leaves (L, T, S + 1, P, 2); anchors (L, F); deltas (L, F, 2)."""
    try:
        return _read_predictor(_Stream(data))
    except (IndexError, ValueError) as exc:  # the file ends early, or a length runs past it
        raise WeightsError(f"dlib's shape predictor file is damaged: {exc}") from exc


def _read_predictor(s: _Stream) -> dict[str, np.ndarray]:
    if s.integer() != 1:
        raise WeightsError("unexpected dlib shape predictor version")
    mean_shape = _matrix(s)
    split_a, split_b, thresholds, leaves = [], [], [], []
    for _ in range(s.integer()):  # cascade levels
        level = [[], [], [], []]
        for _ in range(s.integer()):  # trees
            splits = [(s.integer(), s.integer(), s.real()) for _ in range(s.integer())]
            level[0].append([a for a, _, _ in splits])
            level[1].append([b for _, b, _ in splits])
            level[2].append([t for _, _, t in splits])
            level[3].append([_matrix(s) for _ in range(s.integer())])
        for target, values in zip((split_a, split_b, thresholds, leaves), level, strict=True):
            target.append(values)
    anchors = [[s.integer() for _ in range(s.integer())] for _ in range(s.integer())]
    deltas = [[(s.real(), s.real()) for _ in range(s.integer())] for _ in range(s.integer())]
    if s.pos != len(s.data):
        raise WeightsError("bytes left over after dlib's shape predictor")
    points = len(mean_shape) // 2
    if points != POINTS:
        raise WeightsError(f"dlib's shape predictor has {points} points, {POINTS} expected")
    arrays = {
        "mean_shape": np.array(mean_shape, np.float32).reshape(points, 2),
        "split_a": np.array(split_a, np.int32), "split_b": np.array(split_b, np.int32),
        "split_thresh": np.array(thresholds, np.float32),
        "anchors": np.array(anchors, np.int32), "deltas": np.array(deltas, np.float32),
    }
    arrays["leaves"] = np.array(leaves, np.float32).reshape(
        *arrays["split_a"].shape[:2], -1, points, 2)
    return _checked(arrays)


def _checked(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays, if they fit together: every index within what it indexes."""
    levels, trees, splits = arrays["split_a"].shape
    features = arrays["deltas"].shape[1]
    if not (arrays["mean_shape"].shape == (POINTS, 2)
            and arrays["leaves"].shape == (levels, trees, splits + 1, POINTS, 2)
            and arrays["anchors"].shape == (levels, features)
            and arrays["anchors"].min() >= 0 and arrays["anchors"].max() < POINTS
            and min(arrays["split_a"].min(), arrays["split_b"].min()) >= 0
            and max(arrays["split_a"].max(), arrays["split_b"].max()) < features):
        raise WeightsError("dlib's shape predictor does not hold a cascade kpopcam can run")
    return arrays


def load_shipped() -> dict[str, np.ndarray]:
    """The predictor's arrays from weights/dlib_landmarks.npz (training/export_dlib.py wrote
    them from the .dat), checked against their card."""
    path, card_path = weights.find_weights(NAME, ".npz")
    weights.verify_file(path, weights.read_card(card_path)["sha256"])
    try:
        with np.load(path, allow_pickle=False) as npz:
            return _checked({key: npz[key] for key in npz.files})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"dlib's landmarks in {path} cannot be read: {exc}") from exc


def _similarity_2x2(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The linear part of the least-squares similarity transform taking src to dst."""
    s, d = src - src.mean(0), dst - dst.mean(0)
    variance = np.mean(np.sum(s * s, 1))
    cov = d.T @ s / len(src)
    u, sv, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    return (np.trace(np.diag(sv) @ sign) / variance) * (u @ sign @ vt)


@dataclass(frozen=True)
class ShapePredictor:
    """dlib's 5-point shape predictor: (P, 2) landmarks of a face in a box."""

    arrays: dict

    @classmethod
    def load(cls) -> ShapePredictor:
        return cls(load_shipped())

    def __call__(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The landmarks (P, 2) as dlib gives them (whole pixels) of the face in box (x1, y1,
        x2, y2, whole pixels, inclusive as dlib's rectangle) on an RGB or grey uint8 image."""
        a = self.arrays
        x1, y1, x2, y2 = box
        origin = np.array([x1, y1], np.float64)
        extent = np.array([x2 - x1, y2 - y1], np.float64)
        mean_shape = a["mean_shape"]
        shape = mean_shape.copy()
        height, width = image.shape[:2]
        levels, trees, splits = a["split_a"].shape
        depth = int(np.log2(splits + 1))
        first_split = np.arange(trees) * splits  # node i of tree t is row t * splits + i
        first_leaf = np.arange(trees) * (splits + 1)
        # in float32 where dlib computes in float: a landmark is whole pixels, and float64
        # moves about one face in ten by a pixel
        for level in range(levels):
            linear = _similarity_2x2(mean_shape.astype(np.float64),
                                     shape.astype(np.float64)).astype(np.float32)
            deltas = a["deltas"][level]
            moved = np.stack([deltas[:, 0] * linear[0, 0] + deltas[:, 1] * linear[0, 1],
                              deltas[:, 0] * linear[1, 0] + deltas[:, 1] * linear[1, 1]], 1)
            where = (moved + shape[a["anchors"][level]]).astype(np.float64) * extent + origin
            p = np.floor(where + 0.5).astype(np.int64)
            inside = (p[:, 0] >= 0) & (p[:, 0] < width) & (p[:, 1] >= 0) & (p[:, 1] < height)
            values = np.zeros(len(p), np.float32)
            values[inside] = dlib_grey(image[p[inside, 1], p[inside, 0]])
            split_a, split_b = a["split_a"][level].ravel(), a["split_b"][level].ravel()
            thresholds = a["split_thresh"][level].ravel()
            node = np.zeros(trees, np.int64)
            for _ in range(depth):
                at = first_split + node
                left = values[split_a[at]] - values[split_b[at]] > thresholds[at]
                node = np.where(left, 2 * node + 1, 2 * node + 2)
            leaves = a["leaves"][level].reshape(trees * (splits + 1), *shape.shape)
            updates = leaves[first_leaf + node - splits]
            # one tree after another, as dlib adds them
            shape = np.cumsum(np.concatenate([shape[None], updates]), axis=0,
                              dtype=np.float32)[-1]
        return np.floor(shape.astype(np.float64) * extent + origin + 0.5)


def dlib_grey(pixels: np.ndarray) -> np.ndarray:
    """dlib's grey value of RGB pixels (..., 3): the mean of the three channels, rounded down;
    grey pixels as they are. Only the pixels the predictor reads are converted."""
    if pixels.ndim == 1 or pixels.shape[-1] != 3:
        return pixels
    return (pixels.astype(np.uint16).sum(-1) // 3).astype(np.uint8)
