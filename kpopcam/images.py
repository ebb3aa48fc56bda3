"""Reading photos from disk the way a fan expects: EXIF orientation applied, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kpopcam.files import reason_of

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class ImageReadError(ValueError):
    """A file that cannot be read as a photo; the message says why for a fan."""


def read_rgb(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB pixels of a photo, turned upright by its EXIF orientation."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"{path}: not a readable image ({exc.__class__.__name__})") from exc


def photos_in(paths: list[str | Path]) -> list[Path]:
    """The files named, and the image files inside the folders named (sorted, not recursive
    into hidden folders). A file is kept whatever its suffix so that a bad one is reported;
    a folder that cannot be listed raises ImageReadError."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(_files_under(p)))
        else:
            found.append(p)
    return found


def _files_under(folder: Path) -> list[Path]:
    def refuse(exc: OSError):
        raise ImageReadError(f"folder {exc.filename} cannot be read: {reason_of(exc)}") from exc

    files = []
    for root, dirs, names in os.walk(folder, onerror=refuse):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files.extend(Path(root) / n for n in names
                     if not n.startswith(".") and (Path(root) / n).is_file())
    return files
