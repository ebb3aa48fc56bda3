"""MTCNN's three stages run in onnxruntime: the networks exported from facenet-pytorch
(training/export_mtcnn.py, weights/mtcnn_*.onnx), the geometry in numpy (face_boxes.py).

The same algorithm and figures as facenet_pytorch.MTCNN.detect: P-Net over an image pyramid
(NMS 0.5 per scale, then 0.7 across scales), R-Net on all its candidates in one run (NMS 0.7),
O-Net on all of those in one run (landmarks, then NMS 0.7 by the smaller box's area).
Imports neither torch nor facenet-pytorch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kpopcam.vision import face_boxes as fb
from kpopcam.vision.onnx_model import OnnxModel
from kpopcam.vision.threads import INFERENCE_THREADS
from kpopcam.vision.weights import WeightsError, read_card, weights_dirs

NETS = ("pnet", "rnet", "onet")


@dataclass(frozen=True)
class Detections:
    """One image's faces: boxes (K, 4) x1 y1 x2 y2, probabilities (K,), landmarks (K, 5, 2)
    (left eye, right eye, nose, left and right mouth corner), in the image's pixels."""

    boxes: np.ndarray
    probabilities: np.ndarray
    landmarks: np.ndarray


def find_net(name: str) -> tuple[Path, dict]:
    """(ONNX file, card) of the shipped network mtcnn_`name`; WeightsError when missing."""
    for directory in weights_dirs():
        path, card = directory / f"mtcnn_{name}.onnx", directory / f"mtcnn_{name}.json"
        if path.is_file() and card.is_file():
            return path, read_card(card)
    searched = ", ".join(str(d) for d in weights_dirs())
    raise WeightsError(f"the face detector's network mtcnn_{name}.onnx (and its .json) is not in "
                       f"{searched}. Reinstall kpopcam, or make it with "
                       "python -m training.export_mtcnn")


class MtcnnNets:
    """P-Net, R-Net and O-Net in onnxruntime sessions, checked against their cards."""

    def __init__(self, threads: int | None = INFERENCE_THREADS):
        for name in NETS:
            path, card = find_net(name)
            setattr(self, name, OnnxModel(path, card["sha256"], threads, arena=False))


class OnnxMtcnn:
    """MTCNN as facenet-pytorch runs it. min_face_px: smallest face looked for, in pixels of
    the image given; thresholds: of the three stages; factor: pyramid step."""

    def __init__(self, min_face_px: float = 20, thresholds=(0.6, 0.7, 0.7),
                 factor: float = 0.709, nets: MtcnnNets | None = None):
        self.min_face_px = min_face_px
        self.thresholds = tuple(thresholds)
        self.factor = factor
        self.nets = nets or MtcnnNets()

    def detect(self, rgb: np.ndarray) -> Detections:
        """Faces on one HxWx3 uint8 RGB image."""
        return self.detect_batch(rgb[None])[0]

    def detect_batch(self, images: np.ndarray) -> list[Detections]:
        """Faces on each of N same-sized RGB images (N, H, W, 3): every stage runs once on the
        candidates of all images."""
        images = np.ascontiguousarray(images, dtype=np.uint8)
        n, height, width = images.shape[:3]
        sums = fb.integral(images)
        boxes, owner = self._proposals(sums, height, width)
        boxes, owner, _ = self._refine(self.nets.rnet, 24, self.thresholds[1], sums, boxes, owner)
        boxes, owner, points = self._refine(self.nets.onet, 48, self.thresholds[2], sums,
                                            boxes, owner)
        return [Detections(boxes[owner == i, :4], boxes[owner == i, 4], points[owner == i])
                for i in range(n)]

    def _proposals(self, sums, height: int, width: int):
        """Stage 1: P-Net's windows over the pyramid, merged, regressed and squared."""
        found, owners = [], []
        for scale in fb.pyramid_scales(height, width, self.min_face_px, self.factor):
            size = fb.pyramid_size(height, width, scale)
            level = fb.normalise(fb.area_resize(sums, height, width, *size))
            offsets, probs = self.nets.pnet.outputs(level)
            boxes, owner = fb.pnet_candidates(offsets, probs, scale, self.thresholds[0])
            keep = fb.nms_per_image(boxes, owner, 0.5)
            found.append(boxes[keep])
            owners.append(owner[keep])
        if not found:
            return np.zeros((0, 5), np.float32), np.zeros(0, np.int64)
        boxes, owner = np.concatenate(found), np.concatenate(owners)
        keep = fb.nms_per_image(boxes, owner, 0.7)
        return fb.square(fb.pnet_regressed(boxes[keep])), owner[keep]

    def _refine(self, net: OnnxModel, side: int, threshold: float, sums, boxes, owner):
        """Stage 2 (R-Net) or 3 (O-Net, with landmarks) on every candidate in one run."""
        height, width = sums.shape[1] - 1, sums.shape[2] - 1
        y, ey, x, ex = fb.crop_bounds(boxes, width, height)
        inside = (ey > y - 1) & (ex > x - 1)  # a box wholly outside the image has no crop
        boxes, owner = boxes[inside], owner[inside]
        if len(boxes) == 0:
            return boxes, owner, np.zeros((0, 5, 2), np.float32)
        crops = fb.crops(sums, owner, y[inside], ey[inside], x[inside], ex[inside], side)
        out = net.outputs(fb.normalise(crops))
        offsets, score = out[0], out[-1][:, 1]
        passed = score > threshold
        boxes = np.concatenate([boxes[passed, :4], score[passed, None]], axis=1)
        owner, offsets = owner[passed], offsets[passed]
        if side == 24:
            keep = fb.nms_per_image(boxes, owner, 0.7)
            boxes = fb.square(fb.apply_offsets(boxes[keep], offsets[keep]))
            return boxes, owner[keep], None
        points = fb.landmarks(boxes, out[1][passed])
        boxes = fb.apply_offsets(boxes, offsets)
        keep = fb.nms_per_image(boxes, owner, 0.7, method=fb.nms_min)
        return boxes[keep], owner[keep], points[keep]
