"""How alike small faces in real footage are to their star, by face size, for each way of
embedding them: where dlib-onnx loses the far shots of a clip, and what each lever gains there
and on strangers.

python -m training.small_faces CLIPS_DIR --truth-dir training/clip_truth [--every 2]
       [--levers base,app,flip,...] [--shrink-to 48] [--save faces.npz]

Levers: base is dlib's own recipe as live looks took it (no mirror image); app the app's live
look (small faces framed by their landmarks' spread and flip-averaged); the others are variants
of dlib's recipe (see LEVERS). --shrink-to makes each frame smaller first (INTER_AREA), so
that the big faces of the other clips can be measured as far faces too.

Each scored clip's stars are enrolled as eval_moments enrols them (the app's enrol, flip,
dlib-onnx). Faces are found as the live engine finds them (its detector settings) on every
n-th frame and labelled by the truth: a star's face (centre in her region), a stranger's (in a
null region), or left out. Each face is embedded by every lever, and for each face width band
the script prints, per lever: the star's faces' cosine to their own centroid (p10 / median),
how many reach the threshold, and the strangers' highest cosine to any enrolled star of any
clip (the clips show different people, but the two webcam clips, which show the same man).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kpopcam.vision.dlib_chip import similarity as dlib_similarity
from training.eval_moments import OVERRIDES, base_settings, enrol_stars, find_clips

SAME_PERSON = {frozenset({"webcam-then-cartoon", "cartoon-then-webcam"})}
BANDS = (0, 40, 45, 50, 55, 60, 70, 80, 120, 10_000)


@dataclass(frozen=True)
class Seen:
    clip: str
    frame: int
    width: float
    star: str | None  # the star whose region holds it; None: a stranger's


def labelled_faces(clip, detector, every: int, shrink_to: float = 0.0):
    """(frame number, RGB frame, [(face, Seen)]) of every n-th frame with labelled faces.
    shrink_to: each frame is first made smaller (INTER_AREA) so that its widest labelled face
    is about this wide (frames whose faces are already narrower are left out)."""
    from kpopcam.live.analysis import distinct_faces
    from kpopcam.live.sources import VideoFileSource

    for frame in VideoFileSource(clip.video, realtime=False).frames():
        number, bgr = frame.number, frame.image
        if number % every:
            continue
        labelled, factor = _labelled(clip, number, distinct_faces(
            detector.detect(bgr, color="bgr")), 1.0), 1.0
        if shrink_to and labelled:
            factor = shrink_to / max(f.width for f, _ in labelled)
            if factor >= 1:
                continue
            bgr = cv2.resize(bgr, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            labelled = _labelled(clip, number, distinct_faces(
                detector.detect(bgr, color="bgr")), factor)
        if labelled:
            yield number, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), labelled


def _labelled(clip, number: int, faces, factor: float):
    labelled = []
    for face in faces:
        centre = (face.center[0] / factor, face.center[1] / factor)
        spans = [p for p in clip.truth.people if p.covers(number) and p.holds(centre)]
        if spans:
            labelled.append((face, Seen(clip.name, number, face.width, spans[0].star)))
    return labelled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips_dir", type=Path)
    parser.add_argument("--truth-dir", type=Path)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--levers", default="base,app", help=f"of {', '.join(LEVERS)}")
    parser.add_argument("--shrink-to", type=float, default=0.0,
                        help="make each frame smaller so its widest face is this wide (px)")
    parser.add_argument("--save", type=Path, help="an .npz of every face's cosines")
    args = parser.parse_args(argv)
    OVERRIDES[:] = ["identity.weights=dlib-onnx"]
    levers = args.levers.split(",")

    import tempfile

    import torch

    from kpopcam.vision.detector import live_detector, photo_detector
    from kpopcam.vision.dlib_onnx import DlibOnnxEmbedder

    torch.set_num_threads(1)
    settings = base_settings()
    embedder = DlibOnnxEmbedder()
    detector, enrol_detector = live_detector(settings), photo_detector(settings)
    clips, _ = find_clips(args.clips_dir, args.truth_dir)
    threshold = settings.identity.match_threshold
    centroids: dict[tuple[str, str], np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            gallery = enrol_stars(clip, settings, enrol_detector, embedder,
                                  Path(tmp) / f"{clip.name}.sqlite")
            snapshot = gallery._load_centroids()
            for name, row in zip(snapshot.names, snapshot.matrix, strict=True):
                centroids[(clip.name, name)] = row
            gallery.close()
    keys = list(centroids)
    matrix = np.stack([centroids[k] for k in keys])
    seen: list[Seen] = []
    sims: dict[str, list[np.ndarray]] = {lever: [] for lever in levers}
    for clip in clips:
        for _, rgb, labelled in labelled_faces(clip, detector, args.every, args.shrink_to):
            faces = [f for f, _ in labelled]
            seen += [s for _, s in labelled]
            for lever in levers:
                sims[lever].append(LEVERS[lever](embedder, rgb, faces) @ matrix.T)
        print(f"{clip.name}: done, {len(seen)} faces so far", file=sys.stderr, flush=True)
    report(seen, {k: np.concatenate(v) for k, v in sims.items()}, keys, threshold)
    if args.save:
        np.savez(args.save, keys=np.array([f"{c}/{n}" for c, n in keys]),
                 clip=np.array([s.clip for s in seen]), frame=np.array([s.frame for s in seen]),
                 width=np.array([s.width for s in seen]),
                 star=np.array([s.star or "" for s in seen]),
                 **{k: np.concatenate(v) for k, v in sims.items()})
    return 0


def report(seen: list[Seen], sims: dict[str, np.ndarray], keys, threshold: float) -> None:
    width = np.array([s.width for s in seen])
    own = np.array([keys.index((s.clip, s.star)) if s.star else -1 for s in seen])
    strangers = np.array([[_impostor(s, key) for key in keys] for s in seen])
    print(f"threshold {threshold}; star faces: cosine to own star p10 / median, share >= "
          f"threshold; strangers: highest cosine to any star (n)")
    for lever, sim in sims.items():
        print(f"\n{lever}")
        for lo, hi in zip(BANDS, BANDS[1:], strict=False):
            band = (width >= lo) & (width < hi)
            stars = band & (own >= 0)
            line = f"  {lo:>4}-{hi:<5} px"
            if stars.any():
                s = sim[stars, own[stars]]
                line += (f"  star n={stars.sum():4} p10 {np.percentile(s, 10):.3f} median "
                         f"{np.median(s):.3f} named {np.mean(s >= threshold):6.1%}")
            else:
                line += " " * 51
            if band.any():
                worst = np.where(strangers[band], sim[band], -1).max(1)
                strangers_here = band & (own < 0)
                line += f"  impostor max {worst.max():.3f}"
                if strangers_here.any():
                    worst_stranger = np.where(strangers[strangers_here], sim[strangers_here], -1)
                    line += (f"  stranger faces n={strangers_here.sum()} max "
                             f"{worst_stranger.max():.3f}")
            print(line)


def _impostor(face: Seen, key: tuple[str, str]) -> bool:
    """Whether naming this face as that clip's star would be wrong."""
    clip, name = key
    if clip == face.clip:
        return face.star != name
    return frozenset({clip, face.clip}) not in SAME_PERSON


