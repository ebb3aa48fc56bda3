"""Identity levers whose statistics come only from faces that may be used for training.

python -m training.identity_honest_levers DIR [--sources fer portraits clips all] [--cohort 0 200]
    (DIR/<person>/<photo>: an idol set, scored only; run eval_identity on it for both embedders
    and training.identity_background_faces first: this reads their caches)

eval_identity's protocol (k photos a person enrolled, 10 draws; TAR at 1 % FAR with each
person in turn the stranger, k = 5) on flip-averaged dlib and FaceNet-CASIA embeddings, and
their fusion (each part a unit vector, scaled by the square root of 0.5, side by side: the
cosine is the mean of the two cosines). The background B of a lever is one of the allowed
sources (FER2013 faces, the portraits set, the clips' faces, or all three); nothing of DIR is
ever in it.

- centred: B's mean taken off every vector, then re-normalised;
- whitened: centred, then multiplied by (Ledoit-Wolf shrunk covariance of B)^-1/2 and
  re-normalised (no parameter: the shrinkage is Ledoit and Wolf's formula);
- s-norm: each query-to-centroid cosine s becomes ((s - mq) / sq + (s - mc) / sc) / 2, where
  mq, sq are the mean and spread of the query's cosines to B's faces and mc, sc the centroid's
  (with --cohort M > 0: only the M most alike of B's faces, "adaptive" s-norm);
- top d PCs off: centred, then the part along B's d largest principal directions taken off
  (the directions in which background faces differ most: demography, light, pose);
- WCCN: within-class covariance normalisation, the within-person covariance of the six
  one-person clips (their faces about each clip's mean), Ledoit-Wolf shrunk, inverted and
  square-rooted, applied with or without centring on B;
- gallery+B centred: the mean of the enrolled faces and B's faces together (each face one
  vote) taken off: adapts to the gallery as far as it outweighs the background.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from training.eval_identity import (
    K_VALUES,
    cached_embeddings,
    centroid_scores,
    print_row,
    scores,
    unit,
)
from training.identity_background_faces import PARTS, load
from training.identity_data import list_photos

FUSE_WEIGHTS = (0.5, 0.5)
SHORT = {"dlib": "dlib", "casia-webface": "casia", "fused": "fused"}


def idol_parts(directory: str) -> tuple[np.ndarray, ...]:
    photos = list_photos(directory)
    dlib = cached_embeddings(photos, "dlib")["chip_flip"]
    casia = cached_embeddings(photos, "casia-webface")["aligned_flip"]
    return np.array([p for p, _ in photos]), (dlib, casia)


def background(source: str) -> tuple[np.ndarray, ...]:
    sources = ("fer", "portraits", "clips") if source == "all" else (source,)
    loaded = [load(s) for s in sources]
    return tuple(np.vstack([b[kind] for b in loaded]) for kind in PARTS)


def ledoit_wolf(x: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk covariance of the rows of x (already centred)."""
    n, d = x.shape
    cov = x.T @ x / n
    mu = np.trace(cov) / d
    x2 = x ** 2
    beta = (np.sum(x2.T @ x2) / n - np.sum(cov ** 2)) / (d * n)
    delta = (np.sum(cov ** 2) - 2 * mu * np.trace(cov) + d * mu ** 2) / d
    shrink = 0.0 if delta == 0 else min(beta, delta) / delta
    return (1 - shrink) * cov + shrink * mu * np.eye(d)


def whitener(b: np.ndarray):
    """x -> unit(W (x - mean)) with W the inverse square root of B's shrunk covariance."""
    mean = b.mean(0)
    values, vectors = np.linalg.eigh(ledoit_wolf(b - mean))
    w = vectors @ np.diag(values ** -0.5) @ vectors.T
    return lambda x: unit((x - mean) @ w)


ONE_PERSON_CLIPS = ("cartoon-then-webcam", "crying-to-laughing", "grin-green-screen",
                    "head-pose", "talking-head", "webcam-then-cartoon")


def wccn(source: str, centre: bool):
    """Per part: x -> unit(W (x - c)), W the inverse square root of the Ledoit-Wolf shrunk
    covariance of each one-person clip's faces about their own mean (how one person's face
    varies with pose, light and expression); c the clips' mean, or 0."""
    clips = load("clips")
    one = np.isin(clips["group"], ONE_PERSON_CLIPS)
    fs = []
    for kind in PARTS:
        x, groups = clips[kind][one], clips["group"][one]
        within = np.vstack([x[groups == g] - x[groups == g].mean(0) for g in set(groups)])
        values, vectors = np.linalg.eigh(ledoit_wolf(within))
        w = vectors @ np.diag(values ** -0.5) @ vectors.T
        c = background(source)[PARTS.index(kind)].mean(0) if centre else 0
        fs.append(lambda v, w=w, c=c: unit((v - c) @ w))
    return fs


