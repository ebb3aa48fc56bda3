"""Enrolling a star from photos and recognising her, with the real MTCNN and FaceNet."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from kpopcam.enrollment import enroll, likely_faces
from kpopcam.stars import StarGallery
from kpopcam.types import Face
from kpopcam.vision.detector import detect_in_photo
from tests.conftest import save_jpeg

STAR = "Eileen Collins"


def who(rgb, detector, embedder, gallery):
    faces = detect_in_photo(detector, rgb)
    assert faces, "no face found"
    return gallery.match(embedder.embed_faces(rgb, faces[:1])[0])


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, astronaut, detector, embedder):
    folder = tmp_path_factory.mktemp("enrol")
    one_crop = save_jpeg(astronaut[20:260, 120:330], folder / "collins.jpg")
    with StarGallery(folder / "stars.sqlite") as g:
        report = enroll(STAR, [one_crop], detector, embedder, g)
        assert len(report.added) == 1
        yield g


def on_canvas(rgb, scale, offset, size=(640, 480)):
    canvas = np.full((size[1], size[0], 3), 90, np.uint8)
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    x, y = offset
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda a: on_canvas(a, 0.7, (250, 90)), id="shifted-and-scaled"),
        pytest.param(lambda a: np.ascontiguousarray(a[:, ::-1]), id="mirrored"),
        pytest.param(lambda a: (a * 0.45).astype(np.uint8), id="darker"),
    ],
)
def test_star_is_recognised_in_changed_copies(gallery, astronaut, detector, embedder, variant):
    match = who(variant(astronaut), detector, embedder, gallery)
    assert match.name == STAR, match


def test_another_person_is_unknown(gallery, cameraman, detector, embedder):
    match = who(cameraman, detector, embedder, gallery)
    assert match.name is None
    assert match.similarity < gallery.threshold


def test_folder_with_junk_enrols_the_face_and_reports_the_rest(tmp_path, astronaut, detector,
                                                                embedder):
    folder = tmp_path / "photos"
    folder.mkdir()
    save_jpeg(astronaut, folder / "astronaut.jpg")
    (folder / "notes.txt").write_text("not a photo", "utf-8")
    (folder / "empty.jpg").write_bytes(b"")
    save_jpeg(np.full((300, 400, 3), 255, np.uint8), folder / "blank.jpg")
    save_jpeg(data.rocket(), folder / "landscape.jpg")

    with StarGallery(tmp_path / "stars.sqlite") as g:
        report = enroll("리사", sorted(folder.iterdir()), detector, embedder, g)
        assert [p.name for p in report.added] == ["astronaut.jpg"]
        reasons = {p.name: why for p, why in report.skipped}
        assert set(reasons) == {"notes.txt", "empty.jpg", "blank.jpg", "landscape.jpg"}
        assert reasons["empty.jpg"] == "the file is empty"
        assert "not a readable image" in reasons["notes.txt"]
        assert reasons["blank.jpg"] == reasons["landscape.jpg"] == "no face found"
        assert [(s.name, s.face_count) for s in g.stars()] == [("리사", 1)]


def test_photo_with_two_similar_faces_is_skipped(tmp_path, astronaut, detector, embedder):
    face = astronaut[20:260, 120:330]
    two = save_jpeg(np.hstack([face, face[:, ::-1]]), tmp_path / "two.jpg")
    with StarGallery(tmp_path / "stars.sqlite") as g:
        report = enroll(STAR, [two], detector, embedder, g)
    assert not report.added
    assert "2 faces of similar size" in report.skipped[0][1]


def test_gallery_survives_a_restart(tmp_path, astronaut, detector, embedder):
    path = tmp_path / "stars.sqlite"
    photo = save_jpeg(astronaut, tmp_path / "a.jpg")
    with StarGallery(path) as g:
        enroll(STAR, [photo], detector, embedder, g)
    with StarGallery(path) as again:
        assert [s.name for s in again.stars()] == [STAR]
        assert again.stars()[0].thumbnail[:2] == b"\xff\xd8"  # a JPEG thumbnail
        assert who(astronaut, detector, embedder, again).name == STAR


def test_a_larger_box_the_detector_is_unsure_of_is_not_the_star():
    """On whole photos MTCNN sometimes boxes a hand on a chin or an arm (score 0.80-0.90) larger
    than the real face (0.996-1.0): the sure face is the one enrolled, and it is not ambiguous."""
    hand = Face((0.0, 200.0, 170.0, 410.0), 0.90)
    face = Face((210.0, 90.0, 370.0, 290.0), 0.999)
    assert likely_faces([hand, face]) == [face]
    unsure_only = [Face((0, 0, 80, 100), 0.9), Face((100, 0, 150, 60), 0.85)]
    assert likely_faces(unsure_only) == unsure_only  # nothing sure: keep what there is
