"""How often a group member is named as another, at the shipped threshold, with and without a
best-vs-second margin.

python -m training.lookalike DIR [--embedder casia-webface] [--threshold T] [--margins M ...]

DIR/<member>/<photo> (e.g. ../shared/data/idols/blackpink). Embeddings come from
training.eval_identity's cache (made there on first use). Each of 10 draws enrols k = 5 photos
of each member (star centroids, as the app matches); the rest are queries.
- One member not enrolled (each in turn): the share of her faces taken for an enrolled one,
  and the share of the enrolled members' faces named right.
- All enrolled: the share of faces named as another member, and named right.
A face is named when its best star's similarity is at least the threshold and at least the
margin above the second best star's.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from training.eval_identity import SHIPPED, cached_embeddings, split, unit
from training.identity_data import list_photos

K = 5
DRAWS = 10


def named(scores: np.ndarray, threshold: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """(index of the star each query is named as, whether it is named at all)."""
    order = np.sort(scores, axis=1)
    best = order[:, -1]
    second = order[:, -2] if scores.shape[1] > 1 else np.full_like(best, -1.0)
    return scores.argmax(1), (best >= threshold) & (best - second >= margin)


def centroids(emb, labels, people):
    return np.stack([unit(unit(emb[labels == p]).mean(0)) for p in people])


def rates(emb, labels, threshold, margins, seed=0) -> dict[float, dict[str, float]]:
    people = sorted(set(labels))
    rng = np.random.default_rng(seed)
    counts = {m: np.zeros(8) for m in margins}
    for _ in range(DRAWS):
        enrol, queries = split(labels, people, K, rng)
        q_labels = labels[queries]
        for unknown in people:  # one member left out of the gallery
            known = [p for p in people if p != unknown]
            keep = enrol[np.isin(labels[enrol], known)]
            scores = emb[queries] @ centroids(emb[keep], labels[keep], known).T
            stranger, member = q_labels == unknown, q_labels != unknown
            for m in margins:
                who, ok = named(scores, threshold, m)
                right = ok & (np.array(known)[who] == q_labels)
                counts[m][:4] += (ok[stranger].sum(), stranger.sum(), right[member].sum(),
                                  member.sum())
        scores = emb[queries] @ centroids(emb[enrol], labels[enrol], people).T
        for m in margins:  # every member enrolled
            who, ok = named(scores, threshold, m)
            right = ok & (np.array(people)[who] == q_labels)
            counts[m][4:] += ((ok & ~right).sum(), len(queries), right.sum(), len(queries))
    return {m: {"unenrolled_taken": c[0] / c[1], "enrolled_named_right": c[2] / c[3],
                "all_enrolled_wrong": c[4] / c[5], "all_enrolled_right": c[6] / c[7]}
            for m, c in counts.items()}


def main(argv: list[str] | None = None) -> int:
    from kpopcam.settings import IDENTITY_THRESHOLDS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--embedder", default="casia-webface", choices=sorted(SHIPPED))
    parser.add_argument("--threshold", type=float)
    parser.add_argument("--margins", type=float, nargs="+",
                        default=[0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15])
    args = parser.parse_args(argv)
    threshold = args.threshold or IDENTITY_THRESHOLDS[args.embedder]
    photos = list_photos(args.dir)
    labels = np.array([person for person, _ in photos])
    crop, flip, _ = SHIPPED[args.embedder]
    emb = cached_embeddings(photos, args.embedder)[f"{crop}_flip" if flip else crop]
    found = ~np.isnan(emb[:, 0])
    emb, labels = emb[found], labels[found]
    print(f"{len(labels)} faces of {len(set(labels))} members, {args.embedder} at {threshold}")
    print("margin  unenrolled taken  enrolled right | all enrolled: wrong  right")
    table = rates(emb, labels, threshold, args.margins)
    for m, r in table.items():
        print(f"{m:6.2f}  {r['unenrolled_taken']:16.3f}  {r['enrolled_named_right']:14.3f} | "
              f"{r['all_enrolled_wrong']:19.3f}  {r['all_enrolled_right']:.3f}")
    print(json.dumps({str(m): {k: round(v, 4) for k, v in r.items()} for m, r in table.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
