"""dlib levers before the centroid: where the landmarks start, how the chip is framed, and
which enrolment photos the centroid trusts.

python -m training.identity_chip_levers DIR [--stages box tta enrolment]
    (DIR/<person>/<photo>; needs dlib-bin and face-recognition-models, kpopcam[dlib]; reads
    eval_identity's cached MTCNN detections and dlib-onnx embeddings: run
    `python -m training.eval_identity DIR` first)

eval_identity's protocol (k photos a person, 10 draws; TAR at 1 % FAR, k = 5), flip-averaged
embeddings and star centroids unless a row says otherwise.

- box: dlib's 5-point predictor was trained inside boxes of dlib's own detectors, which are
  square; MTCNN's boxes (detect_in_photo) are about 1.35 times taller than wide. Rows: the
  MTCNN box (the shipped recipe, through dlib-bin); dlib's HOG detector's box where it finds
  the face (IoU > 0.3 with MTCNN's), else MTCNN's; a square box of MTCNN's width, 4.5 % of its
  height lower (HOG's median placement on BLACKPINK); and a refit: the predictor run again in
  the square box that best puts its mean shape on the landmarks of the first run.
- tta: the chip cut at other paddings (0.25 is dlib's), averaged over paddings, and dlib's own
  test-time jitter (10 randomly moved, turned, scaled and mirrored chips).
- enrolment: the star's centroid without the enrolment faces that do not look like the star's
  others (a web-scraped photo of the wrong member, or the wrong face of a whole photo):
  trimmed (a face whose cosine to the mean of the others is more than t under the star's
  median such cosine is left out), weighted (each face by exp(that cosine / t)), cross-star
  (left out when nearer another star's centroid than its own others, by more than t).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from tqdm import tqdm

from kpopcam.types import iou
from training.eval_identity import CACHE_DIR, cached_embeddings, photos_key, print_row, scores, unit
from training.identity_data import list_photos

PADDINGS = (0.1, 0.15, 0.25, 0.35, 0.45)
JITTERS = 10
HOG_DY = 0.045  # HOG box centre below MTCNN's, in MTCNN box heights (BLACKPINK median)
HOG_MIN_IOU = 0.3
TRIM = (0.01, 0.02, 0.03, 0.04, 0.05, 0.08)
WEIGHT_T = (0.005, 0.01, 0.02)
CROSS = (0.0, 0.005, 0.01, 0.02)


class DlibBin:
    """dlib-bin's predictor, chip and recogniser: descriptors as unit vectors."""

    def __init__(self) -> None:
        import dlib

        from kpopcam.vision import weights
        from kpopcam.vision.dlib_landmarks import load_shipped

        predictor, recogniser = weights.dlib_model_paths()
        self.dlib = dlib
        self.predictor = dlib.shape_predictor(str(predictor))
        self.recogniser = dlib.face_recognition_model_v1(str(recogniser))
        self.hog = dlib.get_frontal_face_detector()
        self.mean_shape = load_shipped()["mean_shape"].astype(np.float64)

    def shape(self, rgb, box):
        return self.predictor(rgb, self.dlib.rectangle(*(int(round(v)) for v in box)))

    def flip_averaged(self, rgb, shape, padding=0.25) -> np.ndarray:
        chip = self.dlib.get_face_chip(rgb, shape, 150, padding)
        plain, mirrored = self.descriptors([chip, np.ascontiguousarray(chip[:, ::-1])])
        return unit(plain + mirrored)

    def descriptors(self, chips) -> np.ndarray:
        return unit(np.array([list(d) for d in self.recogniser.compute_face_descriptor(chips)]))

    def hog_box(self, rgb, box):
        """dlib's HOG detector's box of the face in MTCNN's box, or None."""
        best, best_iou = None, HOG_MIN_IOU
        for r in self.hog(rgb, 1):
            candidate = (r.left(), r.top(), r.right(), r.bottom())
            overlap = iou(candidate, box)
            if overlap > best_iou:
                best, best_iou = candidate, overlap
        return best

    def refit_box(self, shape):
        return refit_box(np.array([[p.x, p.y] for p in shape.parts()], np.float64),
                         self.mean_shape)


def refit_box(points: np.ndarray, mean_shape: np.ndarray):
    """The square box in which the predictor's mean shape (in the box's [0, 1] square) lies
    nearest these landmarks (least squares)."""
    n = len(mean_shape)
    a = np.zeros((2 * n, 3))
    a[:n, 0], a[:n, 2], a[n:, 1], a[n:, 2] = 1, mean_shape[:, 0], 1, mean_shape[:, 1]
    x0, y0, side = np.linalg.lstsq(a, points.T.reshape(-1), rcond=None)[0]
    return (x0, y0, x0 + side, y0 + side)