def top_removed(b: np.ndarray, d: int):
    """x -> unit((x - mean) less its part along B's d largest principal directions)."""
    mean = b.mean(0)
    top = np.linalg.svd(b - mean, full_matrices=False)[2][:d]
    return lambda x: unit((x - mean) - ((x - mean) @ top.T) @ top)


def transform(kind: str, b: np.ndarray | None):
    if kind == "raw":
        return lambda x: x
    if kind == "centred":
        mean = b.mean(0)
        return lambda x: unit(x - mean)
    if kind.startswith("top "):
        return top_removed(b, int(kind.split()[1]))
    return whitener(b)


def fuse(parts) -> np.ndarray:
    return np.hstack([np.sqrt(w) * p for p, w in zip(parts, FUSE_WEIGHTS, strict=True)])


def snorm(cohort: np.ndarray, top: int = 0):
    """Centroid cosines s-normalised against a cohort of background faces."""

    def stats(v):
        sims = v @ cohort.T
        if top:
            sims = -np.sort(-sims, axis=1)[:, :top]
        return sims.mean(1), np.maximum(sims.std(1), 1e-6)

    def matcher(gallery, labels, queries, people):
        centroids = np.stack([unit(unit(gallery[labels == p]).mean(0)) for p in people])
        raw = queries @ centroids.T
        mq, sq = stats(queries)
        mc, sc = stats(centroids)
        return ((raw - mq[:, None]) / sq[:, None] + (raw - mc[None, :]) / sc[None, :]) / 2

    return matcher


def adaptive_centred(parts_b: tuple[np.ndarray, ...], dims: tuple[int, ...], mean_of):
    """Centroid cosines after taking off, per part, a mean that depends on the gallery:
    mean_of(gallery parts, background parts) -> one mean per part."""
    bounds = np.cumsum((0, *dims))
    ws = weights(len(dims))

    def matcher(gallery, labels, queries, people):
        cut = list(zip(bounds[:-1], bounds[1:], ws, strict=True))
        g_parts = [gallery[:, lo:hi] / np.sqrt(w) for lo, hi, w in cut]
        q_parts = [queries[:, lo:hi] / np.sqrt(w) for lo, hi, w in cut]
        means = mean_of(g_parts, parts_b)
        g = np.hstack([np.sqrt(w) * unit(x - m)
                       for x, m, w in zip(g_parts, means, ws, strict=True)])
        q = np.hstack([np.sqrt(w) * unit(x - m)
                       for x, m, w in zip(q_parts, means, ws, strict=True)])
        return centroid_scores(g, labels, q, people)

    return matcher


def pooled_mean(g_parts, b_parts):
    """The mean of the enrolled faces and the background's together, each face one vote."""
    return [(g.sum(0) + b.sum(0)) / (len(g) + len(b))
            for g, b in zip(g_parts, b_parts, strict=True)]


def shrunk_gallery_mean(alpha: float):
    """alpha x the gallery's mean + (1 - alpha) x the background's."""
    return lambda g_parts, b_parts: [alpha * g.mean(0) + (1 - alpha) * b.mean(0)
                                     for g, b in zip(g_parts, b_parts, strict=True)]


def nearest_background_mean(m: int):
    """The mean of the m background faces most like any enrolled face (summed over parts):
    the background's own people nearest the gallery's, none of the gallery's."""

    def mean_of(g_parts, b_parts):
        sims = sum(b @ g.T for g, b in zip(g_parts, b_parts, strict=True)).max(1)
        near = np.argsort(-sims)[:m]
        return [b[near].mean(0) for b in b_parts]

    return mean_of


def with_margin(matcher, beta: float | None):
    """Each star's score plus beta x its lead over the best other star (None: the lead
    alone); the best star stays the best, so only the open-set threshold sees it."""

    def scored(gallery, labels, queries, people):
        s = matcher(gallery, labels, queries, people)
        top2 = -np.sort(-s, axis=1)[:, :2]
        other = np.where(s >= top2[:, :1], top2[:, 1:2], top2[:, :1])
        lead = s - other
        return lead if beta is None else s + beta * lead

    return scored


def weights(n: int) -> tuple[float, ...]:
    return (1.0,) if n == 1 else FUSE_WEIGHTS