# --- the levers: (embedder, RGB frame, faces) -> (n, 128) unit vectors ---

SMALL_PX = 80  # the size the upscaling levers bring a smaller face to


def _dlib_chips(embedder, rgb, faces):
    """dlib's own recipe: its landmarks, get_face_chip's framing (no small-face fit)."""
    from kpopcam.vision.dlib_chip import face_chip
    from kpopcam.vision.dlib_onnx import CHIP_POINTS, CHIP_SIZE

    return [face_chip(rgb, CHIP_POINTS * CHIP_SIZE,
                      embedder.landmarks(rgb, tuple(round(v) for v in face.box)), CHIP_SIZE)
            for face in faces]


def _dlib(embedder, rgb, faces, flip=False):
    return embedder.embed_chips(_dlib_chips(embedder, rgb, faces), flip=flip)


def _base(embedder, rgb, faces):
    """dlib's recipe as a live look took it before the small-face changes (no flip)."""
    return _dlib(embedder, rgb, faces)


def _flip(embedder, rgb, faces):
    return _dlib(embedder, rgb, faces, flip=True)


def _app(embedder, rgb, faces):
    """The app's live look now: small faces framed by their landmarks' spread, flip-averaged."""
    return embedder.embed_faces(rgb, faces, flip=False)


def _upscaled(embedder, rgb, face, target: float, interpolation: int):
    """The face's surroundings upscaled so that the face is target px wide, and the face's box
    on it; (None, None) when the face is big enough."""
    from kpopcam.types import Face

    factor = target / max(face.width, 1.0)
    if factor <= 1.0:
        return None, None
    x1, y1, x2, y2 = face.box
    pad = max(face.width, face.height)
    h, w = rgb.shape[:2]
    left, top = max(0, int(x1 - pad)), max(0, int(y1 - pad))
    right, bottom = min(w, int(np.ceil(x2 + pad))), min(h, int(np.ceil(y2 + pad)))
    crop = rgb[top:bottom, left:right]
    big = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=interpolation)
    box = tuple((v - o) * factor for v, o in zip(face.box, (left, top, left, top), strict=True))
    return big, Face(box, face.score)