def square_box(box):
    x1, y1, x2, y2 = box
    side, cx = x2 - x1, (x1 + x2) / 2
    cy = (y1 + y2) / 2 + HOG_DY * (y2 - y1)
    return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def embed_boxes(photos, boxes, model: DlibBin) -> dict[str, np.ndarray]:
    from kpopcam.images import read_rgb

    names = ("mtcnn", "hog", "square", "refit")
    out = {n: np.full((len(photos), 128), np.nan, np.float32) for n in names}
    out["hog_found"] = np.zeros(len(photos), bool)
    for i, (_, path) in enumerate(tqdm(photos, desc="box levers", mininterval=30)):
        box = boxes[i]
        if np.isnan(box[0]):
            continue
        rgb = np.ascontiguousarray(read_rgb(path))
        shape = model.shape(rgb, box)
        out["mtcnn"][i] = model.flip_averaged(rgb, shape)
        hog = model.hog_box(rgb, box)
        out["hog_found"][i] = hog is not None
        out["hog"][i] = out["mtcnn"][i] if hog is None else model.flip_averaged(
            rgb, model.shape(rgb, hog))
        out["square"][i] = model.flip_averaged(rgb, model.shape(rgb, square_box(box)))
        out["refit"][i] = model.flip_averaged(rgb, model.shape(rgb, model.refit_box(shape)))
    return out


def embed_tta(photos, boxes, model: DlibBin) -> dict[str, np.ndarray]:
    """pad<p>: (n, 2, 128) plain and mirrored descriptors of the chip at padding p;
    jitter: (n, 128) dlib's own jittered average."""
    from kpopcam.images import read_rgb

    out = {f"pad{p}": np.full((len(photos), 2, 128), np.nan, np.float32) for p in PADDINGS}
    out["jitter"] = np.full((len(photos), 128), np.nan, np.float32)
    for i, (_, path) in enumerate(tqdm(photos, desc="chip levers", mininterval=30)):
        if np.isnan(boxes[i, 0]):
            continue
        rgb = np.ascontiguousarray(read_rgb(path))
        shape = model.shape(rgb, boxes[i])
        chips = []
        for p in PADDINGS:
            chip = model.dlib.get_face_chip(rgb, shape, 150, p)
            chips += [chip, np.ascontiguousarray(chip[:, ::-1])]
        descriptors = model.descriptors(chips)
        for j, p in enumerate(PADDINGS):
            out[f"pad{p}"][i] = descriptors[2 * j: 2 * j + 2]
        out["jitter"][i] = unit(np.array(model.recogniser.compute_face_descriptor(
            rgb, shape, JITTERS)))
    return out


def cached(name: str, key: str, make) -> dict[str, np.ndarray]:
    path = CACHE_DIR / f"chip_levers_{name}_{key}.npz"
    if path.exists():
        return dict(np.load(path))
    result = make()
    np.savez(path, **result)
    return result


# -- enrolment: centroids that leave out faces unlike the star's others ----------------------


def leave_one_out(faces: np.ndarray) -> np.ndarray:
    """Each face's cosine to the mean of the star's other faces."""
    total = faces.sum(0)
    return np.array([unit(total - f) @ f for f in faces])


def robust_centroid(faces: np.ndarray, others: np.ndarray, mode: str, t: float) -> np.ndarray:
    """others: (m, d) the other stars' plain centroids."""
    faces = unit(faces)
    if len(faces) < 3:
        return unit(faces.mean(0))
    own = leave_one_out(faces)
    if mode == "weighted":
        w = np.exp((own - own.max()) / t)
        return unit((w[:, None] * faces).sum(0))
    if mode == "trimmed":
        keep = own >= np.median(own) - t
    else:  # cross-star
        nearest_other = (faces @ others.T).max(1) if len(others) else np.full(len(faces), -1.0)
        keep = own >= nearest_other - t
    return unit(faces[keep].mean(0)) if keep.any() else unit(faces.mean(0))


def screened_matcher(gallery, labels, queries, people):
    """Centroids of the faces kpopcam's enrolment keeps (kpopcam.enrol_screen), each star's
    photos screened as one batch against the other stars' plain centroids."""
    from kpopcam.enrol_screen import screen

    plain = {p: unit(unit(gallery[labels == p]).mean(0)) for p in people}
    centroids = []
    for p in people:
        faces = gallery[labels == p]
        reasons = screen(p, faces, np.zeros((0, 0)), {o: c for o, c in plain.items() if o != p})
        kept = faces[[why is None for why in reasons]]
        centroids.append(unit(unit(kept if len(kept) else faces).mean(0)))
    return queries @ np.stack(centroids).T


