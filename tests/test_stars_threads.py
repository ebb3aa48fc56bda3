"""The star gallery shared by the analysis, pool and GUI threads at once."""

from __future__ import annotations

import threading

import numpy as np

from kpopcam.stars import EnrolledFace, StarGallery

WRITERS, MATCHERS, ROUNDS = 4, 4, 40


def test_enrolling_and_matching_from_many_threads_at_once(tmp_path, fast_switching):
    rng = np.random.default_rng(0)
    directions = rng.standard_normal((WRITERS, 512)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    gallery = StarGallery(tmp_path / "stars.sqlite", threshold=0.5)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS + MATCHERS)

    def enrol(star: int) -> None:
        start.wait()
        for i in range(ROUNDS):
            gallery.add_faces(f"star {star}", [EnrolledFace(directions[star], f"{i}.jpg")])

    def match(star: int) -> None:
        start.wait()
        for _ in range(ROUNDS * 5):
            found = gallery.match(directions[star % WRITERS])
            assert found.name in (None, f"star {star % WRITERS}")

    def run(job, star):
        try:
            job(star)
        except BaseException as exc:  # noqa: BLE001  every failure of every thread counts
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(enrol, i)) for i in range(WRITERS)]
    threads += [threading.Thread(target=run, args=(match, i)) for i in range(MATCHERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, f"{len(errors)} thread(s) failed, first: {errors[0]!r}"
    assert {s.name: s.face_count for s in gallery.stars()} == {
        f"star {i}": ROUNDS for i in range(WRITERS)
    }
    for i in range(WRITERS):
        assert gallery.match(directions[i]).name == f"star {i}"
    gallery.close()
