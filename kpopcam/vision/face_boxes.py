"""MTCNN's geometry in numpy: image pyramid, area resampling, candidate boxes, NMS, box
regression, squaring and crops.

Each step repeats facenet-pytorch's detect_face.py (2.5.3) operation for operation, in float32
as it runs, so that the ONNX detector finds the same faces: its resampling is torch's "area"
interpolation (adaptive average pooling, not OpenCV's INTER_AREA), its NMS is torchvision's
(areas without the +1) except the last stage's 'Min' overlap (areas with the +1).
"""

from __future__ import annotations

import cv2
import numpy as np

PNET_STRIDE = 2
PNET_CELL = 12


def pyramid_scales(height: int, width: int, min_face_px: float, factor: float) -> list[float]:
    """The scales P-Net looks at: the smallest face becomes 12 px, then steps of `factor` while
    the image's short side stays at least 12 px."""
    m = 12.0 / min_face_px
    minl = min(height, width) * m
    scales, scale = [], m
    while minl >= 12:
        scales.append(scale)
        scale *= factor
        minl *= factor
    return scales


def pyramid_size(height: int, width: int, scale: float) -> tuple[int, int]:
    return int(height * scale + 1), int(width * scale + 1)


def integral(images: np.ndarray) -> np.ndarray:
    """(N, H+1, W+1, 3) running sums of (N, H, W, 3) uint8 images: exact integers, int32
    while they fit (much faster to make and read than float64)."""
    fits = images.shape[1] * images.shape[2] * 255 < 2**31
    return np.stack([cv2.integral(im, sdepth=cv2.CV_32S if fits else cv2.CV_64F)
                     for im in images])


def _pool_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each output cell of adaptive pooling from `size` to `out` cells."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def area_resize(sums: np.ndarray, height: int, width: int, out_h: int,
                out_w: int) -> np.ndarray:
    """(N, out_h, out_w, 3) float32: images given by their running sums, resized as torch's
    interpolate(mode="area"): each cell the mean of its region, as sum / kh / kw."""
    y0, y1 = _pool_bounds(height, out_h)
    x0, x1 = _pool_bounds(width, out_w)
    n = len(sums)
    flat = sums.reshape(n, height + 1, -1)  # a row is (W+1) x 3 values
    rows = np.take(flat, y1, axis=1) - np.take(flat, y0, axis=1)
    channel = np.arange(3)
    right, left = (x1[:, None] * 3 + channel).ravel(), (x0[:, None] * 3 + channel).ravel()
    total = (np.take(rows, right, axis=2) - np.take(rows, left, axis=2)).astype(np.float32)
    kh = (y1 - y0).astype(np.float32)[:, None]
    kw = np.repeat((x1 - x0).astype(np.float32), 3)[None, :]
    return (total / kh / kw).reshape(n, out_h, out_w, 3)


def crops(sums: np.ndarray, image_index: np.ndarray, y: np.ndarray, ey: np.ndarray,
          x: np.ndarray, ex: np.ndarray, side: int) -> np.ndarray:
    """(K, side, side, 3) float32: image region [y-1:ey, x-1:ex] of each candidate (1-based
    starts, as `crop_bounds` gives them) resized to side x side by area resampling."""
    _, rows, cols, _ = sums.shape
    i = np.arange(side)
    h, w = (ey - y + 1)[:, None], (ex - x + 1)[:, None]
    y0, y1 = (y - 1)[:, None] + (i * h) // side, (y - 1)[:, None] + -((-(i + 1) * h) // side)
    x0, x1 = (x - 1)[:, None] + (i * w) // side, (x - 1)[:, None] + -((-(i + 1) * w) // side)
    first_row = (image_index.astype(np.int64) * rows)[:, None]
    top, bottom = ((first_row + y0) * cols)[:, :, None], ((first_row + y1) * cols)[:, :, None]
    left, right = x0[:, None, :], x1[:, None, :]
    pixels = sums.reshape(-1, 3)

    def at(index):
        return np.take(pixels, index, axis=0)

    total = (at(bottom + right) - at(top + right) - at(bottom + left)
             + at(top + left)).astype(np.float32)
    kh = (y1 - y0).astype(np.float32)[:, :, None, None]
    kw = (x1 - x0).astype(np.float32)[:, None, :, None]
    return total / kh / kw


