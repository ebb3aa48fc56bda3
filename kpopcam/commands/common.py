"""What several commands share: the gallery and the face models, made from the settings."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from kpopcam.files import reason_of
from kpopcam.settings import Settings, data_dir
from kpopcam.stars import GalleryError, GalleryNeedsMigration, StarGallery, migrate_gallery


def gallery_path(args) -> Path:
    return Path(args.gallery or data_dir() / "stars.sqlite")


def open_gallery(args, migrate_now: bool = True) -> StarGallery:
    """The star gallery the settings (or --gallery) name; a file that cannot be used is a
    GalleryError in words for a fan. One made with another embedder is embedded again first,
    with a progress bar (the old file is kept beside it); migrate_now=False raises
    GalleryNeedsMigration instead (the window migrates in a pool thread, with its own bar)."""
    settings: Settings = args.settings
    path = gallery_path(args)
    if path.is_dir():
        raise GalleryError(f"the star gallery {path} is a folder; --gallery names the file "
                           f"(e.g. {path / 'stars.sqlite'})")
    identity = settings.identity
    try:
        try:
            return StarGallery(path, embedder=identity.weights,
                               threshold=identity.match_threshold,
                               margin=identity.match_margin)
        except GalleryNeedsMigration as needed:
            if not migrate_now:
                raise
            try:
                migrate(needed, make_embedder(settings), flip=identity.flip)
            except ValueError as exc:  # a face picture it kept is damaged: nothing changed
                if isinstance(exc, GalleryError):
                    raise
                raise GalleryError(f"the star gallery {path} could not be embedded again with "
                                   f"{needed.wanted} and is unchanged: {exc}") from exc
        return StarGallery(path, embedder=identity.weights, threshold=identity.match_threshold,
                               margin=identity.match_margin)
    except sqlite3.Error as exc:
        raise GalleryError(f"the star gallery {path} cannot be opened: it is not a kpopcam "
                           f"gallery, or it is damaged ({exc})") from exc
    except OSError as exc:
        raise GalleryError(f"the star gallery {path} cannot be opened: "
                           f"{reason_of(exc)}") from exc


def migrate(needed: GalleryNeedsMigration, embedder, flip: bool = True) -> None:
    print(f"kpopcam: the star gallery {needed.path} was made with {needed.stored}; "
          f"embedding its faces again with {needed.wanted}", file=sys.stderr)
    report = migrate_with_bar(needed.path, embedder, flip)
    print(f"kpopcam: {report.from_crops + report.from_thumbnails} face(s) embedded again "
          f"({report.from_thumbnails} from small thumbnails); the old gallery is kept as "
          f"{report.backup}", file=sys.stderr)
    for star, count in sorted(report.dropped.items()):
        print(f"kpopcam: {star}: {count} face(s) kept no picture to embed again from; "
              f"enrol {star} again", file=sys.stderr)


def migrate_with_bar(path: Path, embedder, flip: bool = True):
    """migrate_gallery with a progress bar in the terminal; its MigrationReport."""
    from tqdm import tqdm

    with tqdm(desc="re-embedding", unit="face", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        return migrate_gallery(path, embedder, on_progress=progress, flip=flip)


def gallery_write_failed(path: Path, exc: sqlite3.Error) -> str:
    """What to tell a fan when the gallery opened but could not be changed."""
    return (f"the star gallery {path} could not be changed, nothing was: {exc} (is the file "
            "or its folder read-only?)")


def make_embedder(settings: Settings):
    from kpopcam.vision.identity import make_embedder as make

    return make(settings.identity.weights)


def fail(message: str, code: int = 1) -> int:
    print(f"kpopcam: {message}", file=sys.stderr)
    return code


__all__ = ["GalleryError", "fail", "gallery_write_failed", "make_embedder",
           "open_gallery"]
