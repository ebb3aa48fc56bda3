"""FER2013 in both forms users have: folder-per-class images and the original fer2013.csv.

Every loader returns a `FerSplit`: uint8 images (N, 48, 48) and int64 labels in FER order
(`kpopcam.types.EMOTIONS`). Problems with the data raise `FerDataError` naming the file (and
line), never a traceback from inside numpy or OpenCV.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.types import EMOTIONS

SIDE = 48
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CSV_COLUMNS = ("emotion", "pixels", "Usage")
# The original CSV's Usage values and the split names of the folder layout.
CSV_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"


class FerDataError(ValueError):
    """The data set is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class FerSplit:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64, index into EMOTIONS
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(EMOTIONS))
        return {name: int(n) for name, n in zip(EMOTIONS, counts, strict=True)}


def load_folder(root: str | Path) -> FerSplit:
    """Read `<root>/<label>/*.png|jpg` (e.g. fer2013/train) into one in-memory split."""
    root = Path(root)
    if not root.is_dir():
        raise FerDataError(f"{root}: no such folder (expected <split>/<label>/*.png)")
    label_dirs = sorted((p for p in root.iterdir() if p.is_dir()),
                        key=lambda p: EMOTIONS.index(p.name) if p.name in EMOTIONS else -1)
    unknown = [p.name for p in label_dirs if p.name not in EMOTIONS]
    if unknown:
        raise FerDataError(
            f"{root}: unknown label folder(s) {', '.join(unknown)}; "
            f"expected only {', '.join(EMOTIONS)}"
        )
    images, labels = [], []
    for label_dir in label_dirs:
        label = EMOTIONS.index(label_dir.name)
        for path in sorted(label_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            images.append(_read_image(path))
            labels.append(label)
    if not images:
        raise FerDataError(f"{root}: no images found in any of {', '.join(EMOTIONS)}")
    return FerSplit(np.stack(images), np.asarray(labels, dtype=np.int64), str(root))


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise FerDataError(f"{path}: not a readable image")
    if image.shape != (SIDE, SIDE):
        image = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    return image


def load_csv(path: str | Path, split: str = "train") -> FerSplit:
    """Read the rows of the original fer2013.csv whose Usage matches `split` (train/val/test)."""
    path = Path(path)
    if split not in CSV_USAGE:
        raise FerDataError(f"unknown split {split!r}; expected one of {', '.join(CSV_USAGE)}")
    if not path.is_file():
        raise FerDataError(f"{path}: no such file (expected fer2013.csv)")
    usage = CSV_USAGE[split]
    images, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header[:3]) != CSV_COLUMNS:
            raise FerDataError(f"{path}, line 1: expected header {','.join(CSV_COLUMNS)}")
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            label, pixels, row_usage = _parse_row(row, path, line)
            if row_usage == usage:
                images.append(pixels)
                labels.append(label)
    if not images:
        raise FerDataError(f"{path}: no rows with Usage {usage}")
    return FerSplit(np.stack(images), np.asarray(labels, dtype=np.int64), f"{path}:{usage}")


def _parse_row(row: list[str], path: Path, line: int) -> tuple[int, np.ndarray, str]:
    where = f"{path}, line {line}"
    if len(row) != 3:
        raise FerDataError(f"{where}: expected 3 fields (emotion,pixels,Usage), got {len(row)}")
    emotion, pixels, usage = (field.strip() for field in row)
    if not emotion.isdigit() or int(emotion) >= len(EMOTIONS):
        raise FerDataError(f"{where}: emotion {emotion!r} is not a class 0-{len(EMOTIONS) - 1}")
    if usage not in CSV_USAGE.values():
        raise FerDataError(f"{where}: unknown Usage {usage!r}")
    values = pixels.split()
    if len(values) != SIDE * SIDE:
        raise FerDataError(f"{where}: {len(values)} pixel values, expected {SIDE * SIDE}")
    try:
        array = np.array([int(v) for v in values])
    except ValueError:
        raise FerDataError(f"{where}: pixels must be integers 0-255") from None
    if array.min() < 0 or array.max() > 255:
        raise FerDataError(f"{where}: pixel values outside 0-255")
    return int(emotion), array.astype(np.uint8).reshape(SIDE, SIDE), usage


def load(source: str | Path, split: str = "train", cache_dir: Path | None = None) -> FerSplit:
    """A split from a folder root (`<source>/<split>/<label>/`), a split folder, or the CSV.

    cache_dir: keep a .npz of the decoded split there, keyed by path and modification time,
    so that later runs start in a second instead of decoding 28k PNGs.
    """
    source = Path(source)
    if source.suffix.lower() == ".csv":
        return _cached(source, split, cache_dir, lambda: load_csv(source, split))
    folder = source / split if (source / split).is_dir() else source
    if not folder.is_dir():
        raise FerDataError(f"{source}: neither a FER2013 folder nor a .csv file")
    return _cached(folder, split, cache_dir, lambda: load_folder(folder))


def _cached(path: Path, split: str, cache_dir: Path | None, read) -> FerSplit:
    if cache_dir is None:
        return read()
    stamp = f"{path.resolve()}|{split}|{path.stat().st_mtime_ns}"
    key = hashlib.sha1(stamp.encode()).hexdigest()[:16]
    cache = Path(cache_dir) / f"fer2013-{split}-{key}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return FerSplit(data["images"], data["labels"], str(path))
    data = read()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, images=data.images, labels=data.labels)
    return data