def normalise(pixels: np.ndarray) -> np.ndarray:
    """NHWC float32 pixels to MTCNN's NCHW input: (x - 127.5) / 128."""
    return np.ascontiguousarray(((pixels - np.float32(127.5)) * np.float32(0.0078125))
                                .transpose(0, 3, 1, 2))


def pnet_candidates(offsets: np.ndarray, probs: np.ndarray, scale: float,
                    threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """P-Net's windows at one scale scoring >= threshold: (M, 9) float32 rows (x1, y1, x2,
    y2, score, 4 offsets) in image pixels, and the image index of each."""
    face = probs[:, 1]
    image, row, col = np.nonzero(face >= threshold)
    cells = np.stack([col, row], axis=1).astype(np.float32)
    scale32 = np.float32(scale)
    q1 = np.floor((PNET_STRIDE * cells + 1) / scale32)
    q2 = np.floor((PNET_STRIDE * cells + PNET_CELL) / scale32)
    score = face[image, row, col][:, None]
    reg = offsets[image, :, row, col]
    return np.concatenate([q1, q2, score, reg], axis=1).astype(np.float32), image


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: indices kept, highest score first; a box goes when its IoU with a
    kept one is over threshold. Areas without +1; ties keep their order (stable sort)."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (boxes[:, j] for j in range(4))
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """MTCNN's last NMS: overlap is the intersection over the smaller box (areas with +1)."""
    x1, y1, x2, y2 = (boxes[:, j] for j in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)  # same sort as facenet-pytorch: ties fall as they do there
    keep = []
    while order.size:
        i, rest = order[-1], order[:-1]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        order = rest[(w * h) / np.minimum(area[i], area[rest]) <= threshold]
    return np.asarray(keep, dtype=np.int64)


def nms_per_image(boxes: np.ndarray, image: np.ndarray, threshold: float,
                  method=nms) -> np.ndarray:
    """NMS within each image (torchvision's batched_nms): kept indices, best first."""
    keep = [np.flatnonzero(image == i)[method(boxes[image == i, :4], boxes[image == i, 4],
                                              threshold)]
            for i in np.unique(image)]
    keep = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
    return keep[np.argsort(-boxes[keep, 4], kind="stable")]


def apply_offsets(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Box regression (bbreg): each side moves by its offset times the box's size (+1)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] = boxes[:, 0] + offsets[:, 0] * w
    out[:, 1] = boxes[:, 1] + offsets[:, 1] * h
    out[:, 2] = boxes[:, 2] + offsets[:, 2] * w
    out[:, 3] = boxes[:, 3] + offsets[:, 3] * h
    return out


def pnet_regressed(boxes: np.ndarray) -> np.ndarray:
    """The first stage's regression: offsets times the size without the +1."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return np.stack([boxes[:, 0] + boxes[:, 5] * w, boxes[:, 1] + boxes[:, 6] * h,
                     boxes[:, 2] + boxes[:, 7] * w, boxes[:, 3] + boxes[:, 8] * h,
                     boxes[:, 4]], axis=1)


def square(boxes: np.ndarray) -> np.ndarray:
    """Each box made square on its longer side, about the same centre (rerec)."""
    out = boxes.copy()
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * np.float32(0.5) - side * np.float32(0.5)
    out[:, 1] = boxes[:, 1] + h * np.float32(0.5) - side * np.float32(0.5)
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def crop_bounds(boxes: np.ndarray, width: int, height: int):
    """(y, ey, x, ex): the boxes truncated to whole pixels and clipped to the image, with
    1-based starts (facenet-pytorch's pad, which clips rather than pads)."""
    b = np.trunc(boxes[:, :4]).astype(np.int32)
    x, y = np.maximum(b[:, 0], 1), np.maximum(b[:, 1], 1)
    ex, ey = np.minimum(b[:, 2], width), np.minimum(b[:, 3], height)
    return y, ey, x, ex


def landmarks(boxes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(K, 5, 2) landmarks in image pixels from O-Net's (K, 10) outputs (5 x, then 5 y),
    relative to the boxes it was shown."""
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    px = w * points[:, :5] + boxes[:, 0:1] - 1
    py = h * points[:, 5:10] + boxes[:, 1:2] - 1
    return np.stack([px, py], axis=2)
