"""`kpopcam analyze PHOTO...`: each face's box, star (when stars are enrolled) and emotion."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kpopcam.commands.common import fail
from kpopcam.files import atomic_path, reason_of, writable_folder
from kpopcam.fonts import label_font
from kpopcam.images import IMAGE_SUFFIXES, ImageReadError, photos_in, read_rgb
from kpopcam.types import EMOTIONS, Face, StarMatch


@dataclass(frozen=True)
class FaceReport:
    face: Face
    emotions: dict[str, float]
    star: StarMatch | None  # None: no gallery with stars to match against

    def as_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.face.box],
            "score": round(self.face.score, 3),
            "star": None if self.star is None else self.star.name,
            "star_similarity": None if self.star is None else round(self.star.similarity, 3),
            "emotion": max(self.emotions, key=self.emotions.get),
            "emotions": {k: round(v, 4) for k, v in self.emotions.items()},
        }


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "analyze", help="show each face's star and emotion on photos",
        description="For each face on each photo: its box, the enrolled star it is (when the "
        "gallery has stars) and its emotion probabilities.",
    )
    p.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="photos or folders")
    p.add_argument("--draw", type=Path, metavar="DIR",
                   help="also write a copy of each photo with boxes and labels into DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object per photo")
    p.add_argument("--weights", type=Path, help="an emotion .pt other than the shipped one")
    p.add_argument("--no-stars", action="store_true", help="do not match faces to stars")
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace) -> int:
    from kpopcam.vision.detector import photo_detector
    from kpopcam.vision.emotion import EmotionReader
    from kpopcam.vision.weights import WeightsError

    if args.draw and args.draw.suffix.lower() in IMAGE_SUFFIXES and not args.draw.is_dir():
        return fail(f"analyze: --draw names a folder for the drawn copies, not a picture "
                    f"({args.draw}); e.g. --draw {args.draw.parent / 'analyzed'}", 2)
    try:
        photos = photos_in(args.photos)
        if args.draw:
            writable_folder(args.draw)
    except ImageReadError as exc:
        return fail(f"analyze: {exc}", 2)
    except OSError as exc:
        return fail(f"analyze: cannot draw into {args.draw}: {reason_of(exc)}", 2)
    if not photos:
        return fail("analyze: no photos found in the inputs", 2)
    settings = args.settings
    try:
        reader = EmotionReader(args.weights or settings.emotion.weights or None)
        identify = None if args.no_stars else star_matcher(args)
    except (WeightsError, ValueError) as exc:
        return fail(f"analyze: {exc}")
    detector = photo_detector(settings)
    failures = 0
    for path in photos:
        try:
            rgb = read_rgb(path)
        except ImageReadError as exc:
            print(exc, file=sys.stderr)
            failures += 1
            continue
        reports = analyze_photo(rgb, detector, reader, identify)
        print_reports(path, reports, as_json=args.json)
        if args.draw:
            with atomic_path(args.draw / f"{path.stem}_analyzed.jpg") as tmp:
                draw_reports(rgb, reports).save(tmp, format="JPEG", quality=92)
    return 1 if failures == len(photos) else 0


def analyze_photo(rgb: np.ndarray, detector, reader, identify=None) -> list[FaceReport]:
    from kpopcam.vision.detector import detect_in_photo

    faces = detect_in_photo(detector, rgb)
    readings = reader.read(rgb, faces, color="rgb")
    stars = identify(rgb, faces) if identify and faces else [None] * len(faces)
    return [
        FaceReport(face, reading.as_dict(), star)
        for face, reading, star in zip(faces, readings, stars, strict=True)
    ]


def star_matcher(args):
    """A function (rgb, faces) -> [StarMatch] when the gallery file exists and has stars;
    None otherwise, so that emotion alone works without a gallery (and without FaceNet)."""
    from kpopcam.commands.common import gallery_path, make_embedder, open_gallery

    if not gallery_path(args).is_file():
        return None
    gallery = open_gallery(args)
    if not gallery.stars():
        gallery.close()
        return None
    embedder = make_embedder(args.settings)
    flip = args.settings.identity.flip

    def identify(rgb: np.ndarray, faces: list[Face]) -> list[StarMatch]:
        return [gallery.match(e) for e in embedder.embed_faces(rgb, faces, flip=flip)]

    return identify


def print_reports(path: Path, reports: list[FaceReport], as_json: bool = False) -> None:
    if as_json:
        print(json.dumps({"photo": str(path), "faces": [r.as_dict() for r in reports]},
                         ensure_ascii=False))
        return
    print(f"{path}: {len(reports)} face(s)")
    for i, report in enumerate(reports, 1):
        x1, y1, x2, y2 = report.face.box
        probabilities = " ".join(f"{e} {report.emotions[e]:.2f}" for e in EMOTIONS)
        print(f"  face {i}: box ({x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f})  "
              f"star {star_label(report.star)}  emotion {label_of(report)}  [{probabilities}]")


def star_label(star: StarMatch | None) -> str:
    if star is None:
        return "-"
    return f"{star.name or 'unknown'} ({star.similarity:.2f})"


def label_of(report: FaceReport) -> str:
    top = max(report.emotions, key=report.emotions.get)
    return f"{top} {report.emotions[top]:.0%}"


def draw_reports(rgb: np.ndarray, reports: list[FaceReport]):
    """A PIL image: the photo with each face's box and 'star: emotion NN%' above it, in a font
    that has the letters of the star's name."""
    from PIL import Image, ImageDraw

    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    size = max(12, round(min(image.size) / 40))
    for report in reports:
        x1, y1, x2, y2 = report.face.box
        draw.rectangle((x1, y1, x2, y2), outline=(255, 64, 160), width=max(2, size // 6))
        name = report.star.name or "unknown" if report.star else None
        text = f"{name}: {label_of(report)}" if name else label_of(report)
        font = label_font(text, size)
        at = (x1, max(0, y1 - size - 6))
        draw.rectangle(draw.textbbox(at, text, font=font), fill=(0, 0, 0))
        draw.text(at, text, fill=(255, 255, 255), font=font)
    return image