def with_nan(x: np.ndarray, f) -> np.ndarray:
    """f applied to the rows with a face; NaN rows (no face found) stay NaN."""
    out = np.full((len(x), f(np.ones((1, x.shape[1]), np.float32)).shape[1]), np.nan, np.float32)
    ok = ~np.isnan(x[:, 0])
    out[ok] = f(x[ok])
    return out


def levers(idols: tuple[np.ndarray, ...], source: str, cohorts: list[int], nearest: list[int],
           tops: list[int]):
    """(name, embeddings, matcher) of every lever on one background source."""
    b = background(source)
    embedders = {"dlib": [0], "casia-webface": [1], "fused": [0, 1]}
    for kind in ("centred", "whitened", *(f"top {d} PCs off" for d in tops)):
        fs = [transform(kind, part_b) for part_b in b]
        q = [with_nan(x, f) for x, f in zip(idols, fs, strict=True)]
        bt = [f(part_b) for part_b, f in zip(b, fs, strict=True)]
        for name, idx in embedders.items():
            emb = q[idx[0]] if len(idx) == 1 else fuse(q)
            cohort = bt[idx[0]] if len(idx) == 1 else fuse(bt)
            yield f"{SHORT[name]}, {kind} on {source}", emb, centroid_scores
            if kind == "centred":
                for top in cohorts:
                    label = f"s-norm top {top}" if top else "s-norm"
                    yield f"{SHORT[name]}, {kind} + {label} on {source}", emb, snorm(cohort, top)
    for centre in (False, True):
        fs = wccn(source, centre)
        q = [with_nan(x, f) for x, f in zip(idols, fs, strict=True)]
        for name, idx in embedders.items():
            emb = q[idx[0]] if len(idx) == 1 else fuse(q)
            label = f"centred on {source}, " if centre else ""
            yield f"{SHORT[name]}, {label}WCCN (one-person clips)", emb, centroid_scores
    for name, idx in embedders.items():
        emb = idols[idx[0]] if len(idx) == 1 else fuse(idols)
        cohort = b[idx[0]] if len(idx) == 1 else fuse(b)
        for top in cohorts:
            label = f"s-norm top {top}" if top else "s-norm"
            yield f"{SHORT[name]}, {label} on {source}", emb, snorm(cohort, top)
        parts_b = tuple(b[i] for i in idx)
        dims = tuple(idols[i].shape[1] for i in idx)
        adaptive = {f"gallery+{source} centred": pooled_mean,
                    f"0.5 gallery + 0.5 {source} mean centred": shrunk_gallery_mean(0.5)}
        for m in nearest:
            adaptive[f"centred on {m} {source} faces nearest gallery"] = (
                nearest_background_mean(m))
        for label, mean_of in adaptive.items():
            yield f"{SHORT[name]}, {label}", emb, adaptive_centred(parts_b, dims, mean_of)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="DIR/<person>/<photo> (scored only)")
    parser.add_argument("--sources", nargs="+", default=["fer", "portraits", "clips", "all"])
    parser.add_argument("--cohort", type=int, nargs="+", default=[0, 200],
                        help="s-norm cohort sizes (0: all of B's faces)")
    parser.add_argument("--nearest", type=int, nargs="+", default=[100, 300],
                        help="centre on the mean of the m background faces nearest the gallery")
    parser.add_argument("--tops", type=int, nargs="+", default=[1, 2, 4, 8],
                        help="centre, then take off this many of B's principal directions")
    parser.add_argument("--only", help="only levers whose name contains this")
    args = parser.parse_args(argv)

    labels, idols = idol_parts(args.dir)
    print(f"{args.dir}: {len(labels)} photos of {len(set(labels))} people")
    for source in args.sources:
        print(f"background {source}: {len(background(source)[0])} faces")
    print(f"{'lever':44} " + " ".join(f"top1@k={k:<3}" for k in K_VALUES)
          + "  TAR@FAR1%  threshold")
    baseline = [("dlib", idols[0], centroid_scores), ("casia", idols[1], centroid_scores),
                ("fused, raw", fuse(idols), centroid_scores)]
    for name, emb, matcher in list(baseline):
        baseline += [(f"{name}, + lead over 2nd", emb, with_margin(matcher, 1.0)),
                     (f"{name}, lead over 2nd only", emb, with_margin(matcher, None))]
    for name, emb, matcher in baseline:
        if not args.only or args.only in name:
            print_row(f"{name:44}", *scores(emb, labels, matcher))
    for source in args.sources:
        for name, emb, matcher in levers(idols, source, args.cohort, args.nearest, args.tops):
            if not args.only or args.only in name:
                print_row(f"{name:44}", *scores(emb, labels, matcher))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
