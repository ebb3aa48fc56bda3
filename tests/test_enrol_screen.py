"""Enrolment leaves out a photo of another enrolled star and a face the star already has
(real photos, the real detector and embedder)."""

from __future__ import annotations

import numpy as np
import pytest

from kpopcam.enrol_screen import MIN_OWN_FACES, screen
from kpopcam.enrollment import enroll
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg


def looks(rgb, folder, name) -> list:
    """Three different photos of one face: cropped, lighter, made smaller (each 0.98-0.999
    alike to the others, not the same face)."""
    h, w = rgb.shape[:2]
    lighter = np.clip(rgb.astype(np.float32) * 1.15 + 12, 0, 255).astype(np.uint8)
    return [save_jpeg(rgb[h // 12:, w // 12:], folder / f"{name}-crop.jpg"),
            save_jpeg(lighter, folder / f"{name}-light.jpg"),
            save_jpeg(rgb[::2, ::2], folder / f"{name}-small.jpg")]


@pytest.fixture
def two_stars(tmp_path, astronaut, cameraman, detector, embedder):
    gallery = StarGallery(tmp_path / "stars.sqlite")
    for name, rgb in (("Eileen", astronaut), ("Cameraman", cameraman)):
        report = enroll(name, looks(rgb, tmp_path, name), detector, embedder, gallery)
        assert len(report.added) == 3, report.skipped
    yield gallery
    gallery.close()


def test_a_photo_of_another_enrolled_star_is_left_out(tmp_path, two_stars, astronaut, cameraman,
                                                      detector, embedder):
    her = save_jpeg(astronaut[:, 30:], tmp_path / "her.jpg")
    him = save_jpeg(cameraman[10:, :], tmp_path / "not-her.jpg")
    report = enroll("eileen", [her, him], detector, embedder, two_stars)
    assert report.added == [her]
    [(photo, why)] = report.skipped
    assert photo == him and why.startswith("looks more like Cameraman")
    assert {s.name: s.face_count for s in two_stars.stars()} == {"Eileen": 4, "Cameraman": 3}


def test_the_fan_can_keep_a_lookalike(tmp_path, two_stars, astronaut, cameraman, detector,
                                      embedder):
    her = save_jpeg(astronaut[:, 30:], tmp_path / "her.jpg")
    him = save_jpeg(cameraman[10:, :], tmp_path / "not-her.jpg")
    report = enroll("Eileen", [her, him], detector, embedder, two_stars, lookalikes=True)
    assert report.added == [her, him]


def test_the_same_photo_twice_is_added_once(tmp_path, two_stars, detector, embedder):
    again = tmp_path / "Eileen-crop.jpg"
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(again.read_bytes())
    report = enroll("Eileen", [again, copy], detector, embedder, two_stars)
    assert report.added == []
    assert [why for _, why in report.skipped] == ["the same face is already one of Eileen's"] * 2


def test_a_star_with_few_faces_is_not_judged():
    """With fewer than MIN_OWN_FACES other faces of the star to compare with, even a face that
    is another star's own centroid is added; with that many, it is left out."""
    other, own = np.eye(8)[0], np.eye(8)[1:]
    few = np.vstack([own[:MIN_OWN_FACES - 1], other])
    assert screen("New", few, np.zeros((0, 0)), {"Other": other})[-1] is None
    enough = np.vstack([own[:MIN_OWN_FACES], other])
    assert screen("New", enough, np.zeros((0, 0)), {"Other": other})[-1].startswith(
        "looks more like Other")
