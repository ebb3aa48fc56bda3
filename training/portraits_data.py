"""The portraits data set (photos with person masks): loading, fixed split, augmentation.

Everything is held in RAM at a reduced size so that an epoch costs only the network's time.
Masks are stored at another scale than their photo for most stems; they are resized to the
photo with nearest-neighbour before anything else, as the data README says.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from kpopcam.files import write_text_atomic
from kpopcam.vision.person_prior import (
    Box,
    faces_for_prior,
    person_prior,
    prior_detector,
    scaled_boxes,
)

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "portraits"
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


@dataclass
class Sample:
    stem: str
    image: np.ndarray  # HxWx3 uint8 RGB
    mask: np.ndarray  # HxW float32 in [0, 1]
    faces: list[Box] = field(default_factory=list)  # face boxes in this sample's pixels


def stems(root: Path) -> list[str]:
    images = {p.stem for p in (Path(root) / "images").glob("*") if p.is_file()}
    masks = {p.stem for p in (Path(root) / "masks").glob("*") if p.is_file()}
    return sorted(images & masks, key=lambda s: (len(s), s))


def read_pair(root: Path, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """(RGB photo, 0/1 uint8 mask at the photo's size)."""
    root = Path(root)
    image_path = next((root / "images").glob(f"{stem}.*"))
    mask_path = next((root / "masks").glob(f"{stem}.*"))
    image = np.asarray(Image.open(image_path).convert("RGB"))
    mask = np.asarray(Image.open(mask_path).convert("L"))
    h, w = image.shape[:2]
    if mask.shape != (h, w):
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
    return image, (mask > 127).astype(np.uint8)


def split(all_stems: list[str], n_val: int = 32, seed: int = 0) -> tuple[list[str], list[str]]:
    """Fixed, seeded (train, val) partition of the stems."""
    order = np.random.default_rng(seed).permutation(len(all_stems))
    val = sorted((all_stems[i] for i in order[:n_val]), key=lambda s: (len(s), s))
    train = [s for s in all_stems if s not in set(val)]
    return train, val


def load_samples(
    root: Path, chosen: list[str], short_side: int = 288, faces: dict | None = None
) -> list[Sample]:
    """The photos at a reduced size, with their face boxes (from `photo_faces`) if given."""
    samples = []
    for stem in chosen:
        image, mask = read_pair(root, stem)
        h, w = image.shape[:2]
        scale = short_side / min(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        soft = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        boxes = scaled_boxes((faces or {}).get(stem, []), size[0] / w, size[1] / h)
        samples.append(Sample(stem, image, soft, boxes))
    return samples


def photo_faces(root: Path, chosen: list[str], cache: Path | None = None) -> dict[str, list[Box]]:
    """{stem: face boxes in the photo's pixels}, found as portrait mode finds them.

    MTCNN takes a few minutes over the whole set, so results are kept in `cache` (JSON),
    keyed by stem and the photo's size and modification time.
    """
    known = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    detector, out = None, {}
    for stem in chosen:
        path = next((Path(root) / "images").glob(f"{stem}.*"))
        info = path.stat()
        key = f"{stem}:{info.st_size}:{int(info.st_mtime)}"
        if key not in known:
            detector = detector or prior_detector()
            image = np.asarray(Image.open(path).convert("RGB"))
            known[key] = [list(f.box) for f in faces_for_prior(detector, image)]
        out[stem] = [tuple(b) for b in known[key]]
    if cache and detector is not None:
        write_text_atomic(cache, json.dumps(known))
    return out


def person_free_backgrounds(samples: list[Sample], size: int = 160) -> list[np.ndarray]:
    """Each photo with its people painted out: backgrounds for pasting people onto.

    Inpainting leaves smooth smudges where people stood; they are still far more varied
    and realistic than synthetic backgrounds, and contain no unlabelled person.
    """
    out = []
    for s in samples:
        h, w = s.mask.shape
        scale = size / max(h, w)
        dsize = (max(1, round(w * scale)), max(1, round(h * scale)))
        image = cv2.resize(s.image, dsize, interpolation=cv2.INTER_AREA)
        hole = cv2.resize((s.mask > 0.05).astype(np.uint8), dsize, interpolation=cv2.INTER_NEAREST)
        if hole.mean() > 0.7:
            continue
        hole = cv2.dilate(hole, np.ones((7, 7), np.uint8))
        out.append(cv2.inpaint(image, hole, 5, cv2.INPAINT_TELEA))
    return out


def to_tensor_layout(image: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB (and an HxW person prior) -> CxHxW float32 as the model expects."""
    x = image.astype(np.float32) / 255.0
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    if prior is not None:
        x = np.concatenate([x, prior[..., None].astype(np.float32)], axis=2)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


PRIOR_DROPOUT = 0.15  # share of views trained without a prior: faces are not always found


class Augmenter:
    """Random training views of a sample at size x size: geometry, background swap, colour.

    With with_prior, each view also gets the person prior of its (jittered) face boxes,
    warped with the photo: (image, mask, prior); otherwise (image, mask, None).
    """

    def __init__(
        self, backgrounds: list[np.ndarray], size: int = 256, seed: int = 0,
        with_prior: bool = False,
    ):
        self.backgrounds = backgrounds
        self.size = size
        self.with_prior = with_prior
        self.rng = np.random.default_rng(seed)

    def __call__(self, sample: Sample) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        image, mask = sample.image, sample.mask
        if self.backgrounds and self.rng.random() < 0.5:
            image = self._paste_on_background(image, mask)
        if not self.with_prior:
            image, mask = self._geometry(image, mask)
            return self._colour(image), mask, None
        prior = self._prior(sample)
        image, both = self._geometry(image, np.dstack([mask, prior]))
        return self._colour(image), both[..., 0], both[..., 1]

    def _prior(self, sample: Sample) -> np.ndarray:
        if self.rng.random() < PRIOR_DROPOUT:
            return np.zeros(sample.mask.shape, np.float32)
        boxes = []
        for x1, y1, x2, y2 in sample.faces:  # the detector's boxes wobble from frame to frame
            w, h = x2 - x1, y2 - y1
            dx, dy, grow = self.rng.normal(0, 0.06, 3)
            cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
            w, h = w * (1 + grow) / 2, h * (1 + grow) / 2
            boxes.append((cx - w, cy - h, cx + w, cy + h))
        return person_prior(sample.mask.shape, boxes)

    def _paste_on_background(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        bg = self.backgrounds[self.rng.integers(len(self.backgrounds))]
        if self.rng.random() < 0.5:
            bg = bg[:, ::-1]
        bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
        if self.rng.random() < 0.3:
            bg = cv2.GaussianBlur(bg, (0, 0), self.rng.uniform(1, 4))
        alpha = mask[..., None]
        return (alpha * image + (1 - alpha) * bg).astype(np.uint8)

    def _geometry(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Random resized crop (zooming out too), small rotation, flip, in one affine warp."""
        h, w = mask.shape[:2]
        rng, size = self.rng, self.size
        area = rng.uniform(0.3, 1.0) if rng.random() < 0.8 else rng.uniform(1.0, 2.5)
        aspect = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3))) * w / h
        cw = math.sqrt(area * w * h * aspect)
        ch = cw / aspect
        cx = rng.uniform(min(cw / 2, w - cw / 2), max(cw / 2, w - cw / 2))
        cy = rng.uniform(min(ch / 2, h - ch / 2), max(ch / 2, h - ch / 2))
        angle = rng.uniform(-12, 12) if rng.random() < 0.5 else 0.0
        flip = -1.0 if rng.random() < 0.5 else 1.0
        # source crop centre -> origin, rotate, scale to the output, flip, -> output centre
        rot = cv2.getRotationMatrix2D((0, 0), angle, 1.0)
        m = np.diag([flip * size / cw, size / ch]) @ rot[:, :2]
        t = np.array([size / 2, size / 2]) - m @ np.array([cx, cy])
        affine = np.hstack([m, t[:, None]]).astype(np.float32)
        border = cv2.BORDER_REFLECT_101
        image = cv2.warpAffine(
            image, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=border
        )
        mask = cv2.warpAffine(mask, affine, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)
        return image, mask

    def _colour(self, image: np.ndarray) -> np.ndarray:
        rng = self.rng
        x = image.astype(np.float32) / 255.0
        if rng.random() < 0.8:
            hsv = cv2.cvtColor(x, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = (hsv[..., 0] + rng.uniform(-12, 12)) % 360
            hsv[..., 1] *= rng.uniform(0.5, 1.5)
            x = cv2.cvtColor(np.clip(hsv, 0, [360, 1, 1]).astype(np.float32), cv2.COLOR_HSV2RGB)
        if rng.random() < 0.1:
            x = np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)
        x = (x - 0.5) * rng.uniform(0.7, 1.3) + 0.5 + rng.uniform(-0.15, 0.15)
        x = x * rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # white balance
        x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.4)
        if rng.random() < 0.2:
            x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
        if rng.random() < 0.3:
            x = x + rng.normal(0, rng.uniform(0.005, 0.03), x.shape).astype(np.float32)
        return (np.clip(x, 0, 1) * 255).astype(np.uint8)
