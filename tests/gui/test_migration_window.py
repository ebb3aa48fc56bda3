"""A fan's star gallery made with FaceNet opened by a window set to dlib's recogniser: the window
is up at once, a progress bar shows the faces being updated, then the stars are back and are
recognised; a migration that fails leaves the file as it was and says so."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from kpopcam.enrollment import enroll
from kpopcam.gui.app import make_window
from kpopcam.settings import Settings
from kpopcam.stars import EnrolledFace, StarGallery, gallery_embedder
from kpopcam.vision.detector import detect_in_photo
from tests.conftest import save_jpeg

STAR, OTHER, LOST = "Eileen Collins", "Cameraman", "Nobody Kept"
NEW = "dlib-onnx"


@pytest.fixture(scope="module")
def dlib_onnx():
    from kpopcam.vision.identity import make_embedder

    return make_embedder(NEW)


@pytest.fixture(scope="module")
def facenet():
    from kpopcam.vision.identity import make_embedder

    return make_embedder("casia-webface")


@pytest.fixture
def facenet_gallery(tmp_path, astronaut, cameraman, detector, facenet):
    """A fan's gallery from before: two stars enrolled from photos with FaceNet (the default
    until December 2026), one whose face kept no picture to embed again from."""
    embedder = facenet
    path = tmp_path / "data" / "stars.sqlite"
    with StarGallery(path, embedder="casia-webface") as g:
        assert enroll(STAR, [save_jpeg(astronaut, tmp_path / "collins.jpg")], detector,
                      embedder, g).added
        assert enroll(OTHER, [save_jpeg(cameraman, tmp_path / "camera.jpg")], detector,
                      embedder, g).added
        g.add_faces(LOST, [EnrolledFace(np.ones(512, np.float32), "lost.jpg")])
    return path


@pytest.fixture
def dlib_loader(gui_loader, dlib_onnx):
    """The session's models, recognising with dlib's network as the settings ask."""
    def load(settings, gallery, progress):
        models = gui_loader(settings, gallery, progress)
        return replace(models, face_models=replace(models.face_models, embedder=dlib_onnx))

    return load


@pytest.fixture
def open_window(qtbot, tmp_path, dlib_loader):
    """open_window(gallery) -> the window as `kpopcam` opens it with identity.weights set to
    dlib-onnx, shown, its background work not started yet."""
    windows = []

    def open_(path):
        settings = Settings().updated({"identity": {"weights": NEW},
                                       "capture": {"folder": str(tmp_path / "captures")}})
        config = tmp_path / "config" / "settings.toml"
        settings.save(config)
        window = make_window(path, settings, config, loader=dlib_loader)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        return window

    yield open_
    for window in windows:
        window.close()
        window.gallery.close()


def test_old_gallery_is_updated_in_the_window_with_a_progress_bar(
        qtbot, open_window, facenet_gallery, detector, astronaut, cameraman):
    window = open_window(facenet_gallery)
    assert gallery_embedder(facenet_gallery) == "casia-webface"  # the window did not wait
    bar = window.banner.bar
    seen = []
    bar.valueChanged.connect(lambda v: seen.append((v, bar.maximum(),
                                                    window.banner.label.text())))
    window.start_background_work()

    # while it runs: words and a bar; what needs the stars waits and says why
    assert window.banner.isVisible() and "Updating your star gallery" in (
        window.banner.label.text())
    assert not window.stars.add_photos.isEnabled()
    assert "Updating your star gallery" in window.stars.empty.text()
    assert not window.controls.start_button.isEnabled()
    assert "Updating" in window.controls.start_button.text()
    window.toggle_running()
    assert "your stars are back once it is done" in window.messages.text

    qtbot.waitUntil(window.banner.isHidden, timeout=20000)
    assert seen[-1][:2] == (3, 3)
    assert "3 of 3 faces" in seen[-1][2]

    # the result, in a sentence; the fan's stars are back, from the migrated file
    assert window.messages.kind == "info"
    text = window.messages.text
    assert "new face recogniser (2 faces)" in text and f"enrol {LOST} again" in text
    assert "stars.casia-webface.sqlite" in text
    backup = facenet_gallery.with_name("stars.casia-webface.sqlite")
    assert str(backup) in window.messages.details
    assert gallery_embedder(facenet_gallery) == NEW
    assert gallery_embedder(backup) == "casia-webface"
    stars = window.stars.list
    listed = {stars.item(i).data(Qt.ItemDataRole.UserRole) for i in range(stars.count())}
    assert listed == {STAR, OTHER, LOST}
    assert window.stars.add_photos.isEnabled()
    stars_to_watch = [window.controls.star.itemData(i)
                      for i in range(window.controls.star.count())]
    assert STAR in stars_to_watch and window.controls.star.isEnabled()

    # Start recognises the stars with the migrated gallery
    qtbot.waitUntil(lambda: window.bridge.is_ready, timeout=10000)
    assert window.controls.start_button.isEnabled()
    models = window.bridge.models.face_models
    assert models.gallery is window.gallery and window.gallery.path == facenet_gallery

    def who(rgb):
        face = detect_in_photo(detector, rgb)[0]
        return models.gallery.match(models.embedder.embed_faces(rgb, [face])[0]).name

    assert who(np.ascontiguousarray(astronaut[:, ::-1])) == STAR
    assert who(cameraman) == OTHER


def test_a_failed_update_leaves_the_file_as_it_was_and_says_so(
        qtbot, open_window, facenet_gallery):
    db = sqlite3.connect(facenet_gallery)
    with db:  # the crop of one face is damaged on disk
        db.execute("UPDATE faces SET crop = ? WHERE id = 2", (b"\xff\xd8 not a picture",))
    db.close()
    before = hashlib.sha256(facenet_gallery.read_bytes()).hexdigest()

    window = open_window(facenet_gallery)
    window.start_background_work()
    qtbot.waitUntil(window.banner.isHidden, timeout=20000)

    assert window.messages.kind == "error"
    assert "could not be updated for the new face recogniser and is unchanged; stars " \
        "enrolled now are not kept" in window.messages.text
    assert "not a readable JPEG" in window.messages.text + window.messages.details
    assert "Traceback" in window.messages.details
    assert hashlib.sha256(facenet_gallery.read_bytes()).hexdigest() == before
    assert gallery_embedder(facenet_gallery) == "casia-webface"
    # the window goes on with an empty stand-in, as with any gallery it cannot open
    assert window.gallery.path != facenet_gallery and window.gallery.stars() == []
    assert window.stars.add_photos.isEnabled()
    qtbot.waitUntil(lambda: window.bridge.is_ready, timeout=10000)
    assert window.controls.start_button.isEnabled()


def test_closing_the_window_during_the_update_leaves_the_file_as_it_was(
        qtbot, open_window, facenet_gallery):
    before = hashlib.sha256(facenet_gallery.read_bytes()).hexdigest()
    window = open_window(facenet_gallery)
    window.start_background_work()
    window.close()
    assert window.workers.wait(20000)
    assert hashlib.sha256(facenet_gallery.read_bytes()).hexdigest() == before
    assert gallery_embedder(facenet_gallery) == "casia-webface"