def _upscale_all(interpolation, target=SMALL_PX, flip=False):
    def lever(embedder, rgb, faces):
        out = []
        for face in faces:
            big, box = _upscaled(embedder, rgb, face, target, interpolation)
            if big is None:
                out.append(_dlib(embedder, rgb, [face], flip=flip)[0])
            else:
                out.append(_dlib(embedder, big, [box], flip=flip)[0])
        return np.stack(out) if out else np.zeros((0, 128), np.float32)
    return lever


def _landmarks_upscaled(interpolation, target=SMALL_PX):
    """Landmarks found on the upscaled crop, the chip cut from the frame itself."""
    from kpopcam.vision.dlib_chip import face_chip
    from kpopcam.vision.dlib_onnx import CHIP_POINTS, CHIP_SIZE

    def lever(embedder, rgb, faces):
        chips = []
        for face in faces:
            big, box = _upscaled(embedder, rgb, face, target, interpolation)
            if big is None:
                chips += _dlib_chips(embedder, rgb, [face])
                continue
            factor = target / max(face.width, 1.0)
            x1, y1 = face.box[:2]
            pad = max(face.width, face.height)
            left, top = max(0, int(x1 - pad)), max(0, int(y1 - pad))
            points = embedder.landmarks(big, tuple(round(v) for v in box.box))
            points = points / factor + [left, top]
            chips.append(face_chip(rgb, CHIP_POINTS * CHIP_SIZE, points, CHIP_SIZE))
        return embedder.embed_chips(chips, flip=False)
    return lever


def _chip_warp(interpolation):
    """dlib's landmarks in the box, the chip cut by cv2.warpAffine with another kernel."""
    from kpopcam.vision.dlib_chip import similarity
    from kpopcam.vision.dlib_onnx import CHIP_POINTS, CHIP_SIZE

    def lever(embedder, rgb, faces):
        chips = []
        for face in faces:
            points = embedder.landmarks(rgb, tuple(round(v) for v in face.box))
            tform = similarity(points, CHIP_POINTS * CHIP_SIZE)
            if 1 / np.hypot(tform[0, 0], tform[1, 0]) > 2:  # big: dlib's pyramid as it is
                chips += _dlib_chips(embedder, rgb, [face])
                continue
            chips.append(cv2.warpAffine(rgb, tform, (CHIP_SIZE, CHIP_SIZE), flags=interpolation,
                                        borderMode=cv2.BORDER_CONSTANT))
        return embedder.embed_chips(chips, flip=False)
    return lever


def _chip_kernel(interpolation, only_enlarging=True, flip=False):
    """dlib's chip geometry to the pixel (its corners, its pyramid for big faces), read with
    another kernel where the chip enlarges the face (or everywhere it reads the frame)."""
    from kpopcam.vision import dlib_chip

    dlib_bilinear = dlib_chip.bilinear

    def read(rgb, corners, size):
        origin, right, down = corners[0], corners[1] - corners[0], corners[2] - corners[0]
        if only_enlarging and np.hypot(*right) / (size - 1) >= 1:
            return dlib_bilinear(rgb, corners, size)
        m = np.column_stack([right / (size - 1), down / (size - 1), origin])
        return cv2.warpAffine(rgb, m, (size, size), flags=interpolation | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)

    def lever(embedder, rgb, faces):
        return embedder.embed_chips(_patched_chips(embedder, rgb, faces, "bilinear", read),
                                    flip=flip)
    return lever


