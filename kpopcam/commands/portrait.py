"""`kpopcam portrait IN [IN...] --out DIR [--strength S]`: portrait mode for photo files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from kpopcam.commands.common import fail
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


def output_path(photo: Path, out_dir: Path, taken: set[Path]) -> Path:
    """<stem>_portrait.jpg, numbered when two inputs share a stem."""
    target = out_dir / f"{photo.stem}_portrait.jpg"
    n = 2
    while target in taken:
        target = out_dir / f"{photo.stem}_portrait_{n}.jpg"
        n += 1
    taken.add(target)
    return target


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from kpopcam.vision.portrait import PersonSegmenter, PortraitMaker, PortraitOptions
    from kpopcam.vision.weights import WeightsError

    try:
        options = PortraitOptions(strength=args.strength, lens=args.lens)
    except ValueError as exc:
        return fail(f"portrait: {exc}", 2)
    photos = photos_in(args.inputs)
    if not photos:
        return fail("portrait: no photos found in the inputs", 2)
    torch.set_num_threads(1)
    try:
        maker = PortraitMaker(PersonSegmenter.from_weights(args.weights), options)
    except WeightsError as exc:
        return fail(f"portrait: {exc}", 2)
    args.out.mkdir(parents=True, exist_ok=True)
    failed, taken = [], set()
    for photo in tqdm(photos, desc="portraits", unit="photo"):
        try:
            pixels, metadata = read_photo(photo)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            failed.append(photo)
            tqdm.write(f"skipped {photo}: not a readable photo ({exc})", file=sys.stderr)
            continue
        portrait = maker.render(pixels)
        Image.fromarray(portrait).save(output_path(photo, args.out, taken), quality=95, **metadata)
    done = len(photos) - len(failed)
    print(
        f"{done} portrait(s) written to {args.out}"
        + (f", {len(failed)} file(s) skipped" if failed else "")
    )
    return 1 if failed else 0
