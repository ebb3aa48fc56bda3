"""How well kpopcam tells stars apart: closed-set top-1 and open-set true-accept rate.

python -m training.eval_identity DIR [--embedder dlib|dlib-onnx|casia-webface]
    [--backend onnx|torch]   (DIR/<person>/<photo>)

Every photo's face is found once (the largest of those MTCNN is sure of, as enrolment takes it)
and embedded once per embedder (both cached under training/runs/). Closed set: k photos per
person enrol, the rest are queries (k = 1, 3, 5, 10; 10 random draws). Open set (k = 5): each
person in turn is left out of the gallery as the unknown; the threshold is set for 1 % false
accepts of the unknown's faces, and the true-accept rate is the share of enrolled people's
queries matched to the right star at or above it. A photo with no face found counts as a miss.
The variants compared: crop (for FaceNet: MTCNN box, or aligned to landmarks), flip averaging,
and matcher (star centroid, best single embedding, a trained linear classifier).
The last line is one JSON object for the shipped configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from kpopcam.settings import IdentitySettings
from training.identity_data import list_photos

K_VALUES = (1, 3, 5, 10)
DRAWS = 10
OPEN_SET_K = 5
FAR = 0.01
CACHE_DIR = Path(__file__).parent / "runs"


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


# -- embeddings --------------------------------------------------------------------------------

EMBEDDERS = ("dlib", "dlib-onnx", "casia-webface")
VARIANTS = {  # embedder -> crops it is measured on
    "dlib": ("chip",),  # dlib's 5-point predictor in the MTCNN box, then get_face_chip
    "dlib-onnx": ("chip",),  # MTCNN's points on dlib_onnx.CHIP_TEMPLATE
    "casia-webface": ("aligned",),  # aligned to MTCNN's landmarks (the box: RESULTS.md)
}
SHIPPED = {"dlib": ("chip", True, "centroid"), "dlib-onnx": ("chip", True, "centroid"),
           "casia-webface": ("aligned", True, "centroid")}


def detect_all(photos: list[tuple[str, Path]]) -> dict[str, np.ndarray]:
    """The face enrolment takes of every photo: {'box': (n, 4), 'landmarks': (n, 5, 2)},
    NaN if none."""
    import torch
    from tqdm import tqdm

    from kpopcam.enrollment import likely_faces
    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import MtcnnDetector, detect_in_photo

    torch.set_num_threads(1)
    detector = MtcnnDetector(min_face_px=20)
    boxes = np.full((len(photos), 4), np.nan, np.float32)
    landmarks = np.full((len(photos), 5, 2), np.nan, np.float32)
    for i, (_, path) in enumerate(tqdm(photos, desc="detecting", unit="photo")):
        faces = likely_faces(detect_in_photo(detector, read_rgb(path)))
        if faces:
            boxes[i], landmarks[i] = faces[0].box, faces[0].landmarks
    return {"box": boxes, "landmarks": landmarks}


def embed_all(photos, detections, kind: str, backend: str = "onnx") -> dict[str, np.ndarray]:
    """{'<crop>', '<crop>_flip'} -> (n, dim) unit vectors of the embedder `kind`, NaN rows
    where no face was found. backend torch: FaceNet's torch network instead of the app's
    ONNX export (the reference for parity)."""
    from tqdm import tqdm

    from kpopcam.images import read_rgb
    from kpopcam.types import Face
    from kpopcam.vision.detector import aligned_crop, box_crop
    from kpopcam.vision.identity import make_embedder

    if backend == "torch" and not kind.startswith("dlib"):
        from training.torch_forward import torch_face_embedder

        embedder = torch_face_embedder()
    else:
        embedder = make_embedder(kind)
    out = {f"{crop}{suffix}": np.full((len(photos), embedder.dim), np.nan, np.float32)
           for crop in VARIANTS[kind] for suffix in ("", "_flip")}
    for i, (_, path) in enumerate(tqdm(photos, desc=f"embedding ({kind})", unit="photo")):
        if np.isnan(detections["box"][i, 0]):
            continue
        rgb = read_rgb(path)
        face = Face(tuple(detections["box"][i]), 1.0, detections["landmarks"][i])
        for crop in VARIANTS[kind]:
            if crop == "chip":
                chip = embedder.chips(rgb, [face])[0]
                plain, mirrored = embedder.embed_chips([chip, chip[:, ::-1]])
            else:
                img = (box_crop if crop == "box" else aligned_crop)(rgb, face, 160)
                plain, mirrored = embedder.embed(np.stack([img, img[:, ::-1]]), flip=False)
            out[crop][i] = plain
            out[f"{crop}_flip"][i] = unit(plain + mirrored)
    return out


def photos_key(photos: list[tuple[str, Path]]) -> str:
    from kpopcam.enrollment import SURE_FACE
    from kpopcam.vision.detector import FACENET_TEMPLATE

    # the face chosen per photo: a new rule is a new cache
    text = ("\n".join(str(p) for _, p in photos) + FACENET_TEMPLATE.tobytes().hex()
            + f"sure face {SURE_FACE}")
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def cached(name: str, make) -> dict[str, np.ndarray]:
    cache = CACHE_DIR / f"{name}.npz"
    if cache.exists():
        return dict(np.load(cache))
    result = make()
    CACHE_DIR.mkdir(exist_ok=True)
    np.savez(cache, **result)
    return result


def cached_embeddings(photos: list[tuple[str, Path]], kind: str,
                      backend: str = "onnx") -> dict[str, np.ndarray]:
    key = photos_key(photos)
    detections = cached(f"faces_{key}", lambda: detect_all(photos))
    # FaceNet's embeddings came from torch before the ONNX export: the backend is in the name
    name = kind if kind.startswith("dlib") else f"{kind}-{backend}"
    return cached(f"identity_{name}_{key}",
                  lambda: embed_all(photos, detections, kind, backend))


# -- matchers: gallery (embeddings, labels) -> scores (n_queries, n_people) -------------------


def centroid_scores(gallery, labels, queries, people):
    centroids = np.stack([unit(unit(gallery[labels == p]).mean(0)) for p in people])
    return queries @ centroids.T


def best_scores(gallery, labels, queries, people):
    sims = queries @ gallery.T
    return np.stack([sims[:, labels == p].max(1) for p in people], axis=1)


def classifier_scores(gallery, labels, queries, people, epochs=300, lr=0.5, l2=1e-3):
    """Multinomial logistic regression on the embeddings; its softmax is the score."""
    index = {p: i for i, p in enumerate(people)}
    y = np.array([index[p] for p in labels])
    weights = np.zeros((gallery.shape[1], len(people)))
    bias = np.zeros(len(people))
    onehot = np.eye(len(people))[y]
    for _ in range(epochs):
        probs = softmax(gallery @ weights + bias)
        grad = (probs - onehot) / len(y)
        weights -= lr * (gallery.T @ grad + l2 * weights)
        bias -= lr * grad.sum(0)
    return softmax(queries @ weights + bias)


def softmax(z):
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


MATCHERS = {"centroid": centroid_scores, "best": best_scores, "classifier": classifier_scores}


# -- protocols --------------------------------------------------------------------------------


def split(labels, people, k, rng):
    """Indices of k enrolment photos per person (among those with a face) and of the rest."""
    enrol = []
    for p in people:
        idx = np.flatnonzero(labels == p)
        enrol.extend(rng.choice(idx, size=min(k, len(idx) - 1), replace=False))
    enrol = np.array(sorted(enrol))
    rest = np.setdiff1d(np.flatnonzero(np.isin(labels, people)), enrol)
    return enrol, rest


def closed_set_top1(emb, found, labels, k, matcher, seed=0) -> list[float]:
    people = sorted(set(labels))
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(DRAWS):
        enrol, queries = split(np.where(found, labels, ""), people, k, rng)
        queries = np.union1d(queries, np.flatnonzero(~found))  # no face: a miss, never a hit
        scores = matcher(emb[enrol], labels[enrol], emb[queries], people)
        predicted = np.array(people)[scores.argmax(1)]
        hit = (predicted == labels[queries]) & found[queries]
        results.append(float(hit.mean()))
    return results


def open_set_draws(emb, found, labels, matcher, seed=0):
    """Per draw: (right star?, best score) of enrolled people's queries, the strangers' best
    scores, and how many queries had no face found (never accepted)."""
    people = sorted(set(labels))
    rng = np.random.default_rng(seed)
    for _ in range(DRAWS):
        genuine_ok, genuine_score, impostor, misses = [], [], [], 0
        for unknown in people:
            known = [p for p in people if p != unknown]
            enrol, queries = split(np.where(found, labels, ""), known, OPEN_SET_K, rng)
            scores = matcher(emb[enrol], labels[enrol], emb[queries], known)
            genuine_ok.append(np.array(known)[scores.argmax(1)] == labels[queries])
            genuine_score.append(scores.max(1))
            misses += int((~found & np.isin(labels, known)).sum())  # no face: never accepted
            strangers = np.flatnonzero((labels == unknown) & found)
            impostor.append(matcher(emb[enrol], labels[enrol], emb[strangers], known).max(1))
        yield (np.concatenate(genuine_ok), np.concatenate(genuine_score),
               np.concatenate(impostor), misses)


def open_set(emb, found, labels, matcher, seed=0) -> tuple[list[float], list[float]]:
    """(true-accept rates, thresholds) per draw at FAR false accepts."""
    tars, thresholds = [], []
    for ok, score, impostor, misses in open_set_draws(emb, found, labels, matcher, seed):
        threshold = float(np.quantile(impostor, 1 - FAR, method="higher"))
        accepted = ok & (score > threshold)
        tars.append(float(accepted.sum() / (accepted.size + misses)))
        thresholds.append(threshold)
    return tars, thresholds


def operating_points(emb, found, labels, matcher, thresholds) -> list[tuple[float, float]]:
    """(true-accept rate, false-accept rate) at each fixed threshold, over all draws."""
    draws = list(open_set_draws(emb, found, labels, matcher))
    points = []
    for t in thresholds:
        tar = np.mean([(ok & (s >= t)).sum() / (ok.size + m) for ok, s, _, m in draws])
        far = np.mean([(imp >= t).mean() for _, _, imp, _ in draws])
        points.append((float(tar), float(far)))
    return points


# -- report -----------------------------------------------------------------------------------


def evaluate(embeddings, labels, crop, flip, matcher_name):
    return scores(embeddings[f"{crop}_flip" if flip else crop], labels, MATCHERS[matcher_name])


def scores(emb, labels, matcher):
    """Closed-set top-1 at each k, and open-set TARs with their thresholds; rows of NaN are
    photos with no face found."""
    found = ~np.isnan(emb[:, 0])
    emb = np.nan_to_num(emb)
    top1 = {k: closed_set_top1(emb, found, labels, k, matcher) for k in K_VALUES}
    tars, thresholds = open_set(emb, found, labels, matcher)
    return top1, tars, thresholds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="DIR/<person>/<photo>")
    parser.add_argument("--embedder", choices=EMBEDDERS, default=IdentitySettings().weights,
                        help="default: the app's own (identity.weights)")
    parser.add_argument("--backend", choices=("onnx", "torch"), default="onnx",
                        help="FaceNet: the app's ONNX export (default) or the torch network")
    parser.add_argument("--quick", action="store_true", help="only the shipped configuration")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[],
                        help="also the shipped configuration's open-set rates at these")
    args = parser.parse_args(argv)

    photos = list_photos(args.dir)
    labels = np.array([person for person, _ in photos])
    embeddings = cached_embeddings(photos, args.embedder, args.backend)
    found = ~np.isnan(next(iter(embeddings.values()))[:, 0])
    print(f"{len(photos)} photos of {len(set(labels))} people; a face found on {found.sum()}; "
          f"embedder {args.embedder} ({args.backend})")

    shipped_config = SHIPPED[args.embedder]
    configs = [shipped_config] if args.quick else [
        (crop, flip, m)
        for crop in VARIANTS[args.embedder] for flip in (False, True) for m in MATCHERS
    ]
    print(f"{'crop':8} {'flip':5} {'matcher':10} " + " ".join(f"top1@k={k:<3}" for k in K_VALUES)
          + "  TAR@FAR1%  threshold")
    shipped = None
    for crop, flip, matcher in configs:
        top1, tars, thresholds = evaluate(embeddings, labels, crop, flip, matcher)
        print_row(f"{crop:8} {flip!s:5} {matcher:10}", top1, tars, thresholds)
        if (crop, flip, matcher) == shipped_config:
            shipped = (top1, tars, thresholds)
    if args.thresholds:
        crop, flip, matcher = shipped_config
        emb = embeddings[f"{crop}_flip" if flip else crop]
        points = operating_points(np.nan_to_num(emb), found, labels, MATCHERS[matcher],
                                  args.thresholds)
        print("threshold  TAR    FAR (a stranger taken for an enrolled star)")
        for t, (tar, far) in zip(args.thresholds, points, strict=True):
            print(f"{t:9.3f}  {tar:.3f}  {far:.3f}")
    print(summary(*shipped))
    return 0


def print_row(label, top1, tars, thresholds) -> None:
    cells = " ".join(f"{np.mean(v):.3f}±{np.std(v):.3f}" for v in top1.values())
    print(f"{label} {cells}  {np.mean(tars):.3f}±{np.std(tars):.3f}  {np.mean(thresholds):.3f}")


def summary(top1, tars, thresholds) -> str:
    """The shipped configuration's figures as one JSON line."""
    return json.dumps({
        "top1": {str(k): round(float(np.mean(v)), 4) for k, v in top1.items()},
        "tar_at_far_1pct": round(float(np.mean(tars)), 4),
        "threshold": round(float(np.mean(thresholds)), 4),
    })


if __name__ == "__main__":
    sys.exit(main())
