"""What several commands share: the gallery and the face models, made from the settings."""

from __future__ import annotations

import sys

from kpopcam.settings import Settings, data_dir
from kpopcam.stars import GalleryError, StarGallery


def open_gallery(args) -> StarGallery:
    settings: Settings = args.settings
    path = args.gallery or data_dir() / "stars.sqlite"
    return StarGallery(path, embedder=settings.identity.weights,
                       threshold=settings.identity.threshold)


def make_detector(settings: Settings):
    from kpopcam.vision.detector import make_detector as make

    d = settings.detector
    return make(d.kind, min_face_px=d.min_face_px, scale=d.scale)


def make_embedder(settings: Settings):
    from kpopcam.vision.embedder import FaceEmbedder

    return FaceEmbedder(settings.identity.weights)


def fail(message: str, code: int = 1) -> int:
    print(f"kpopcam: {message}", file=sys.stderr)
    return code


__all__ = ["GalleryError", "fail", "make_detector", "make_embedder", "open_gallery"]