def robust_matcher(mode: str, t: float):
    def matcher(gallery, labels, queries, people):
        plain = np.stack([unit(unit(gallery[labels == p]).mean(0)) for p in people])
        centroids = np.stack([
            robust_centroid(gallery[labels == p], np.delete(plain, i, 0), mode, t)
            for i, p in enumerate(people)])
        return queries @ centroids.T
    return matcher


def plain_matcher(gallery, labels, queries, people):
    return queries @ np.stack([unit(unit(gallery[labels == p]).mean(0)) for p in people]).T


def screen_rates(emb, labels, photos, sizes=(5, 10, 20), trials=200, seed=0) -> None:
    """How many of a star's photos enrolment leaves out when she is enrolled from n photos at
    once, every other star from 5; then, each star enrolled from all her photos with every
    other star from all theirs, the photos left out."""
    from kpopcam.enrol_screen import is_lookalike, screen

    found = ~np.isnan(emb[:, 0])
    people = sorted(set(labels))
    rng = np.random.default_rng(seed)
    for n in sizes:
        left, same, total = 0, 0, 0
        for _ in range(trials):
            star = rng.choice(people)
            others = {q: unit(emb[rng.choice(np.flatnonzero(found & (labels == q)), 5,
                                              replace=False)].mean(0))
                      for q in people if q != star}
            pool = np.flatnonzero(found & (labels == star))
            batch = emb[rng.choice(pool, min(n, len(pool)), replace=False)]
            reasons = [why for why in screen(star, batch, np.zeros((0, 0)), others) if why]
            left += len(reasons)
            same += sum(not is_lookalike(why) for why in reasons)
            total += len(batch)
        print(f"enrolled from {n} photos at once: {left} of {total} photos left out "
              f"({left / total:.2%}), {same} of them the same face as another")
    everyone = {p: unit(emb[found & (labels == p)].mean(0)) for p in people}
    for p in people:
        idx = np.flatnonzero(found & (labels == p))
        reasons = screen(p, emb[idx], np.zeros((0, 0)),
                         {q: c for q, c in everyone.items() if q != p})
        for i, why in zip(idx, reasons, strict=True):
            if why is not None:
                print(f"  all photos at once: {photos[i][1].name} left out: {why}")


# -- report ---------------------------------------------------------------------------------


def row(label: str, emb: np.ndarray, labels: np.ndarray, matcher=plain_matcher) -> None:
    print_row(f"{label:34}", *scores(emb, labels, matcher))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="DIR/<person>/<photo>")
    parser.add_argument("--stages", nargs="+", choices=("box", "tta", "enrolment"),
                        default=["box", "tta", "enrolment"])
    args = parser.parse_args(argv)
    photos = list_photos(args.dir)
    labels = np.array([person for person, _ in photos])
    key = photos_key(photos)
    boxes = np.load(CACHE_DIR / f"faces_{key}.npz")["box"]
    model = DlibBin() if {"box", "tta"} & set(args.stages) else None
    print(f"{len(photos)} photos of {len(set(labels))} people; top-1 at k = 1 / 3 / 5 / 10, "
          "TAR at 1 % FAR, threshold")
    if "box" in args.stages:
        emb = cached("box", key, lambda: embed_boxes(photos, boxes, model))
        print(f"dlib's HOG box found on {int(emb['hog_found'].sum())} of {len(photos)} photos")
        for name in ("mtcnn", "hog", "square", "refit"):
            row(f"box: {name}", emb[name], labels)
    if "tta" in args.stages:
        emb = cached("tta", key, lambda: embed_tta(photos, boxes, model))
        for p in PADDINGS:
            row(f"padding {p}, flip-averaged", unit(emb[f"pad{p}"].sum(1)), labels)
        middle = [p for p in PADDINGS if 0.15 <= p <= 0.35]
        row(f"paddings {middle} averaged", unit(sum(
            unit(emb[f"pad{p}"].sum(1)) for p in middle)), labels)
        row("all paddings averaged", unit(sum(
            unit(emb[f"pad{p}"].sum(1)) for p in PADDINGS)), labels)
        row(f"dlib's jitter ({JITTERS})", emb["jitter"], labels)
        row("jitter + padding 0.25 flip-averaged",
            unit(emb["jitter"] + unit(emb["pad0.25"].sum(1))), labels)
    if "enrolment" in args.stages:
        emb = cached_embeddings(photos, "dlib-onnx")["chip_flip"]
        row("dlib-onnx, plain centroid (shipped)", emb, labels)
        row("dlib-onnx, screened as enrolment screens", emb, labels, screened_matcher)
        screen_rates(emb, labels, photos)
        for mode, values in (("trimmed", TRIM), ("weighted", WEIGHT_T), ("cross-star", CROSS)):
            for t in values:
                row(f"dlib-onnx, {mode} centroid t={t}", emb, labels, robust_matcher(mode, t))
    return 0


if __name__ == "__main__":
    sys.exit(main())
