"""What several commands share: the gallery and the face models, made from the settings."""

from __future__ import annotations

import sys

from kpopcam.settings import Settings, data_dir
from kpopcam.stars import GalleryError, GalleryNeedsMigration, StarGallery, migrate_gallery


def open_gallery(args) -> StarGallery:
    """The star gallery; one made with another embedder is embedded again first, with a
    progress bar (the old file is kept beside it)."""
    settings: Settings = args.settings
    path = args.gallery or data_dir() / "stars.sqlite"
    identity = settings.identity
    try:
        return StarGallery(path, embedder=identity.weights, threshold=identity.match_threshold)
    except GalleryNeedsMigration as needed:
        migrate(needed, make_embedder(settings), flip=identity.flip)
    return StarGallery(path, embedder=identity.weights, threshold=identity.match_threshold)


def migrate(needed: GalleryNeedsMigration, embedder, flip: bool = True) -> None:
    from tqdm import tqdm

    print(f"kpopcam: the star gallery {needed.path} was made with {needed.stored}; "
          f"embedding its faces again with {needed.wanted}", file=sys.stderr)
    with tqdm(desc="re-embedding", unit="face", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = migrate_gallery(needed.path, embedder, on_progress=progress, flip=flip)
    print(f"kpopcam: {report.from_crops + report.from_thumbnails} face(s) embedded again "
          f"({report.from_thumbnails} from small thumbnails); the old gallery is kept as "
          f"{report.backup}", file=sys.stderr)
    for star, count in sorted(report.dropped.items()):
        print(f"kpopcam: {star}: {count} face(s) kept no picture to embed again from; "
              f"enrol {star} again", file=sys.stderr)


def make_detector(settings: Settings):
    from kpopcam.vision.detector import make_detector as make

    d = settings.detector
    return make(d.kind, min_face_px=d.min_face_px, scale=d.scale)


def make_embedder(settings: Settings):
    from kpopcam.vision.identity import make_embedder as make

    return make(settings.identity.weights)


def fail(message: str, code: int = 1) -> int:
    print(f"kpopcam: {message}", file=sys.stderr)
    return code


__all__ = ["GalleryError", "fail", "make_detector", "make_embedder", "open_gallery"]
