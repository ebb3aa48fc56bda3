"""dlib's face chip (get_face_chip) cut in numpy, pixel for pixel as dlib cuts it.

dlib's chip_details fits a similarity transform from template points on the chip to the face's
landmarks and keeps its angle, its scale and a rectangle (size*scale - 1 pixels wide) about
where the chip's centre falls. extract_image_chip then maps the chip's corner pixels onto that
rectangle, turned by the angle, and reads the image bilinearly; while a half-size image would
still hold more pixels than the chip, it reads a level of dlib's image pyramid instead
(pyramid_down<2>: a 1-4-6-4-1 filter each way, every other row and column, of a crop around the
chip), so that a large face is not sampled sparsely. Pixels outside the image are black.

One departure, asked for with small_face_fit: a face that the chip enlarges more than twice
(under about 60 px in the frame) is framed by the fit the other way round, from its landmarks
to the template, inverted. Least squares from the template to the landmarks shrinks the scale
by how badly the five points fit the template (a turned head; the landmarks of a small face,
a few pixels apart and each a pixel or two off), so dlib's chip of such a face zooms in and
cuts it; the inverted fit keeps its size. On the real clips it named 80 % of oval-office's
35-60 px faces instead of 64 %, strangers' cosines unchanged (training/RESULTS.md, "Small
faces"). Its known cost: a turned face enrolled from a close-up (framed by dlib's fit) and seen
small in the same pose is framed differently at the two sizes (0.02 less alike, same RESULTS).
"""

from __future__ import annotations

