"""Levers on top of the shipped embedder, measured with eval_identity's protocol.

python -m training.identity_levers DIR     (DIR/<person>/<photo>; run eval_identity first for
                                            both embedders, whose cached embeddings this reads)

- fusion: a weighted sum of dlib's and FaceNet-CASIA's centroid similarities, either as they
  are or each first turned into a z-score against the similarities of the gallery's faces to
  the other stars' centroids;
- gallery-centred: the mean of all enrolled faces (every member of the group enrolled) is
  taken off the gallery and the queries before cosine similarity;
- both together.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from training.eval_identity import (
    K_VALUES,
    SHIPPED,
    cached_embeddings,
    centroid_scores,
    print_row,
    scores,
    unit,
)
from training.identity_data import list_photos


def centred(gallery, queries):
    """Gallery and queries with the gallery's mean face taken off, re-normalised."""
    mean = gallery.mean(0)
    return unit(gallery - mean), unit(queries - mean)


def centred_scores(gallery, labels, queries, people):
    g, q = centred(gallery, queries)
    return centroid_scores(g, labels, q, people)


def impostor_stats(gallery, labels, people, score_fn):
    """Mean and spread of the gallery faces' similarities to the other stars' centroids."""
    scores = score_fn(gallery, labels, gallery, people)
    other = labels[:, None] != np.array(people)[None, :]
    values = scores[other]
    return values.mean(), max(values.std(), 1e-6)


def fused_matcher(dims: tuple[int, ...], weights: tuple[float, ...], centre: bool = False,
                  znorm: bool = True):
    """Weighted sum of the centroid similarities of each embedder's columns; znorm: each first
    turned into a z-score against its impostor similarities in the gallery."""
    bounds = np.cumsum((0, *dims))
    part_scores = centred_scores if centre else centroid_scores

    def fused(gallery, labels, queries, people):
        total = 0.0
        for lo, hi, weight in zip(bounds[:-1], bounds[1:], weights, strict=True):
            g, q = gallery[:, lo:hi], queries[:, lo:hi]
            part = part_scores(g, labels, q, people)
            if znorm:
                mean, spread = impostor_stats(g, labels, people, part_scores)
                part = (part - mean) / spread
            total = total + weight * part
        return total

    return fused


def shipped_embeddings(photos, kind):
    crop, flip, _ = SHIPPED[kind]
    return cached_embeddings(photos, kind)[f"{crop}_flip" if flip else crop]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="DIR/<person>/<photo>")
    args = parser.parse_args(argv)
    photos = list_photos(args.dir)
    labels = np.array([person for person, _ in photos])
    dlib = shipped_embeddings(photos, "dlib")
    casia = shipped_embeddings(photos, "casia-webface")
    both = np.hstack([dlib, casia])
    dims = (dlib.shape[1], casia.shape[1])
    runs = {
        "dlib": (dlib, centroid_scores),
        "casia-webface": (casia, centroid_scores),
        "dlib, gallery-centred": (dlib, centred_scores),
        "casia, gallery-centred": (casia, centred_scores),
    }
    for w in (0.5, 0.75):
        for centre in (False, True):
            for znorm in (True, False):
                name = (f"fusion {w:.2f}/{1 - w:.2f}, {'z-scores' if znorm else 'cosines'}"
                        + (", centred" if centre else ""))
                runs[name] = (both, fused_matcher(dims, (w, 1 - w), centre, znorm))
    print(f"{'lever':40} " + " ".join(f"top1@k={k:<3}" for k in K_VALUES)
          + "  TAR@FAR1%  threshold")
    for name, (emb, matcher) in runs.items():
        result = scores(emb, labels, matcher)
        print_row(f"{name:40}", *result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
