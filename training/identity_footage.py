"""How alike the live engine finds faces in real footage and the stars enrolled from one photo.

python -m training.identity_footage ../shared/data/clips [--embedder dlib] [--every 15]

Each clip folder with `enrol/<star>/<photo>` gives one star (its first photo, flip-averaged as
enrolment does it). Every n-th frame of every clip is searched for faces (MTCNN, min 20 px) and
each face is embedded as the live engine does (no flip). For each clip, the similarity of its
own star to the faces where she is most alike (genuine), and the highest similarity of any
other clip's star to any face in it (strangers: the clips show different people, except the
two webcam clips).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# Clips that show the same person (the data README: "the same reversed"): not strangers.
SAME_PERSON = {frozenset({"webcam-then-cartoon", "cartoon-then-webcam"})}


def enrolled_stars(root: Path, detector, embedder) -> dict[str, np.ndarray]:
    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import detect_in_photo

    stars = {}
    for clip in sorted(p for p in root.iterdir() if (p / "enrol").is_dir()):
        photo = sorted(p for p in (clip / "enrol").glob("*/*"))[0]
        rgb = read_rgb(photo)
        faces = detect_in_photo(detector, rgb)
        if faces:
            stars[clip.name] = embedder.embed_faces(rgb, faces[:1], flip=True)[0]
    return stars


def frame_similarities(video: Path, every: int, detector, embedder, stars,
                       flip: bool = False) -> list[np.ndarray]:
    """Per sampled frame with faces: (faces, stars) similarities."""
    from training.video_frames import sampled_frames

    names = list(stars)
    matrix = np.stack([stars[n] for n in names])
    out = []
    for _, rgb in sampled_frames(video, every):
        faces = detector.detect(rgb, color="rgb")
        if faces:
            out.append(embedder.embed_faces(rgb, faces, flip=flip) @ matrix.T)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="folder of clip folders (clip.*, enrol/)")
    parser.add_argument("--embedder", default="dlib")
    parser.add_argument("--every", type=int, default=15, help="look at every n-th frame")
    parser.add_argument("--flip", action="store_true",
                        help="mirror-average the frames' faces too (live.flip)")
    args = parser.parse_args(argv)

    import torch

    from kpopcam.vision.detector import MtcnnDetector
    from kpopcam.vision.identity import make_embedder

    torch.set_num_threads(1)
    detector, embedder = MtcnnDetector(min_face_px=20), make_embedder(args.embedder)
    stars = enrolled_stars(args.clips, detector, embedder)
    names = list(stars)
    print(f"stars (one photo each): {', '.join(names)}; embedder {args.embedder}")
    print(f"{'clip':24} {'frames':>6}  own star: min / median / max   strangers: max")
    for clip in sorted(p for p in args.clips.iterdir() if p.is_dir()):
        videos = sorted(clip.glob("clip.*"))
        if not videos:
            continue
        frames = frame_similarities(videos[0], args.every, detector, embedder, stars,
                                    args.flip)
        if not frames:
            continue
        own = ""
        if clip.name in stars:
            best = np.array([f[:, names.index(clip.name)].max() for f in frames])
            own = f"{best.min():.3f} / {np.median(best):.3f} / {best.max():.3f}"
        others = [i for i, n in enumerate(names)
                  if n != clip.name and frozenset({n, clip.name}) not in SAME_PERSON]
        strangers = max(float(f[:, others].max()) for f in frames)
        print(f"{clip.name:24} {len(frames):6}  {own:29}   {strangers:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
