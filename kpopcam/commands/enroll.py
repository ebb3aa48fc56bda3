"""kpopcam enroll NAME PHOTO_OR_FOLDER...: add a star's face from photos."""

from __future__ import annotations

import sqlite3

from tqdm import tqdm

from kpopcam.commands.common import (
    fail,
    gallery_path,
    gallery_write_failed,
    make_embedder,
    open_gallery,
)
from kpopcam.images import ImageReadError, photos_in
from kpopcam.stars import GalleryError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "enroll", help="enrol a star from photos or folders of photos",
        description="Adds the largest face of each photo to the star NAME (made if new). "
        "Photos with no face, several faces of similar size, or that cannot be read are "
        "listed and skipped.",
    )
    p.add_argument("name", help="the star's name, in any script (e.g. Lisa, 리사)")
    p.add_argument("photos", nargs="+", help="photos or folders of photos")
    p.set_defaults(run=run)


def run(args) -> int:
    from kpopcam.vision.weights import WeightsError

    try:
        photos = photos_in(args.photos)
    except ImageReadError as exc:
        return fail(str(exc), 2)
    if not photos:
        return fail("no photos found in " + ", ".join(args.photos))
    try:
        gallery = open_gallery(args)
        from kpopcam.vision.detector import photo_detector

        detector, embedder = photo_detector(args.settings), make_embedder(args.settings)
        with tqdm(total=len(photos), desc=f"enrolling {args.name}", unit="photo") as bar:
            report = _enroll(args, photos, detector, embedder, gallery, bar)
    except (GalleryError, WeightsError) as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(gallery_write_failed(gallery_path(args), exc))
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}")
    print(f"{args.name}: {len(report.added)} face(s) added, {len(report.skipped)} photo(s) "
          f"skipped")
    return 0 if report.added else 1


def _enroll(args, photos, detector, embedder, gallery, bar):
    from kpopcam.enrollment import enroll

    with gallery:
        return enroll(args.name, photos, detector, embedder, gallery,
                      flip=args.settings.identity.flip, on_photo=lambda _: bar.update())
