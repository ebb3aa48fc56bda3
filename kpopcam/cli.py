"""The `kpopcam` command. With no sub-command it starts the app; each sub-command lives in
kpopcam/commands/<name>.py with add_parser(subparsers) and run(args) -> exit code."""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from pathlib import Path

from kpopcam.files import why
from kpopcam.memory import give_back_big_blocks
from kpopcam.settings import Settings, SettingsError

COMMANDS = ("enroll", "stars", "analyze", "watch", "captures", "portrait", "bench")


class Parser(argparse.ArgumentParser):
    """Argument mistakes as one line that names the command, not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} ({self.prog} --help shows how)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kpopcam",
        description="Saves portraits of your star showing the emotion you chose.",
    )
    parser.add_argument("--config", type=Path, help="settings file (default: the user config "
                        "folder's kpopcam/settings.toml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override one setting, e.g. "
                        "--set detector.min_face_px=40 (repeatable)")
    parser.add_argument("--gallery", type=Path, help="star gallery file (default: the user data "
                        "folder's kpopcam/stars.sqlite)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        _command_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    give_back_big_blocks()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config and not args.config.is_file():
        problem = "is a folder" if args.config.is_dir() else "does not exist"
        return _fail(f"settings file {args.config} {problem} (--config names a file kpopcam "
                     "should read; leave it out to use the default one)", 2)
    try:
        file_settings = Settings.load(args.config)
    except SettingsError as exc:
        if args.command is None:  # the window offers to open the file or use the defaults
            from kpopcam.gui.app import run_app

            return run_app(args, settings_error=exc)
        return _fail(f"settings: {exc}", 2)
    try:
        args.settings = file_settings.with_overrides(args.overrides)
    except SettingsError as exc:
        return _fail(f"settings: {exc}", 2)
    if args.command is None:
        from kpopcam.gui.app import run_app

        return run_app(args)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nkpopcam: stopped", file=sys.stderr)
        return 130
    except OSError as exc:  # the disk or a folder said no where a command did not expect it
        return _fail(why(exc))
    except sqlite3.Error as exc:
        return _fail(f"a database file cannot be used: {exc}")


def _fail(message: str, code: int = 1) -> int:
    print(f"kpopcam: {message}", file=sys.stderr)
    return code


def _command_module(name: str):
    return importlib.import_module(f"kpopcam.commands.{name}")


if __name__ == "__main__":
    sys.exit(main())
