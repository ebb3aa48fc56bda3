"""The `kpopcam` command. With no sub-command it starts the app; each sub-command lives in
kpopcam/commands/<name>.py with add_parser(subparsers) and run(args) -> exit code."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from kpopcam.settings import Settings, SettingsError

COMMANDS = ("enroll", "stars", "analyze", "watch", "captures", "portrait", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.settings = Settings.load(args.config).with_overrides(args.overrides)
    except SettingsError as exc:
        print(f"kpopcam: settings: {exc}", file=sys.stderr)
        return 2
    if args.command is None:
        from kpopcam.gui.app import run_app

        return run_app(args)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nkpopcam: stopped", file=sys.stderr)
        return 130


def _command_module(name: str):
    return importlib.import_module(f"kpopcam.commands.{name}")


if __name__ == "__main__":
    sys.exit(main())
