"""How well kpopcam tells stars apart: closed-set top-1 and open-set true-accept rate.

python -m training.eval_identity DIR     (DIR/<person>/<photo>)

Every photo's largest face is embedded once (cached under training/runs/). Closed set: k
photos per person enrol, the rest are queries (k = 1, 3, 5, 10; 10 random draws). Open set
(k = 5): each person in turn is left out of the gallery as the unknown; the threshold is set
for 1 % false accepts of the unknown's faces, and the true-accept rate is the share of enrolled
people's queries matched to the right star at or above it. A photo with no face found counts as
a miss. The variants compared: crop (MTCNN box + margin, or aligned to landmarks), flip
averaging, and matcher (star centroid, best single embedding, a trained linear classifier).
The last line is one JSON object for the shipped configuration.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from training.identity_data import list_photos

K_VALUES = (1, 3, 5, 10)
DRAWS = 10
OPEN_SET_K = 5
FAR = 0.01
SHIPPED = ("aligned", True, "centroid")  # crop, flip, matcher: what the app uses
CACHE_DIR = Path(__file__).parent / "runs"


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


# -- embeddings --------------------------------------------------------------------------------


def embed_all(photos: list[tuple[str, Path]]) -> dict[str, np.ndarray]:
    """{'box', 'box_flip', 'aligned', 'aligned_flip'} -> (n, 512), NaN rows where no face."""
    import torch
    from tqdm import tqdm

    from kpopcam.images import read_rgb
    from kpopcam.vision.detector import MtcnnDetector, aligned_crop, box_crop, detect_in_photo
    from kpopcam.vision.embedder import FaceEmbedder

    torch.set_num_threads(1)
    detector, embedder = MtcnnDetector(min_face_px=20), FaceEmbedder()
    out = {k: np.full((len(photos), 512), np.nan, np.float32) for k in
           ("box", "box_flip", "aligned", "aligned_flip")}
    for i, (_, path) in enumerate(tqdm(photos, desc="embedding", unit="photo")):
        rgb = read_rgb(path)
        faces = detect_in_photo(detector, rgb)
        if not faces:
            continue
        for name, crop_fn in (("box", box_crop), ("aligned", aligned_crop)):
            crop = crop_fn(rgb, faces[0], 160)
            plain, mirrored = embedder.embed(np.stack([crop, crop[:, ::-1]]), flip=False)
            out[name][i] = plain
            out[f"{name}_flip"][i] = unit(plain + mirrored)
    return out


def cached_embeddings(directory: str, photos: list[tuple[str, Path]]) -> dict[str, np.ndarray]:
    from kpopcam.vision.detector import FACENET_TEMPLATE

    text = "\n".join(str(p) for _, p in photos) + FACENET_TEMPLATE.tobytes().hex()
    key = hashlib.sha1(text.encode()).hexdigest()[:12]
    cache = CACHE_DIR / f"identity_{key}.npz"
    if cache.exists():
        return dict(np.load(cache))
    embeddings = embed_all(photos)
    CACHE_DIR.mkdir(exist_ok=True)
    np.savez(cache, **embeddings)
    return embeddings


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


def open_set(emb, found, labels, matcher, seed=0) -> tuple[list[float], list[float]]:
    """(true-accept rates, thresholds) per draw at FAR false accepts."""
    people = sorted(set(labels))
    rng = np.random.default_rng(seed)
    tars, thresholds = [], []
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
        impostor = np.concatenate(impostor)
        threshold = float(np.quantile(impostor, 1 - FAR, method="higher"))
        ok = np.concatenate(genuine_ok) & (np.concatenate(genuine_score) > threshold)
        tars.append(float(ok.sum() / (ok.size + misses)))
        thresholds.append(threshold)
    return tars, thresholds


# -- report -----------------------------------------------------------------------------------


def evaluate(embeddings, labels, crop, flip, matcher_name):
    emb = embeddings[f"{crop}_flip" if flip else crop]
    found = ~np.isnan(emb[:, 0])
    emb = np.nan_to_num(emb)
    matcher = MATCHERS[matcher_name]
    top1 = {k: closed_set_top1(emb, found, labels, k, matcher) for k in K_VALUES}
    tars, thresholds = open_set(emb, found, labels, matcher)
    return top1, tars, thresholds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="DIR/<person>/<photo>")
    parser.add_argument("--quick", action="store_true", help="only the shipped configuration")
    args = parser.parse_args(argv)

    photos = list_photos(args.dir)
    labels = np.array([person for person, _ in photos])
    embeddings = cached_embeddings(args.dir, photos)
    found = ~np.isnan(embeddings["aligned"][:, 0])
    print(f"{len(photos)} photos of {len(set(labels))} people; a face found on {found.sum()}")

    configs = [SHIPPED] if args.quick else [
        (crop, flip, m) for crop in ("box", "aligned") for flip in (False, True) for m in MATCHERS
    ]
    print(f"{'crop':8} {'flip':5} {'matcher':10} " + " ".join(f"top1@k={k:<3}" for k in K_VALUES)
          + "  TAR@FAR1%  threshold")
    shipped = None
    for crop, flip, matcher in configs:
        top1, tars, thresholds = evaluate(embeddings, labels, crop, flip, matcher)
        cells = " ".join(f"{np.mean(v):.3f}±{np.std(v):.3f}" for v in top1.values())
        print(f"{crop:8} {flip!s:5} {matcher:10} {cells}  "
              f"{np.mean(tars):.3f}±{np.std(tars):.3f}  {np.mean(thresholds):.3f}")
        if (crop, flip, matcher) == SHIPPED:
            shipped = (top1, tars, thresholds)
    top1, tars, thresholds = shipped
    print(json.dumps({
        "top1": {str(k): round(float(np.mean(v)), 4) for k, v in top1.items()},
        "tar_at_far_1pct": round(float(np.mean(tars)), 4),
        "threshold": round(float(np.mean(thresholds)), 4),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
