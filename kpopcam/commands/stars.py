"""kpopcam stars [list|rename|remove|export|import|migrate]: look after the star gallery."""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

from kpopcam.commands.common import (
    fail,
    gallery_path,
    gallery_write_failed,
    make_embedder,
    migrate_with_bar,
    open_gallery,
)
from kpopcam.files import reason_of, why
from kpopcam.stars import GalleryError, gallery_embedder


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stars", help="list, rename, remove, export or import stars")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list enrolled stars (the default)")
    rename = actions.add_parser("rename", help="rename a star")
    rename.add_argument("old")
    rename.add_argument("new")
    remove = actions.add_parser("remove", help="remove a star and all its faces")
    remove.add_argument("name")
    export = actions.add_parser("export", help="write the gallery to a file")
    export.add_argument("file")
    imp = actions.add_parser("import", help="add the stars of an exported gallery file")
    imp.add_argument("file")
    actions.add_parser("migrate", help="embed the gallery's faces again with identity.weights's "
                       "embedder (any command does it when needed)")
    p.set_defaults(run=run, action=None)


def run(args) -> int:
    try:
        with open_gallery(args) as gallery:
            return _ACTIONS[args.action or "list"](gallery, args)
    except GalleryError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(why(exc))
    except sqlite3.Error as exc:
        return fail(gallery_write_failed(gallery_path(args), exc))


def _list(gallery, _args) -> int:
    stars = gallery.stars()
    if not stars:
        print("no stars enrolled yet: kpopcam enroll NAME PHOTO_OR_FOLDER...")
    for star in stars:
        print(f"{star.name}\t{star.face_count} face(s)")
    return 0


def _rename(gallery, args) -> int:
    gallery.rename(args.old, args.new)
    print(f"renamed {args.old} to {args.new}")
    return 0


def _remove(gallery, args) -> int:
    gallery.remove(args.name)
    print(f"removed {args.name}")
    return 0


def _export(gallery, args) -> int:
    target = Path(args.file)
    if target.is_dir():
        return fail(f"cannot export to {target}: it is a folder; name a file in it, e.g. "
                    f"{target / 'stars.kpopcam'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        gallery.export(target)
    except (OSError, sqlite3.Error) as exc:
        reason = reason_of(exc) if isinstance(exc, OSError) else str(exc)
        return fail(f"the gallery could not be written to {target}: {reason}")
    print(f"gallery written to {target}")
    return 0


def _import(gallery, args) -> int:
    source = Path(args.file)
    if not source.is_file():
        return fail(f"there is no gallery file {args.file}")
    with tempfile.TemporaryDirectory(prefix="kpopcam-import-") as tmp:
        copy = Path(shutil.copy2(source, Path(tmp) / "shared.sqlite"))  # the friend's stays
        made_with = _embedder_of(copy)
        if made_with and made_with != gallery.embedder:
            print(f"kpopcam: {source} was made with {made_with}; embedding its faces again "
                  f"with {gallery.embedder}", file=sys.stderr)
            try:
                report = migrate_with_bar(copy, make_embedder(args.settings),
                                          args.settings.identity.flip)
            except ValueError as exc:  # a face picture in it is damaged
                raise GalleryError(f"{source} could not be embedded again with "
                                   f"{gallery.embedder}, nothing was imported: {exc}") from exc
            for star, count in sorted(report.dropped.items()):
                print(f"kpopcam: {star}: {count} face(s) kept no picture to embed again from "
                      "and were not imported", file=sys.stderr)
        added = gallery.import_from(copy)
    print(f"{added} face(s) imported from {args.file} (faces the gallery had are skipped)")
    return 0


def _embedder_of(path: Path) -> str | None:
    try:
        return gallery_embedder(path)
    except sqlite3.Error:
        return None  # not a gallery: import_from says so


def _migrate(gallery, _args) -> int:
    print(f"the star gallery uses the {gallery.embedder} embedder")
    return 0


_ACTIONS = {"list": _list, "rename": _rename, "remove": _remove, "export": _export,
            "import": _import, "migrate": _migrate}
