"""Faces that may be used for training, embedded by dlib and FaceNet-CASIA as the app would:
the background for identity levers (centring, whitening, cohort score normalisation).

python -m training.identity_background_faces ../shared/data [--fer 1500] [--every 15]

Three sources, each cached as training/runs/background_<source>.npz ('dlib', 'casia-webface':
(n, dim) flip-averaged unit vectors, as enrolment embeds; 'group': which clip or photo each
face came from):
- fer: a seeded sample of FER2013 train (48x48 grey) faces, upscaled x3 to 144 px RGB; MTCNN
  on the photo (detect_in_photo pads a tight crop); where it finds nothing the whole image is
  the face box (dlib's own landmarks inside it; FaceNet gets the box crop).
- portraits: the largest face of each portraits/images photo.
- clips: every face MTCNN finds on every n-th frame of every clips/<name>/clip.* (crowd,
  strangers and the clips' own stars: development data).
The idol sets are never read here: they are measurement only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from training.eval_identity import CACHE_DIR

PARTS = ("dlib", "casia-webface")
FER_SCALE = 3


def embed(embedders, rgb, faces) -> list[np.ndarray]:
    return [e.embed_faces(rgb, faces, flip=True) for e in embedders]


def fer_faces(root: Path, n: int, detector, embedders, seed: int = 0):
    import cv2

    from kpopcam.types import Face
    from kpopcam.vision.detector import detect_in_photo

    files = sorted((root / "fer2013" / "train").glob("*/*.png"))
    pick = np.random.default_rng(seed).choice(len(files), size=min(n, len(files)),
                                               replace=False)
    found = 0
    for i in sorted(pick):
        grey = cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE)
        big = cv2.resize(grey, None, fx=FER_SCALE, fy=FER_SCALE, interpolation=cv2.INTER_CUBIC)
        rgb = np.ascontiguousarray(np.repeat(big[:, :, None], 3, axis=2))
        faces = detect_in_photo(detector, rgb)[:1]
        found += bool(faces)
        if not faces:
            h, w = big.shape
            faces = [Face((0.0, 0.0, float(w), float(h)), 1.0, None)]
        yield files[i].parent.name, embed(embedders, rgb, faces)
    print(f"fer: MTCNN found a face on {found} of {len(pick)}", file=sys.stderr)


def portrait_faces(root: Path, detector, embedders):
    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import detect_in_photo

    for path in sorted((root / "portraits" / "images").iterdir()):
        rgb = read_rgb(path)
        faces = detect_in_photo(detector, rgb)[:1]
        if faces:
            yield path.stem, embed(embedders, rgb, faces)


def clip_faces(root: Path, every: int, detector, embedders):
    from training.video_frames import sampled_frames

    for clip in sorted(p for p in (root / "clips").iterdir() if p.is_dir()):
        videos = sorted(clip.glob("clip.*"))
        if not videos:
            continue
        for _, rgb in sampled_frames(videos[0], every):
            faces = detector.detect(rgb, color="rgb")
            if faces:
                yield clip.name, embed(embedders, rgb, faces)


def collect(rows) -> dict[str, np.ndarray]:
    groups, parts = [], [[] for _ in PARTS]
    for group, vectors in rows:
        groups += [group] * len(vectors[0])
        for store, v in zip(parts, vectors, strict=True):
            store.append(v)
    out = {kind: np.vstack(v) for kind, v in zip(PARTS, parts, strict=True)}
    out["group"] = np.array(groups)
    return out


def load(source: str) -> dict[str, np.ndarray]:
    """A cached background source (made by main())."""
    path = CACHE_DIR / f"background_{source}.npz"
    if not path.exists():
        raise SystemExit(f"{path} missing: run python -m training.identity_background_faces")
    return dict(np.load(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the shared data folder (fer2013/, clips/, ...)")
    parser.add_argument("--fer", type=int, default=1500, help="FER2013 faces to sample")
    parser.add_argument("--every", type=int, default=15, help="clips: every n-th frame")
    parser.add_argument("--sources", nargs="+", default=["portraits", "clips", "fer"])
    args = parser.parse_args(argv)

    import torch

    from kpopcam.vision.detector import MtcnnDetector
    from kpopcam.vision.identity import make_embedder

    torch.set_num_threads(1)
    detector = MtcnnDetector(min_face_px=20)
    embedders = [make_embedder(kind) for kind in PARTS]
    makers = {
        "fer": lambda: fer_faces(args.data, args.fer, detector, embedders),
        "portraits": lambda: portrait_faces(args.data, detector, embedders),
        "clips": lambda: clip_faces(args.data, args.every, detector, embedders),
    }
    CACHE_DIR.mkdir(exist_ok=True)
    for source in args.sources:
        out = collect(makers[source]())
        np.savez(CACHE_DIR / f"background_{source}.npz", **out)
        print(f"{source}: {len(out['group'])} faces from {len(set(out['group']))} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
