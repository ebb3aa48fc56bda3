"""A dissolve from the star to another enrolled star in the same spot is no hard cut: no cut
ends the track, and the face that stays in the box is someone else. Her name must not stay on
him for the seconds until the track is next recognised."""

from __future__ import annotations

import numpy as np
import pytest

from kpopcam.enrollment import enroll
from kpopcam.live.analysis import FaceModels
from kpopcam.live.face_change import face_print, looks_changed
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg
from tests.live.conftest import STAR
from tests.live.test_cuts import ASTRONAUT_FACE, CAMERAMAN_FACE, FPS, analyse, shot, write

OTHER = "Cameraman"


@pytest.fixture(scope="module")
def two_star_models(tmp_path_factory, astronaut, cameraman, detector, embedder):
    from kpopcam.vision.emotion import EmotionReader

    folder = tmp_path_factory.mktemp("two_stars")
    with StarGallery(folder / "stars.sqlite") as gallery:
        for name, photo in ((STAR, astronaut), (OTHER, cameraman)):
            assert enroll(name, [save_jpeg(photo, folder / f"{name}.jpg")], detector, embedder,
                          gallery).added
        yield FaceModels(detector, embedder, gallery, EmotionReader())


def dissolve(before: list, after: list, seconds: float) -> list:
    """The last picture of `before` fading into `after` over `seconds`, then `after` on."""
    steps = round(seconds * FPS)
    last = before[-1].astype(np.float32)
    faded = [(last * (1 - (k + 1) / (steps + 1)) + f * ((k + 1) / (steps + 1))).astype(np.uint8)
             for k, f in enumerate(after[:steps])]
    return before + faded + after[steps:]


def test_her_name_ends_soon_after_a_dissolve_to_another_star(tmp_path, astronaut, cameraman,
                                                             two_star_models):
    # her shot lasts 3 s: she is confirmed early, and her next regular look would be 2 s on
    frames = dissolve(shot(astronaut, ASTRONAUT_FACE, 70, 3.0),
                      shot(cameraman, CAMERAMAN_FACE, 160, 3.0), 0.5)
    analyses = analyse(write(tmp_path / "dissolve.mp4", frames), two_star_models)
    assert any(f.star == STAR for a in analyses[5:25] for f in a.faces)  # she was named
    settled = round(3.5 * FPS) + round(0.5 * FPS)  # half a second after the dissolve
    after = [a for a in analyses[settled:-1] if a.faces]
    assert after, "the man was not followed"
    assert not any(f.star == STAR for a in after for f in a.faces)
    assert any(f.star == OTHER for a in after for f in a.faces)  # and he is named


def test_a_face_print_moves_for_another_person_not_for_the_same_one_lit_or_moved(
        astronaut, cameraman):
    her = shot(astronaut, ASTRONAUT_FACE, 70, 0.1)[0]
    box = (250, 120, 350, 245)  # the SPOT both faces are put in
    him = shot(cameraman, CAMERAMAN_FACE, 160, 0.1)[0]
    dimmer = (her * 0.85).astype(np.uint8)
    moved = np.roll(her, 4, axis=1)
    print_of = face_print(her, box)
    assert not looks_changed(print_of, face_print(dimmer, box))
    assert not looks_changed(print_of, face_print(moved, box))
    assert looks_changed(print_of, face_print(him, box))
    assert not looks_changed(print_of, None)  # no earlier print: nothing to compare
