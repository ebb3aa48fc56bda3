"""Portrait mode: the person mask from our U-Net and a camera-like background blur.

Images are HxWx3 uint8 RGB numpy arrays, as everywhere in kpopcam.vision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.types import Face
from kpopcam.vision.person_prior import (
    faces_for_prior,
    person_prior,
    prior_detector,
    scaled_boxes,
)
from kpopcam.vision.weights import WeightsError, locate, read_card

MODEL_NAME = "portrait_unet"
LENSES = ("disc", "gaussian")
GAMMA = 2.2  # blur in (approximately) linear light, as a lens does: highlights stay bright
MIN_PERSON_FRACTION = 0.003  # less of the frame than this is noise, not a person
MIN_REGION_FRACTION = 0.01  # a separate blob this small with no face in it is not a person
EDGE_STEEPNESS = 3.0
BLUR_RADIUS_PX = 6  # the lens kernel's radius at the reduced scale of the blur (8: 2x slower)
GUIDE_PX = 640  # the mask's edges are fitted to the picture at up to this size

FaceBox = Face | tuple[float, float, float, float]


class PersonSegmenter:
    """The U-Net behind portrait mode: photo in, person probability out.

    forward: the network as a numpy callable, (N, C, H, W) float32 -> (N, 1, H, W) logits: the
    ONNX export in onnxruntime for the app, the torch network for training (training/).
    """

    def __init__(
        self, forward, input_size: int, mean, std, flip_average: bool = False,
        in_channels: int = 3,
    ):
        self.forward = forward
        self.input_size = int(input_size)
        self.flip_average = flip_average
        self.in_channels = int(in_channels)
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255

    @classmethod
    def from_weights(cls, pt_path: Path | None = None) -> PersonSegmenter:
        """The shipped model's ONNX export (or the one whose card sits beside pt_path)."""
        from kpopcam.vision.onnx_model import OnnxModel

        pt_path, card_path = locate(MODEL_NAME, pt_path)
        card = read_card(card_path)
        export = card.get("onnx")
        if not export:
            raise WeightsError(f"{card_path} names no ONNX export of {pt_path.name}; make one "
                               "with python -m training.export_portrait")
        return cls.from_card(card, OnnxModel(pt_path.with_name(export["file"]), export["sha256"]))

    @classmethod
    def from_card(cls, card: dict, forward) -> PersonSegmenter:
        norm = card["normalisation"]
        flip = bool(card.get("flip_average", False))
        channels = card.get("arguments", {}).get("in_channels", 3)
        return cls(forward, card["input_size"], norm["mean"], norm["std"], flip, channels)

    @property
    def wants_faces(self) -> bool:
        """True when the model reads a person prior drawn from face boxes beside the photo."""
        return self.in_channels == 4

    def low_res(self, image: np.ndarray, faces: list[FaceBox] = ()) -> np.ndarray:
        """Person probability (float32, input_size x input_size) of the whole frame.

        The frame is stretched to the square input, as in training. faces: every face on
        the frame (in its pixels), drawn into the person prior when the model reads one.
        With flip_average the frame and its mirror image go through the network together
        and their results are averaged (twice the time, a steadier mask).
        """
        x = self.input_array(image, faces)[None]
        if self.flip_average:
            x = np.concatenate([x, x[..., ::-1]])
        prob = _sigmoid(self.forward(x)[:, 0])
        if self.flip_average:
            return (prob[0] + prob[1][:, ::-1]) / 2
        return prob[0]

    def input_array(self, image: np.ndarray, faces: list[FaceBox] = ()) -> np.ndarray:
        """The network's input for a frame: CxHxW float32, the frame stretched to the square
        input and normalised, with the person prior of its faces as a 4th channel if read."""
        size = self.input_size
        h, w = image.shape[:2]
        x = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
        x = (x - self.mean) / self.std
        if self.wants_faces:
            prior = person_prior((size, size), scaled_boxes(faces, size / w, size / h))
            x = np.concatenate([x, prior[..., None]], axis=2)
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    def probability(self, image: np.ndarray, faces: list[FaceBox] = ()) -> np.ndarray:
        """Person probability at the image's size (plain bilinear upsampling)."""
        h, w = image.shape[:2]
        return cv2.resize(self.low_res(image, faces), (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class PortraitOptions:
    """How a portrait looks.

    strength: blur radius in percent of the image's shorter side (0 = no blur).
    lens: "disc" (the round bokeh of a real aperture) or "gaussian" (softer, smoother).
    """

    strength: float = 3.0
    lens: str = "disc"

    def __post_init__(self):
        if self.lens not in LENSES:
            raise ValueError(f"lens must be one of {', '.join(LENSES)}, not {self.lens!r}")
        if not 0 <= self.strength <= 25:
            raise ValueError(f"strength must be between 0 and 25 (percent), not {self.strength}")


class PortraitMaker:
    """Full-resolution photo in, portrait out (same size): the subject sharp, the rest blurred.

    A photo in which no person is found (with a model that reads faces: no face) comes back
    unchanged (a copy): with nothing to focus on, a blurred frame would only look broken.
    When the model reads a person prior and no face box is given, the faces are found on the
    photo with `detector` (MTCNN, made on first need).
    """

    def __init__(
        self, segmenter: PersonSegmenter | None = None, options: PortraitOptions | None = None,
        detector=None,
    ):
        self.segmenter = segmenter or PersonSegmenter.from_weights()
        self.options = options or PortraitOptions()
        self._detector = detector

    def warm_up(self) -> PortraitMaker:
        """One portrait of a blank frame: onnxruntime's first run sets up its buffers and
        OpenCV starts its threads, which made the fan's first capture twice as slow."""
        blank = np.zeros((self.segmenter.input_size,) * 2 + (3,), np.uint8)
        prob = self.segmenter.low_res(blank, [(8.0, 8.0, 64.0, 64.0)])
        blur_background(blank, refine_alpha(prob, blank), self.options)
        return self

    def subject_alpha(self, image: np.ndarray, face: FaceBox | None = None) -> np.ndarray | None:
        """Soft subject mask (float32 HxW in [0, 1]) at the image's size, or None: no person.

        face: the subject's face box (or Face); only the person under it is kept.
        """
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        faces = self._faces(image, face)
        if self.segmenter.wants_faces and not faces:
            return None  # the U-Net reads a cat or a coffee cup as a person when no face guides it
        prob = self.segmenter.low_res(image, faces)
        if np.mean(prob >= 0.5) < MIN_PERSON_FRACTION:
            return None
        if face is not None:
            prob = keep_person_under_face(prob, face, image.shape[:2])
        prob = drop_specks(prob, faces, image.shape[:2])
        return refine_alpha(prob, image)

    def render(
        self, image: np.ndarray, face: FaceBox | None = None, options: PortraitOptions | None = None
    ) -> np.ndarray:
        """The portrait of an HxWx3 uint8 RGB image, same size; face: as in subject_alpha."""
        options = options or self.options
        alpha = self.subject_alpha(image, face)
        if alpha is None:
            return image.copy()
        return blur_background(image, alpha, options)

    def _faces(self, image: np.ndarray, face: FaceBox | None) -> list[FaceBox]:
        if face is not None:
            return [face]
        if not self.segmenter.wants_faces:
            return []
        self._detector = self._detector or prior_detector()
        return faces_for_prior(self._detector, image)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    # exp of a large positive argument overflows to inf, which still gives 0: no warning wanted
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-logits))).astype(np.float32)


