"""Enrolling a star from photos: one face per photo into the gallery, the rest reported."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kpopcam.enrol_screen import screen
from kpopcam.images import ImageReadError, read_rgb
from kpopcam.stars import EnrolledFace, StarGallery, clean_name
from kpopcam.types import Face, iou
from kpopcam.vision.detector import FaceDetector, box_crop, detect_in_photo
from kpopcam.vision.gallery_crop import make_crop

# A second face at least this large (relative to the largest) makes a photo ambiguous.
AMBIGUOUS_SIZE_RATIO = 0.7
# MTCNN scores the real faces of the idol photos 0.996-1.0. A box it is less sure of beside a
# face it is sure of was a background blur, a hand on a chin or an arm in every such photo of
# 1,661 (three): it is not the star, however large (training/RESULTS.md).
SURE_FACE = 0.95
THUMBNAIL_PX = 96


@dataclass
class EnrolReport:
    added: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (photo, reason)


@dataclass
class PhotoFace:
    """The one face a photo gives for enrolment, or the reason it gives none."""

    face: Face | None
    rgb: np.ndarray | None
    reason: str = ""


def face_of_photo(detector: FaceDetector, path: Path) -> PhotoFace:
    try:
        rgb = read_rgb(path)
    except ImageReadError as exc:
        return PhotoFace(None, None, str(exc).removeprefix(f"{path}: "))
    faces = likely_faces(detect_in_photo(detector, rgb))
    if not faces:
        return PhotoFace(None, rgb, "no face found")
    if len(faces) > 1 and faces[1].area >= AMBIGUOUS_SIZE_RATIO * faces[0].area:
        return PhotoFace(None, rgb, f"{len(faces)} faces of similar size: which one is the star?")
    return PhotoFace(faces[0], rgb)


def likely_faces(faces: list[Face]) -> list[Face]:
    """The faces a photo's star may be, largest first: those the detector is sure of, when it
    is sure of any."""
    return [f for f in faces if f.score >= SURE_FACE] or faces


def thumbnail_jpeg(rgb: np.ndarray, face: Face) -> bytes:
    crop = box_crop(rgb, face, THUMBNAIL_PX, margin=0.25)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 90])
    return data.tobytes() if ok else b""


def enrolled_face(rgb: np.ndarray, face: Face, photo: str, embedder,
                  flip: bool = True) -> EnrolledFace:
    """What the gallery keeps of a face: its embedding, where it came from, a thumbnail, and
    the crop it can be embedded again from when the embedder changes."""
    embedding = embedder.embed_faces(rgb, [face], flip=flip)[0]
    return EnrolledFace(np.asarray(embedding), photo, thumbnail_jpeg(rgb, face),
                        make_crop(rgb, face))


def enroll_frame_face(name: str, rgb: np.ndarray, box, photo: str, detector: FaceDetector,
                      embedder, gallery: StarGallery, flip: bool = True) -> Face:
    """Adds the face at `box` of a video frame to `name`: the detector's face there (real
    landmarks for alignment) when it finds one, else the box as it is."""
    found = max(detector.detect(rgb, color="rgb"), key=lambda f: iou(f.box, box), default=None)
    face = found if found is not None and iou(found.box, box) >= 0.3 else Face(
        tuple(float(v) for v in box), 1.0)
    gallery.add_faces(name, [enrolled_face(rgb, face, photo, embedder, flip)])
    return face


def looks_as_faces(looks, source: str, embedder, flip: bool = True) -> list[EnrolledFace]:
    """Looks at a face in video frames (FaceSample with a crop) as the gallery keeps faces,
    embedded from their crops as photos are (the live engine may embed without the flip)."""
    faces = []
    for look in looks:
        rgb = look.crop.rgb()
        embedding = embedder.embed_faces(rgb, [look.crop.face], flip=flip)[0]
        faces.append(EnrolledFace(np.asarray(embedding), f"{source} frame {look.frame_number}",
                                  thumbnail_jpeg(rgb, look.crop.face), look.crop))
    return faces


def enroll(
    name: str,
    photos: Iterable[Path],
    detector: FaceDetector,
    embedder,
    gallery: StarGallery,
    flip: bool = True,
    on_photo: Callable[[Path], None] | None = None,
    lookalikes: bool = False,
) -> EnrolReport:
    """Adds the face of each photo (the largest the detector is sure of) to the star `name`, in
    one transaction at the end so that a failure part-way leaves the gallery as it was. Photos
    with no face, several similar faces, or that are unreadable are skipped and reported, and
    so are faces the star already has and faces that look more like another enrolled star
    (kpopcam.enrol_screen; lookalikes: keep those)."""
    enrolled = gallery.find(name)  # a bad name fails here, before any photo is read
    star = enrolled or clean_name(name)
    report, found_faces = EnrolReport(), []
    for path in photos:
        found = face_of_photo(detector, path)
        if found.face is None:
            report.skipped.append((path, found.reason))
        else:
            found_faces.append((path, enrolled_face(found.rgb, found.face, str(path), embedder,
                                                    flip)))
        if on_photo:
            on_photo(path)
    faces = []
    reasons = _screened(star, enrolled is not None, found_faces, gallery, lookalikes)
    for (path, face), why in zip(found_faces, reasons, strict=True):
        if why is None:
            faces.append(face)
            report.added.append(path)
        else:
            report.skipped.append((path, why))
    gallery.add_faces(star, faces)
    return report


def _screened(star: str, is_enrolled: bool, found_faces, gallery: StarGallery,
              lookalikes: bool):
    if not found_faces:
        return []
    enrolled = gallery.embeddings(star) if is_enrolled else np.zeros((0, 0))
    others = {n: c for n, c in gallery.centroids().items() if n != star}
    return screen(star, np.stack([f.embedding for _, f in found_faces]), enrolled, others,
                  lookalikes)
