"""How good a look at a face a frame gives (size, sharpness, frontal pose), and a track's best
distinct looks: what its identity leans on and what "add this face" enrols."""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from kpopcam.types import Face
from kpopcam.vision.gallery_crop import GalleryCrop, make_crop

FULL_SIZE_PX = 80.0  # faces this wide and wider count as fully big enough
SHARP_HALF = 40.0  # Laplacian variance (64 px face) at which sharpness counts half
MIN_QUALITY = 0.02
ALBUM_SIZE = 5  # distinct looks a track keeps for enrolment
POSE_STEP = 0.15  # yaw or pitch apart by this much is another pose ...
SIZE_STEP = 1.5  # ... and a face this many times wider another distance (close-up, far shot)


@dataclass(frozen=True)
class Pose:
    """Head turn from the five landmarks: yaw 0 frontal, about +-0.5 in profile (nose
    offset from the eyes' middle, in eye distances); pitch the nose's height between eyes
    and mouth (about 0.5 level)."""

    yaw: float
    pitch: float



FRONTAL = Pose(0.0, 0.5)


@dataclass(frozen=True, eq=False)
class FaceSample:
    """One look at a face: its embedding (unit, read-only), how good the look is, the pose,
    and the crop it can be enrolled from. Immutable: handed from the analysis thread on."""

    embedding: np.ndarray
    quality: float
    pose: Pose
    frame_number: int
    width: float  # of the face, in frame pixels
    crop: GalleryCrop | None = None

    @property
    def kind(self) -> tuple[int, int, int]:
        """Which pose and distance this look is: looks of one kind are alike for enrolment.
        Fixed steps rather than distances between looks, so that a run of slightly nearer
        looks can never crowd out the far one."""
        return (round(self.pose.yaw / POSE_STEP), round((self.pose.pitch - 0.5) / POSE_STEP),
                int(np.floor(np.log(max(self.width, 1.0)) / np.log(SIZE_STEP))))


def pose_of(face: Face) -> Pose:
    if face.landmarks is None:
        return FRONTAL
    lm = np.asarray(face.landmarks, np.float32)
    eyes, nose, mouth = (lm[0] + lm[1]) / 2, lm[2], (lm[3] + lm[4]) / 2
    eye_distance = max(float(np.hypot(*(lm[1] - lm[0]))), 1.0)
    drop = float(mouth[1] - eyes[1])
    pitch = float(nose[1] - eyes[1]) / drop if abs(drop) > 1.0 else 0.5
    return Pose(float(nose[0] - eyes[0]) / eye_distance, pitch)


def face_quality(sharpness: float, face: Face) -> float:
    """0..1: big, sharp and frontal is 1. sharpness: face_sharpness of the face."""
    size = min(1.0, face.width / FULL_SIZE_PX)
    sharp = sharpness / (sharpness + SHARP_HALF)
    pose = pose_of(face)
    frontal = max(0.1, 1.0 - 2.0 * abs(pose.yaw)) * max(0.3, 1.0 - 2.0 * abs(pose.pitch - 0.5))
    return max(MIN_QUALITY, size * sharp * frontal)


def pooled(embeddings: list[np.ndarray], qualities: list[float]) -> np.ndarray:
    """The quality-weighted mean of unit embeddings, as a unit vector."""
    mean = np.average(np.stack(embeddings), axis=0, weights=np.asarray(qualities, np.float64))
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def distinct(samples: list[FaceSample], n: int = ALBUM_SIZE) -> list[FaceSample]:
    """Up to n samples, best first: the best look of each pose and distance."""
    best: dict[tuple[int, int, int], FaceSample] = {}
    for s in samples:
        if s.kind not in best or s.quality > best[s.kind].quality:
            best[s.kind] = s
    return sorted(best.values(), key=lambda s: s.quality, reverse=True)[:n]


def album_with(album: tuple[FaceSample, ...], candidate: FaceSample, rgb_of=None,
               n: int = ALBUM_SIZE) -> tuple[FaceSample, ...]:
    """The album with the candidate in it if it is among the best distinct looks. A candidate
    without a crop has it cut (rgb_of() -> the frame, RGB, and the face) only then, so most
    frames cost nothing."""
    kept = distinct([*album, candidate], n)
    if candidate not in kept:
        return album
    with_crop = candidate
    if candidate.crop is None:
        rgb, face = rgb_of()
        with_crop = replace(candidate, crop=make_crop(rgb, face))
    return tuple(with_crop if s is candidate else s for s in kept)


def sample(embedding: np.ndarray, face: Face, sharpness: float, frame_number: int,
           crop: GalleryCrop | None = None) -> FaceSample:
    vector = np.asarray(embedding, np.float32).reshape(-1)
    vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
    vector.setflags(write=False)
    return FaceSample(vector, face_quality(sharpness, face), pose_of(face), frame_number,
                      face.width, crop)


def face_sharpness(image: np.ndarray, face: Face, side: int = 64) -> float:
    """Variance of the Laplacian of the face, resampled to a fixed size so big and small faces
    compare fairly."""
    x1, y1, x2, y2 = (int(round(v)) for v in face.box)
    h, w = image.shape[:2]
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return 0.0
    grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
    grey = cv2.resize(grey, (side, side), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