def keep_person_under_face(
    prob: np.ndarray, face: FaceBox, image_shape: tuple[int, int]
) -> np.ndarray:
    """The probability map with every person but the one under the face box set to zero.

    The subject is the connected region of the thresholded mask with the most pixels inside
    the face box (grown by half, as detector boxes are tight). If no region touches it, the
    mask is kept whole: better an extra sharp person than a blurred star.
    """
    count, labels = cv2.connectedComponents((prob >= 0.5).astype(np.uint8), connectivity=8)
    rows, cols = _box_on_map(face, prob.shape, image_shape, grow=0.25)
    inside = np.bincount(labels[rows, cols].ravel(), minlength=count)
    inside[0] = 0
    if count <= 1 or inside.max() == 0:
        return prob
    keep = np.zeros(count, bool)
    keep[int(np.argmax(inside))] = True
    return _only_regions(prob, labels, keep)


def drop_specks(
    prob: np.ndarray, faces: list[FaceBox], image_shape: tuple[int, int]
) -> np.ndarray:
    """The probability map without small separate blobs that hold no face (the tip of a
    rocket model, a lamp): left in, they would stay sharp in a blurred background."""
    mask = (prob >= 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 2:
        return prob
    keep = stats[:, cv2.CC_STAT_AREA] >= MIN_REGION_FRACTION * mask.size
    for face in faces:
        keep[np.unique(labels[_box_on_map(face, prob.shape, image_shape)])] = True
    keep[0] = False
    if keep[1:].all():
        return prob
    return _only_regions(prob, labels, keep)


def _box_on_map(
    face: FaceBox, map_shape: tuple[int, int], image_shape: tuple[int, int], grow: float = 0.0
) -> tuple[slice, slice]:
    """(rows, columns) of a low-resolution map under a face box given in image pixels,
    grown by `grow` of its size on each side and clipped to the map."""
    x1, y1, x2, y2 = face.box if isinstance(face, Face) else face
    sy, sx = map_shape[0] / image_shape[0], map_shape[1] / image_shape[1]
    gx, gy = (x2 - x1) * grow, (y2 - y1) * grow
    rows = slice(max(0, int((y1 - gy) * sy)), max(0, int(np.ceil((y2 + gy) * sy)) + 1))
    cols = slice(max(0, int((x1 - gx) * sx)), max(0, int(np.ceil((x2 + gx) * sx)) + 1))
    return rows, cols


def _only_regions(prob: np.ndarray, labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """prob outside the kept connected regions set to zero; the regions are grown a little
    so that the soft edge of a kept person survives the cut."""
    region = keep[labels].astype(np.uint8)
    region = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return prob * region


def refine_alpha(prob: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Upsample a low-resolution probability to the image with edges that follow the image.

    The network's soft ramp is first steepened around 0.5 (it is several low-resolution
    pixels wide, which would leave a smeared band of half-sharp background), then a guided
    filter (He et al.) with the grey image as guide smooths the upsampling's staircase and
    lets the edge follow the image's own edges (hair, shoulders). The result is stretched so
    that the subject's inside is exactly 1 and stays sharp.
    """
    h, w = image.shape[:2]
    # the filter's coefficients are smooth: found at up to GUIDE_PX and scaled up (He's fast
    # guided filter), they cost a quarter as much at 1280x720 for the same edges
    step = max(1, max(h, w) // GUIDE_PX)
    small = (max(1, w // step), max(1, h // step))
    guide = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    guide_small = cv2.resize(guide, small, interpolation=cv2.INTER_AREA)
    up = cv2.resize(prob, small, interpolation=cv2.INTER_LINEAR)
    up = np.clip((up - 0.5) * EDGE_STEEPNESS + 0.5, 0, 1)
    radius = max(2, round(2 * max(small) / prob.shape[0]))
    a, b = guided_coefficients(guide_small, up, radius, eps=1e-3)
    if step > 1:
        a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.add(cv2.multiply(a, guide), b)
    return np.clip((alpha - 0.1) / 0.8, 0, 1).astype(np.float32)


def guided_coefficients(guide: np.ndarray, src: np.ndarray, radius: int,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's (He et al.) smoothed a and b: its output is a * guide + b."""
    def box(x):
        return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a), box(b)


def blur_background(image: np.ndarray, alpha: np.ndarray, options: PortraitOptions) -> np.ndarray:
    """Blur what alpha leaves out, in linear light, and lay the sharp subject over it.

    The blur is normalised by the blurred background weight: only background pixels are
    averaged, so the subject's colours do not bleed into the background as a halo. Pixels
    half or more subject are left out of the background sample altogether. The blurred
    background goes back to 8 bits at the reduced size and is laid under the picture there:
    blending linear light at full size cost more than everything else.
    """
    h, w = image.shape[:2]
    radius = options.strength / 100 * min(h, w)
    if radius < 0.5:
        return image.copy()
    linear = cv2.LUT(image, _TO_LINEAR)  # a power of every pixel costs more than the blur
    weight = np.clip(1 - 2 * alpha, 0, 1)
    # blur at a reduced scale: a large kernel costs little there, and the result is smooth
    scale = min(1.0, BLUR_RADIUS_PX / radius)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    num = cv2.resize(linear * weight[..., None], size, interpolation=cv2.INTER_AREA)
    den = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    kernel = lens_kernel(radius * scale, options.lens)
    num = cv2.filter2D(num, -1, kernel, borderType=cv2.BORDER_REFLECT)
    den = cv2.filter2D(den, -1, kernel, borderType=cv2.BORDER_REFLECT)
    # the background where it has any weight, the picture itself where it has none (deep
    # inside the subject, where the subject covers it anyway)
    inside = cv2.LUT(cv2.resize(image, size, interpolation=cv2.INTER_AREA), _TO_LINEAR)
    background = np.where(den[..., None] > 1e-4, num / np.maximum(den, 1e-4)[..., None], inside)
    background = cv2.resize(to_srgb(background), (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = np.ascontiguousarray(alpha, dtype=np.float32)
    return cv2.blendLinear(image, background, alpha, 1 - alpha)


_TO_LINEAR = ((np.arange(256) / 255) ** GAMMA).astype(np.float32)


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (float32, 0..1) back to 8-bit values."""
    return cv2.convertScaleAbs(cv2.pow(cv2.max(linear, 0.0), 1 / GAMMA), alpha=255)


def lens_kernel(radius: float, lens: str) -> np.ndarray:
    """A normalised blur kernel: a disc with an anti-aliased rim, or a Gaussian (sigma r/2)."""
    r = max(radius, 0.5)
    half = int(np.ceil(r)) + 1
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float32)
    dist = np.sqrt(xx * xx + yy * yy)
    if lens == "disc":
        kernel = np.clip(r + 0.5 - dist, 0, 1)
    else:
        kernel = np.exp(-0.5 * (dist / (r / 2)) ** 2)
    return (kernel / kernel.sum()).astype(np.float32)