def _patched_chips(embedder, rgb, faces, name: str, replacement):
    """_dlib_chips with one step of kpopcam.vision.dlib_chip (`name`) replaced meanwhile."""
    from kpopcam.vision import dlib_chip

    original = getattr(dlib_chip, name)
    setattr(dlib_chip, name, replacement)
    try:
        return _dlib_chips(embedder, rgb, faces)
    finally:
        setattr(dlib_chip, name, original)


def _inverse(tform: np.ndarray) -> np.ndarray:
    m = np.linalg.inv(tform[:, :2])
    return np.hstack([m, -(m @ tform[:, 2])[:, None]])


def _chip_fit(fit, below_px: float = 1e9, flip=False):
    """dlib's chip (geometry, pyramid, bilinear) with another transform from the landmarks:
    fit(chip_points, image_points) -> 2x3 chip-to-image, for faces narrower than below_px."""

    def lever(embedder, rgb, faces):
        chips = [_patched_chips(embedder, rgb, [face], "similarity", fit)[0]
                 if face.width < below_px else _dlib_chips(embedder, rgb, [face])[0]
                 for face in faces]
        return embedder.embed_chips(chips, flip=flip)
    return lever


def _image_fit(chip_points, img_points):
    """The least-squares fit from the image's points to the chip's, inverted."""
    return _inverse(dlib_similarity(img_points, chip_points))


def _zoomed(k):
    def fit(chip_points, img_points):
        from kpopcam.vision.dlib_onnx import CHIP_SIZE

        t = dlib_similarity(chip_points, img_points)
        c = np.array([CHIP_SIZE / 2, CHIP_SIZE / 2])
        return np.hstack([k * t[:, :2], (t[:, 2] + (1 - k) * t[:, :2] @ c)[:, None]])
    return fit


LEVERS: dict[str, Callable] = {
    "app": _app,
    "imagefit": _chip_fit(_image_fit),
    "imagefit-below80": _chip_fit(_image_fit, 80),
    "imagefit-below80-flip": _chip_fit(_image_fit, 80, flip=True),
    "zoom1.05": _chip_fit(_zoomed(1.05)),
    "zoom1.1": _chip_fit(_zoomed(1.1)),
    "zoom1.1-below80": _chip_fit(_zoomed(1.1), 80),
    "dlibgeom-linear-cv2": _chip_kernel(cv2.INTER_LINEAR, False),
    "dlibgeom-cubic-enlarging": _chip_kernel(cv2.INTER_CUBIC),
    "dlibgeom-cubic-all": _chip_kernel(cv2.INTER_CUBIC, False),
    "dlibgeom-lanczos-enlarging": _chip_kernel(cv2.INTER_LANCZOS4),
    "dlibgeom-cubic-enlarging-flip": _chip_kernel(cv2.INTER_CUBIC, flip=True),
    "chip-linear": _chip_warp(cv2.INTER_LINEAR),
    "base": _base,
    "flip": _flip,
    "up80-cubic": _upscale_all(cv2.INTER_CUBIC),
    "up80-lanczos": _upscale_all(cv2.INTER_LANCZOS4),
    "up80-linear": _upscale_all(cv2.INTER_LINEAR),
    "up120-cubic": _upscale_all(cv2.INTER_CUBIC, 120),
    "up80-cubic-flip": _upscale_all(cv2.INTER_CUBIC, flip=True),
    "landmarks-up80-cubic": _landmarks_upscaled(cv2.INTER_CUBIC),
    "chip-cubic": _chip_warp(cv2.INTER_CUBIC),
    "chip-lanczos": _chip_warp(cv2.INTER_LANCZOS4),
}


if __name__ == "__main__":
    sys.exit(main())
