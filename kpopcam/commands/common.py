"""What several commands share: the gallery and the face models, made from the settings."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from kpopcam.files import reason_of
from kpopcam.settings import Settings, data_dir
from kpopcam.stars import GalleryError, StarGallery


def gallery_path(args) -> Path:
    return Path(args.gallery or data_dir() / "stars.sqlite")


def open_gallery(args) -> StarGallery:
    """The star gallery the settings (or --gallery) name; a file that cannot be used is a
    GalleryError in words for a fan."""
    settings: Settings = args.settings
    path = gallery_path(args)
    if path.is_dir():
        raise GalleryError(f"the star gallery {path} is a folder; --gallery names the file "
                           f"(e.g. {path / 'stars.sqlite'})")
    try:
        return StarGallery(path, embedder=settings.identity.weights,
                           threshold=settings.identity.threshold)
    except sqlite3.Error as exc:
        raise GalleryError(f"the star gallery {path} cannot be opened: it is not a kpopcam "
                           f"gallery, or it is damaged ({exc})") from exc
    except OSError as exc:
        raise GalleryError(f"the star gallery {path} cannot be opened: "
                           f"{reason_of(exc)}") from exc


def gallery_write_failed(path: Path, exc: sqlite3.Error) -> str:
    """What to tell a fan when the gallery opened but could not be changed."""
    return (f"the star gallery {path} could not be changed, nothing was: {exc} (is the file "
            "or its folder read-only?)")


def make_embedder(settings: Settings):
    from kpopcam.vision.embedder import FaceEmbedder

    return FaceEmbedder(settings.identity.weights)


def fail(message: str, code: int = 1) -> int:
    print(f"kpopcam: {message}", file=sys.stderr)
    return code


__all__ = ["GalleryError", "fail", "gallery_write_failed", "make_embedder",
           "open_gallery"]
