"""Idol photo folders (DIR/<person>/<photo>) for the identity scripts."""

from __future__ import annotations

from pathlib import Path

from kpopcam.images import IMAGE_SUFFIXES


def list_photos(directory: str | Path) -> list[tuple[str, Path]]:
    """(person, photo) for every image in DIR/<person>/, sorted."""
    root = Path(directory)
    if not root.is_dir():
        raise SystemExit(f"{root}: not a folder (expected DIR/<person>/<photo>)")
    photos = [
        (person.name, f)
        for person in sorted(p for p in root.iterdir() if p.is_dir())
        for f in sorted(person.iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not photos:
        raise SystemExit(f"{root}: no photos in DIR/<person>/ folders")
    return photos
