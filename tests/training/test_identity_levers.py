"""The allowed-data identity levers (training/identity_honest_levers.py) on made-up embeddings:
each must keep the right star first where the data make that plain, and do what its name says."""

import numpy as np

from training.eval_identity import unit
from training.identity_background_faces import collect
from training.identity_honest_levers import (
    adaptive_centred,
    ledoit_wolf,
    nearest_background_mean,
    snorm,
    top_removed,
    whitener,
    with_margin,
)

RNG = np.random.default_rng(0)
DIM = 32


def people(n_people=4, per=6, spread=0.3):
    """Unit embeddings clustered round one direction per person."""
    centres = unit(RNG.normal(size=(n_people, DIM)))
    x = np.vstack([unit(c + spread * RNG.normal(size=(per, DIM)) / np.sqrt(DIM))
                   for c in centres])
    labels = np.repeat([f"p{i}" for i in range(n_people)], per)
    return x, labels


def top1(matcher, x, labels):
    enrol = np.arange(len(x)) % 6 < 3
    names = sorted(set(labels))
    scores = matcher(x[enrol], labels[enrol], x[~enrol], names)
    return np.mean(np.array(names)[scores.argmax(1)] == labels[~enrol])


def test_snorm_keeps_the_right_star_first_and_lifts_a_star_the_cohort_is_far_from():
    x, labels = people()
    cohort = unit(RNG.normal(size=(200, DIM)))
    assert top1(snorm(cohort), x, labels) == 1.0
    assert top1(snorm(cohort, top=20), x, labels) == 1.0
    # two equally good matches (cosine 0.894 each); the cohort crowds round star a, so a's
    # match is the less remarkable one
    e = np.eye(DIM)
    gallery = np.vstack([e[0], e[1]])
    queries = unit(np.vstack([e[0] + 0.5 * e[2], e[1] + 0.5 * e[3]]))
    crowd = unit(e[0] + 0.3 * RNG.normal(size=(200, DIM)) / np.sqrt(DIM))
    s = snorm(crowd)(gallery, np.array(["a", "b"]), queries, ["a", "b"])
    assert s[0, 0] < s[1, 1] - 1


def test_ledoit_wolf_is_the_sample_covariance_shrunk_towards_a_scaled_identity():
    x = RNG.normal(size=(40, 8)) * np.arange(1, 9)
    x -= x.mean(0)
    cov, shrunk = x.T @ x / len(x), ledoit_wolf(x)
    assert np.allclose(np.trace(shrunk), np.trace(cov))
    assert np.all(np.linalg.eigvalsh(shrunk) > 0)
    shrunk_values, values = np.linalg.eigvalsh(shrunk), np.linalg.eigvalsh(cov)
    assert shrunk_values.max() / shrunk_values.min() < values.max() / values.min()


def test_whitening_evens_out_the_backgrounds_directions():
    b = RNG.normal(size=(2000, DIM)) * np.linspace(0.1, 3, DIM)
    white = whitener(b)(b)
    variances = np.linalg.eigvalsh(np.cov(white.T))
    raw = np.linalg.eigvalsh(np.cov(unit(b).T))
    assert variances.max() / variances.min() < raw.max() / raw.min() / 10


def test_top_directions_off_removes_the_backgrounds_largest_spread():
    b = RNG.normal(size=(500, DIM))
    b[:, 0] *= 20
    out = top_removed(b, 1)(b)
    assert np.abs(out[:, 0]).max() < 0.05


def test_centring_on_look_alikes_of_the_gallery_tells_people_apart_who_share_an_offset():
    x, labels = people(spread=0.6)
    offset = 3 * unit(RNG.normal(size=DIM))
    shared = unit(x + offset)  # every star shares a large offset (as idols do for dlib)
    look_alikes = unit(RNG.normal(size=(100, DIM)) * 0.5 + offset)
    strangers = unit(RNG.normal(size=(300, DIM)))
    b = np.vstack([look_alikes, strangers])
    matcher = adaptive_centred((b,), (DIM,), nearest_background_mean(100))
    assert top1(matcher, shared, labels) >= top1(_centroid, shared, labels)
    chosen = nearest_background_mean(100)([shared[:10]], [b])[0]
    assert chosen @ unit(offset) > 0.9 * np.linalg.norm(chosen)


def test_lead_over_second_keeps_the_best_star_and_scores_its_lead():
    scores = np.array([[0.9, 0.7, 0.1], [0.2, 0.3, 0.25]])
    lead = with_margin(lambda *a: scores, None)(None, None, None, None)
    assert (lead.argmax(1) == scores.argmax(1)).all()
    assert np.allclose(lead.max(1), [0.2, 0.05])


def test_background_rows_keep_each_face_with_its_source():
    rows = [("clip-a", [np.ones((2, 3)), np.zeros((2, 5))]),
            ("clip-b", [np.full((1, 3), 2.0), np.ones((1, 5))])]
    out = collect(rows)
    assert list(out["group"]) == ["clip-a", "clip-a", "clip-b"]
    assert out["dlib"].shape == (3, 3) and out["casia-webface"].shape == (3, 5)
    assert out["dlib"][2, 0] == 2.0


def _centroid(gallery, labels, queries, names):
    from training.eval_identity import centroid_scores

    return centroid_scores(gallery, labels, queries, names)
