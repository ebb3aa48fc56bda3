"""facenet-pytorch's MTCNN behind the app's detector interface: the reference the ONNX
detector (kpopcam.vision.mtcnn_onnx) is checked against, in tests and in
training/compare_mtcnn.py. The app itself never imports it (it needs torch)."""

from __future__ import annotations

import numpy as np

from kpopcam.types import Face
from kpopcam.vision.detector import MTCNN_MIN_FACE_PX, _resize, to_rgb


class TorchMtcnnDetector:
    """The same arguments and results as kpopcam.vision.detector.MtcnnDetector."""

    def __init__(self, min_face_px: int = 20, scale: float = 1.0,
                 thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709):
        from facenet_pytorch import MTCNN

        self.scale = scale
        self.min_face_px = min_face_px
        self.mtcnn = MTCNN(keep_all=True,
                           min_face_size=max(MTCNN_MIN_FACE_PX, round(min_face_px * scale)),
                           thresholds=list(thresholds), factor=factor, post_process=False,
                           device="cpu")

    def detect(self, image: np.ndarray, color: str = "bgr") -> list[Face]:
        small = _resize(to_rgb(image, color), self.scale)
        boxes, probs, points = self.mtcnn.detect(small, landmarks=True)
        if boxes is None:
            return []
        faces = [Face(box=tuple(float(v) / self.scale for v in box), score=float(prob),
                      landmarks=np.asarray(pts, dtype=np.float32) / self.scale)
                 for box, prob, pts in zip(boxes, probs, points, strict=True)]
        return sorted(faces, key=lambda f: f.area, reverse=True)
