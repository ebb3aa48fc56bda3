"""kpopcam captures [list|export|delete]: the saved portraits."""

from __future__ import annotations

import argparse
import shutil
from datetime import datetime
from pathlib import Path

from kpopcam.captures import CaptureError, CaptureStore
from kpopcam.commands.common import fail
from kpopcam.files import atomic_path, why, writable_folder
from kpopcam.types import EMOTIONS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("captures", help="list, export or delete saved portraits")
    p.add_argument("--folder", type=Path, help="capture folder (default: the settings')")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="list captures, newest first (the default)")
    _add_filters(listing)
    export = actions.add_parser("export", help="copy captures to a folder")
    _add_filters(export)
    export.add_argument("--ids", type=int, nargs="+", help="only these capture ids")
    export.add_argument("--to", type=Path, required=True, help="destination folder")
    export.add_argument("--originals", action="store_true", help="also copy the originals")
    delete = actions.add_parser("delete", help="delete captures (files and index)")
    delete.add_argument("ids", type=int, nargs="+")
    p.set_defaults(run=run, action=None, star=None, emotion=None, since=None, until=None)


def _add_filters(p) -> None:
    p.add_argument("--star")
    p.add_argument("--emotion", choices=EMOTIONS)
    p.add_argument("--since", type=_date, help="YYYY-MM-DD[THH:MM]")
    p.add_argument("--until", type=_date, help="YYYY-MM-DD[THH:MM]")


def _date(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-11-28, or with a "
            "time as YYYY-MM-DDTHH:MM") from None


def run(args) -> int:
    folder = args.folder or args.settings.capture.path
    try:
        with CaptureStore(folder) as store:
            return _ACTIONS[args.action or "list"](store, args)
    except CaptureError as exc:
        return fail(str(exc))


def _selected(store, args):
    captures = store.list(args.star, args.emotion, args.since, args.until)
    if getattr(args, "ids", None):
        captures = [c for c in captures if c.id in set(args.ids)]
    return captures


def _list(store, args) -> int:
    captures = _selected(store, args)
    if not captures:
        print(f"no captures in {store.folder}")
    for c in captures:
        when = datetime.fromtimestamp(c.taken).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{c.id}\t{when}\t{c.star}\t{c.emotion} {c.score:.2f}\t{c.portrait}")
    return 0


def _export(store, args) -> int:
    captures = _selected(store, args)
    copied = 0
    try:
        writable_folder(args.to)
        for c in captures:
            for path in (c.portrait, c.original) if args.originals else (c.portrait,):
                with atomic_path(args.to / path.name) as tmp:
                    shutil.copy2(path, tmp)
            copied += 1
    except OSError as exc:
        return fail(f"export to {args.to} stopped after {copied} of {len(captures)} "
                    f"capture(s): {why(exc)}")
    print(f"{len(captures)} capture(s) exported to {args.to}")
    return 0


def _delete(store, args) -> int:
    missing = [i for i in args.ids if store.get(i) is None]
    if missing:
        return fail("no capture with id " + ", ".join(map(str, missing)))
    for capture_id in args.ids:
        store.delete(capture_id)
    print(f"{len(args.ids)} capture(s) deleted")
    return 0


_ACTIONS = {"list": _list, "export": _export, "delete": _delete}
