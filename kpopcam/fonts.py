"""A font that has the glyphs of a star's name in any script, for labels drawn on photos.

Pillow's own font has neither "é" nor Hangul: "Rosé" came out as "Ros▯" and "리사" as "▯▯".
The system's fonts are asked through fontconfig for one that covers the text, then a few
well-known files are tried; a font is used only when it really has every glyph.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys

from PIL import ImageFont

# Fonts with Latin and Hangul (and the other CJK scripts), where fontconfig is not there to ask.
KNOWN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian, Ubuntu: fonts-noto-cjk
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",  # Arch
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",  # Fedora
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",  # Debian, Ubuntu: fonts-nanum
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",  # macOS
    "C:/Windows/Fonts/malgun.ttf",  # Windows
)
MISSING_GLYPH = "\U0010fffd"  # a private-use character no font draws: its box is the tofu


def label_font(text: str, size: int):
    """A Pillow font of `size` pixels that draws every character of `text`; Pillow's own font
    (with a one-time warning) when the system has none."""
    for path in _candidates(frozenset(text) - set(" \t\n")):
        font = _font(path, size)
        if font is not None and covers(font, text):
            return font
    _warn_once(text)
    return ImageFont.load_default(size=size)


def covers(font, text: str) -> bool:
    """True when the font has a glyph of its own for every character of text."""
    tofu = _mask(font, MISSING_GLYPH)
    return all(_mask(font, c) != tofu for c in set(text) if not c.isspace())


def _mask(font, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def _candidates(chars: frozenset[str]) -> list[str]:
    asked = [_fontconfig(":charset=" + " ".join(f"{ord(c):x}" for c in sorted(chars))),
             _fontconfig(":lang=ko")]
    return [p for p in dict.fromkeys([*asked, *KNOWN_FONTS]) if p]


@functools.lru_cache(maxsize=64)
def _fontconfig(pattern: str) -> str | None:
    """The file fontconfig's fc-match picks for a pattern (None without fontconfig)."""
    if not shutil.which("fc-match"):
        return None
    try:
        found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True,
                               text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found or None


@functools.lru_cache(maxsize=32)
def _font(path: str, size: int):
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def _warn_once(text: str) -> None:
    print(f"kpopcam: no font with the letters of {text!r} was found; names may be drawn as "
          "boxes (install fonts-noto-cjk, or another font for their script)", file=sys.stderr)
