"""`kpopcam portrait IN [IN...] --out DIR [--strength S]`: portrait mode for photo files."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kpopcam.commands.common import fail
from kpopcam.files import atomic_path, reason_of, writable_folder
from kpopcam.images import ImageReadError, photos_in


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "portrait",
        help="blur the background of photos, keeping the person sharp",
        description="Make portrait-mode copies of photos: the person stays sharp, the "
        "background is blurred as by a camera lens. Photos without a person are copied unchanged.",
    )
    parser.add_argument(
        "inputs", nargs="+", type=Path, metavar="IN", help="photos or folders of photos"
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the portraits"
    )
    parser.add_argument(
        "--strength",
        type=float,
        default=3.0,
        metavar="S",
        help="blur radius in percent of the photo's shorter side (default 3)",
    )
    parser.add_argument(
        "--lens", choices=("disc", "gaussian"), default="disc", help="blur shape (default disc)"
    )
    parser.add_argument(
        "--weights", type=Path, help="a portrait U-Net .pt other than the shipped one"
    )
    parser.set_defaults(run=run)
    return parser


def read_photo(path: Path) -> tuple[np.ndarray, dict]:
    """(RGB pixels turned upright by their EXIF orientation, metadata to save with them)."""
    if path.is_file() and path.stat().st_size == 0:
        raise ImageReadError(f"{path}: the file is empty")
    with Image.open(path) as img:
        upright = ImageOps.exif_transpose(img)  # a copy, its orientation tag removed
        metadata = {}
        if exif := upright.getexif():
            metadata["exif"] = exif.tobytes()
        if icc := img.info.get("icc_profile"):
            metadata["icc_profile"] = icc
        upright = upright.convert("RGB")
    return np.asarray(upright), metadata


def output_path(photo: Path, out_dir: Path, taken: set[Path], suffix: str = ".jpg") -> Path:
    """<stem>_portrait.jpg, numbered when two inputs share a stem."""
    target = out_dir / f"{photo.stem}_portrait{suffix}"
    n = 2
    while target in taken:
        target = out_dir / f"{photo.stem}_portrait_{n}{suffix}"
        n += 1
    taken.add(target)
    return target


def run(args: argparse.Namespace) -> int:
    from kpopcam.vision.portrait import PersonSegmenter, PortraitMaker, PortraitOptions
    from kpopcam.vision.weights import WeightsError

    try:
        options = PortraitOptions(strength=args.strength, lens=args.lens)
        photos = photos_in(args.inputs)
    except (ValueError, ImageReadError) as exc:
        return fail(f"portrait: {exc}", 2)
    if not photos:
        return fail("portrait: no photos found in the inputs", 2)
    try:
        writable_folder(args.out)
    except OSError as exc:
        return fail(f"portrait: cannot write portraits into {args.out}: {reason_of(exc)}", 2)
    try:
        maker = PortraitMaker(PersonSegmenter.from_weights(args.weights), options)
    except WeightsError as exc:
        return fail(f"portrait: {exc}", 2)
    return _portraits(photos, maker, args.out)


def _portraits(photos: list[Path], maker, out: Path) -> int:
    """Writes each photo's portrait (or, without a person, the photo itself) into out; stops
    at the first file that cannot be written, keeping those already written."""
    from tqdm import tqdm

    failed, taken, copied = [], set(), 0
    with tqdm(photos, desc="portraits", unit="photo") as bar:
        for done, photo in enumerate(bar):
            try:
                pixels, metadata = read_photo(photo)
            except (OSError, UnidentifiedImageError, ValueError,
                    Image.DecompressionBombError) as exc:
                failed.append(photo)
                tqdm.write(f"skipped {photo}: not a readable photo ({exc})", file=sys.stderr)
                continue
            alpha = maker.subject_alpha(pixels)
            try:
                copied += _write(photo, pixels, metadata, alpha, maker.options, out, taken)
            except OSError as exc:
                bar.close()
                return fail(f"portrait: {photo.name} could not be written to {out}: "
                            f"{reason_of(exc)}; {done - len(failed)} portrait(s) written "
                            "before it are kept")
    written = len(photos) - len(failed)
    print(
        f"{written} portrait(s) written to {out}"
        + (f" ({copied} without a person, copied unchanged)" if copied else "")
        + (f", {len(failed)} file(s) skipped" if failed else "")
    )
    return 1 if failed else 0


def _write(photo: Path, pixels, metadata: dict, alpha, options, out: Path, taken) -> int:
    """Writes one portrait; 1 when the photo was copied unchanged (nobody to keep sharp)."""
    from kpopcam.vision.portrait import blur_background

    if alpha is None:  # the photo as it is, byte for byte
        with atomic_path(output_path(photo, out, taken, photo.suffix.lower())) as tmp:
            shutil.copyfile(photo, tmp)
        return 1
    portrait = blur_background(pixels, alpha, options)
    with atomic_path(output_path(photo, out, taken)) as tmp:
        Image.fromarray(portrait).save(tmp, format="JPEG", quality=95, **metadata)
    return 0