import numpy as np


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity transform taking the points src to dst (Umeyama;
    dlib's find_similarity_transform)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mean_s, mean_d = src.mean(0), dst.mean(0)
    s, d = src - mean_s, dst - mean_d
    u, sv, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    m = (np.trace(np.diag(sv) @ sign) / max(np.mean(np.sum(s * s, 1)), 1e-12)) * (u @ sign @ vt)
    return np.hstack([m, (mean_d - m @ mean_s)[:, None]])


def pyramid_down(rgb: np.ndarray) -> np.ndarray:
    """dlib's pyramid_down<2> of an RGB uint8 image, integer arithmetic as dlib's."""
    h, w = rgb.shape[:2]
    rows, cols = (h - 3) // 2, (w - 3) // 2
    if h <= 8 or w <= 8:
        return np.zeros((0, 0, 3), np.uint8)
    x = rgb.astype(np.uint32)
    weights = (1, 4, 6, 4, 1)
    across = sum(k * x[:, i : i + 2 * cols : 2] for i, k in enumerate(weights))
    down = sum(k * across[i : i + 2 * rows : 2] for i, k in enumerate(weights))
    return (down // 256).astype(np.uint8)


def _rect_down(rect: np.ndarray) -> np.ndarray:
    """pyramid_down<2>'s rect_down of (left, top, right, bottom)."""
    return rect / 2 - np.array([1.25, 0.75, 1.25, 0.75])


def _area(rect: np.ndarray) -> float:
    """drectangle's area: its width and height count both edges (right - left + 1)."""
    return float((rect[2] - rect[0] + 1) * (rect[3] - rect[1] + 1))


def _turned(rect: np.ndarray, angle: float) -> np.ndarray:
    """The rectangle's top-left, top-right, bottom-left corners turned about its centre."""
    centre = (rect[:2] + rect[2:]) / 2
    cos, sin = np.cos(angle), np.sin(angle)
    corners = np.array([[rect[0], rect[1]], [rect[2], rect[1]], [rect[0], rect[3]]]) - centre
    return corners @ np.array([[cos, sin], [-sin, cos]]) + centre


def bilinear(rgb: np.ndarray, corners: np.ndarray, size: int) -> np.ndarray:
    """size x size pixels read from rgb where the chip's corner pixels (0, 0), (size-1, 0) and
    (0, size-1) fall on corners; black where a pixel's 2x2 neighbourhood leaves the image."""
    origin, right, down = corners[0], corners[1] - corners[0], corners[2] - corners[0]
    steps = np.arange(size) / (size - 1)
    points = (origin + steps[None, :, None] * right + steps[:, None, None] * down)
    x, y = points[..., 0], points[..., 1]
    left, top = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    h, w = rgb.shape[:2]
    inside = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    left, top = np.where(inside, left, 0), np.where(inside, top, 0)
    fx, fy = (x - left)[..., None], (y - top)[..., None]
    tl, tr = rgb[top, left].astype(np.float64), rgb[top, left + 1].astype(np.float64)
    bl, br = rgb[top + 1, left].astype(np.float64), rgb[top + 1, left + 1].astype(np.float64)
    value = (1 - fy) * ((1 - fx) * tl + fx * tr) + fy * ((1 - fx) * bl + fx * br)
    chip = np.clip(value, 0, 255).astype(np.uint8)  # dlib's assign_pixel truncates
    chip[~inside] = 0
    return chip


SMALL_FACE_SCALE = 0.5  # image pixels per chip pixel: under it the chip enlarges a face twice


def is_small(chip_points: np.ndarray, img_points: np.ndarray) -> bool:
    """Whether dlib's chip enlarges this face more than twice (under about 60 px wide)."""
    tform = similarity(chip_points, img_points)
    return float(np.hypot(tform[0, 0], tform[1, 0])) < SMALL_FACE_SCALE


def chip_transform(chip_points: np.ndarray, img_points: np.ndarray,
                   small_face_fit: bool = False) -> np.ndarray:
    """The 2x3 similarity taking chip pixels to image pixels: dlib's fit of the template to
    the landmarks; with small_face_fit, on a small face (is_small), the fit of the landmarks
    to the template, inverted (see the module's note)."""
    if not (small_face_fit and is_small(chip_points, img_points)):
        return similarity(chip_points, img_points)
    back = similarity(img_points, chip_points)
    linear = np.linalg.inv(back[:, :2])
    return np.hstack([linear, -(linear @ back[:, 2])[:, None]])


def face_chip(rgb: np.ndarray, chip_points: np.ndarray, img_points: np.ndarray,
              size: int, small_face_fit: bool = False) -> np.ndarray:
    """The size x size chip on which img_points (the face's landmarks) fall nearest to
    chip_points (pixels), as dlib's extract_image_chip(get_face_chip_details(...)) cuts it
    (small_face_fit: see chip_transform)."""
    tform = chip_transform(chip_points, img_points, small_face_fit)
    angle = float(np.arctan2(tform[1, 0], tform[0, 0]))
    scale = float(np.hypot(tform[0, 0], tform[1, 0]))
    centre = tform[:, :2] @ np.array([size / 2, size / 2]) + tform[:, 2]
    half = (size * scale - 1) / 2  # dlib's centered_drect: one pixel less than size*scale
    rect = np.concatenate([centre - half, centre + half])
    depth, grow, smaller = 0, 2.0, _rect_down(rect)
    while _area(smaller) > size * size:
        smaller, depth, grow = _rect_down(smaller), depth + 1, grow * 2 + 2
    if depth == 0:
        return bilinear(rgb, _turned(rect, angle), size)
    corners = _turned(rect, angle)
    corners = np.vstack([corners, corners[1] + corners[2] - corners[0]])
    h, w = rgb.shape[:2]
    low = np.maximum(corners.min(0) - grow, 0)
    high = np.minimum(corners.max(0) + grow, [w - 1, h - 1])
    left, top = np.floor(low + 0.5).astype(int)
    right, bottom = np.floor(high + 0.5).astype(int)
    image = rgb[top : bottom + 1, left : right + 1]
    rect = rect - [left, top, left, top]
    for _ in range(depth):
        image, rect = pyramid_down(image), _rect_down(rect)
    return bilinear(image, _turned(rect, angle), size)
