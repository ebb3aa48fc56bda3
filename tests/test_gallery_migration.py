"""A gallery made with FaceNet-CASIA embedded again with dlib's recogniser, on real photos."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from kpopcam.cli import main
from kpopcam.enrollment import enroll, thumbnail_jpeg
from kpopcam.stars import (
    EnrolledFace,
    GalleryNeedsMigration,
    StarGallery,
    gallery_embedder,
    migrate_gallery,
)
from kpopcam.vision.detector import detect_in_photo
from tests.conftest import save_jpeg

STAR, OLD_STAR, LOST_STAR = "Eileen Collins", "Cameraman", "Nobody Kept"


@pytest.fixture(scope="module")
def casia_embedder():
    from kpopcam.vision.identity import make_embedder

    return make_embedder("casia-webface")


@pytest.fixture(scope="module")
def dlib_embedder():
    from kpopcam.vision.identity import make_embedder

    return make_embedder("dlib")


@pytest.fixture
def casia_gallery(tmp_path, astronaut, cameraman, detector, casia_embedder):
    """A CASIA gallery: one face enrolled now (with its crop), one as older kpopcam kept it
    (thumbnail only), one with nothing to embed again from."""
    path = tmp_path / "stars.sqlite"
    photo = save_jpeg(astronaut, tmp_path / "collins.jpg")
    with StarGallery(path, embedder="casia-webface") as g:
        assert enroll(STAR, [photo], detector, casia_embedder, g).added
        face = detect_in_photo(detector, cameraman)[0]
        embedding = casia_embedder.embed_faces(cameraman, [face])[0]
        g.add_faces(OLD_STAR, [EnrolledFace(embedding, "camera.jpg",
                                            thumbnail_jpeg(cameraman, face))])
        g.add_faces(LOST_STAR, [EnrolledFace(np.ones(512, np.float32), "lost.jpg")])
    return path


def test_gallery_is_embedded_again_from_its_crops_and_thumbnails(
    casia_gallery, astronaut, cameraman, detector, dlib_embedder
):
    embedder = dlib_embedder
    with pytest.raises(GalleryNeedsMigration, match="kpopcam stars migrate"):
        StarGallery(casia_gallery, embedder="dlib")
    progress = []
    report = migrate_gallery(casia_gallery, embedder, lambda done, total: progress.append(
        (done, total)))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert (report.from_crops, report.from_thumbnails) == (1, 1)
    assert report.dropped == {LOST_STAR: 1}
    assert gallery_embedder(report.backup) == "casia-webface"

    def who(gallery, rgb):
        face = detect_in_photo(detector, rgb)[0]
        return gallery.match(embedder.embed_faces(rgb, [face])[0])

    with StarGallery(casia_gallery, embedder="dlib") as g:
        assert {s.name: s.face_count for s in g.stars()} == {STAR: 1, OLD_STAR: 1, LOST_STAR: 0}
        assert who(g, np.ascontiguousarray(astronaut[:, ::-1])).name == STAR
        assert who(g, cameraman).name == OLD_STAR  # from a 96 px thumbnail


def test_enrolled_face_keeps_a_crop_that_embeds_like_the_photo(
    tmp_path, astronaut, detector, embedder
):
    path = tmp_path / "stars.sqlite"
    with StarGallery(path) as g:
        enroll(STAR, [save_jpeg(astronaut, tmp_path / "a.jpg")], detector, embedder, g)
        enrolled = g.embeddings(STAR)[0]
    migrate_gallery(path, embedder)  # the same embedder, from the crop alone
    with StarGallery(path) as g:
        assert g.embeddings(STAR)[0] @ enrolled > 0.98


def test_the_command_line_migrates_on_open_and_says_so(casia_gallery, capsys):
    assert main(["--gallery", str(casia_gallery), "--set", "identity.weights=dlib",
                 "stars", "list"]) == 0
    captured = capsys.readouterr()
    assert "made with casia-webface; embedding its faces again with dlib" in captured.err
    assert f"enrol {LOST_STAR} again" in captured.err
    assert f"{STAR}\t1 face(s)" in captured.out
    db = sqlite3.connect(casia_gallery)
    assert db.execute("SELECT value FROM meta WHERE key = 'embedder'").fetchone() == ("dlib",)
    db.close()


def test_stars_migrate_says_which_embedder_the_gallery_now_uses(casia_gallery, capsys):
    assert main(["--gallery", str(casia_gallery), "--set", "identity.weights=dlib",
                 "stars", "migrate"]) == 0
    assert "uses the dlib embedder" in capsys.readouterr().out
    assert gallery_embedder(casia_gallery) == "dlib"


def test_an_old_gallery_with_a_damaged_picture_is_left_as_it_was_and_the_fan_is_told(
        casia_gallery, capsys):
    import hashlib

    db = sqlite3.connect(casia_gallery)
    with db:
        db.execute("UPDATE faces SET crop = ? WHERE crop IS NOT NULL", (b"\xff\xd8 broken",))
    db.close()
    before = hashlib.sha256(casia_gallery.read_bytes()).hexdigest()
    assert main(["--gallery", str(casia_gallery), "stars", "list"]) != 0  # default: dlib-onnx
    err = capsys.readouterr().err
    assert "could not be embedded again with dlib-onnx and is unchanged" in err
    assert "Traceback" not in err
    assert hashlib.sha256(casia_gallery.read_bytes()).hexdigest() == before


def test_a_friends_gallery_from_another_model_is_embedded_again_on_import(
        casia_gallery, tmp_path, astronaut, detector, capsys):
    import hashlib

    from kpopcam.vision.identity import make_embedder

    shared = tmp_path / "friend.kpopcam"
    shared.write_bytes(casia_gallery.read_bytes())
    before = hashlib.sha256(shared.read_bytes()).hexdigest()
    mine = tmp_path / "mine.sqlite"  # the default model: dlib-onnx
    assert main(["--gallery", str(mine), "stars", "import", str(shared)]) == 0
    captured = capsys.readouterr()
    assert "made with casia-webface; embedding its faces again with dlib-onnx" in captured.err
    assert f"{LOST_STAR}: 1 face(s) kept no picture" in captured.err
    assert "2 face(s) imported" in captured.out
    assert hashlib.sha256(shared.read_bytes()).hexdigest() == before
    embedder = make_embedder("dlib-onnx")
    face = detect_in_photo(detector, astronaut)[0]
    with StarGallery(mine, embedder="dlib-onnx") as g:
        assert {s.name: s.face_count for s in g.stars()} == {STAR: 1, OLD_STAR: 1}
        assert g.match(embedder.embed_faces(astronaut, [face])[0]).name == STAR
