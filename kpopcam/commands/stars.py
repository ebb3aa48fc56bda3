"""kpopcam stars [list|rename|remove|export|import|migrate]: look after the star gallery."""

from __future__ import annotations

from kpopcam.commands.common import fail, open_gallery
from kpopcam.stars import GalleryError


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
    gallery.export(args.file)
    print(f"gallery written to {args.file}")
    return 0


def _import(gallery, args) -> int:
    added = gallery.import_from(args.file)
    print(f"{added} face(s) imported from {args.file} (faces the gallery had are skipped)")
    return 0


def _migrate(gallery, _args) -> int:
    print(f"the star gallery uses the {gallery.embedder} embedder")
    return 0


_ACTIONS = {"list": _list, "rename": _rename, "remove": _remove, "export": _export,
            "import": _import, "migrate": _migrate}
