"""`kpopcam enroll NAME VIDEO`: a star enrolled from a real video file (real photos filmed in
shots with hard cuts between them), with the real detector, tracker and embedder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kpopcam.cli import main
from kpopcam.stars import StarGallery
from tests.conftest import save_jpeg
from tests.live.test_cuts import FPS, SIZE, write

# face boxes MTCNN finds on the full photos (x1, y1, x2, y2)
ASTRONAUT_FACE = (181, 62, 268, 172)
CAMERAMAN_FACE = (199, 119, 254, 192)


def shot(photo, face_box, spot, background: int, seconds: float, mirror: bool = False):
    """Frames of one shot: the photo scaled and moved so that its face fills `spot`
    (x1, y1, x2, y2), drifting a little to the right as a filmed face would."""
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    x1, y1, x2, y2 = face_box
    if mirror:
        bgr = np.ascontiguousarray(bgr[:, ::-1])
        x1, x2 = photo.shape[1] - x2, photo.shape[1] - x1
    sx, sy = (spot[2] - spot[0]) / (x2 - x1), (spot[3] - spot[1]) / (y2 - y1)
    frames = []
    for i in range(round(seconds * FPS)):
        frame = np.full((SIZE[1], SIZE[0], 3), background, np.uint8)
        m = np.float32([[sx, 0, spot[0] + 2 * i - x1 * sx], [0, sy, spot[1] - y1 * sy]])
        frames.append(cv2.warpAffine(bgr, m, SIZE, dst=frame,
                                     borderMode=cv2.BORDER_TRANSPARENT))
    return frames


@pytest.fixture
def fancam(tmp_path, astronaut, cameraman):
    """The star in three shots (turned, near and far), a stranger in a shot between."""
    return write(tmp_path / "fancam.mp4",
                 shot(astronaut, ASTRONAUT_FACE, (250, 120, 350, 245), 70, 2.0)
                 + shot(cameraman, CAMERAMAN_FACE, (260, 140, 340, 240), 160, 1.0)
                 + shot(astronaut, ASTRONAUT_FACE, (200, 80, 360, 280), 30, 2.0, mirror=True)
                 + shot(astronaut, ASTRONAUT_FACE, (300, 200, 360, 275), 110, 1.5))


def run(tmp_path, *args) -> int:
    return main(["--gallery", str(tmp_path / "stars.sqlite"), "enroll", *map(str, args)])


def star_of(tmp_path, rgb, detector, embedder) -> str | None:
    face = detector.detect(rgb, color="rgb")[0]
    with StarGallery(tmp_path / "stars.sqlite") as gallery:
        return gallery.match(embedder.embed_faces(rgb, [face])[0]).name


def test_a_new_star_gets_her_distinct_faces_from_a_fancam_and_a_sheet_of_them(
        tmp_path, fancam, astronaut, cameraman, capsys, detector, embedder):
    assert run(tmp_path, "Eileen", fancam) == 0
    out = capsys.readouterr().out
    sheet = tmp_path / "enrolled" / "Eileen-fancam.jpg"
    assert f"faces taken: {sheet}" in out
    with StarGallery(tmp_path / "stars.sqlite") as gallery:
        (star,) = gallery.stars()
        frames = {int(p.rsplit(" ", 1)[1]) for p in _photos(gallery)}
    assert star.name == "Eileen" and star.face_count >= 2  # several looks, not one frame
    assert all(not 20 <= f < 30 for f in frames)  # none from the stranger's shot
    assert len({f // 20 for f in frames}) >= 2  # from more than one of her shots
    tiles = cv2.imread(str(sheet))
    assert tiles.shape[1] == 128 * star.face_count  # the sheet shows each face taken
    assert star_of(tmp_path, astronaut, detector, embedder) == "Eileen"
    assert star_of(tmp_path, cameraman, detector, embedder) is None


def test_an_enrolled_star_gets_the_person_like_her_not_the_one_seen_most(
        tmp_path, astronaut, cameraman, capsys, detector, embedder):
    photo = save_jpeg(astronaut, tmp_path / "eileen.jpg")
    assert run(tmp_path, "Eileen", photo) == 0
    video = write(tmp_path / "mostly-him.mp4",
                  shot(cameraman, CAMERAMAN_FACE, (260, 140, 360, 270), 160, 3.0)
                  + shot(astronaut, ASTRONAUT_FACE, (250, 120, 350, 245), 70, 1.2))
    assert run(tmp_path, "eileen", video) == 0
    assert "most like her enrolled faces" in capsys.readouterr().out
    with StarGallery(tmp_path / "stars.sqlite") as gallery:
        frames = [int(p.rsplit(" ", 1)[1]) for p in _photos(gallery) if "frame" in p]
    assert frames and all(f >= 30 for f in frames)  # all from her shot
    assert star_of(tmp_path, cameraman, detector, embedder) is None


def test_no_person_like_the_enrolled_star_adds_nothing_and_says_so(
        tmp_path, astronaut, cameraman, capsys):
    assert run(tmp_path, "Eileen", save_jpeg(astronaut, tmp_path / "eileen.jpg")) == 0
    video = write(tmp_path / "him.mp4",
                  shot(cameraman, CAMERAMAN_FACE, (260, 140, 360, 270), 160, 2.0))
    assert run(tmp_path, "Eileen", video) == 1
    assert "none of the 1 people in the video looks like Eileen" in capsys.readouterr().err
    with StarGallery(tmp_path / "stars.sqlite") as gallery:
        assert gallery.stars()[0].face_count == 1


def test_two_people_seen_as_often_are_listed_and_the_fan_can_take_the_other(
        tmp_path, astronaut, cameraman, capsys, detector, embedder):
    video = write(tmp_path / "duet.mp4",
                  shot(astronaut, ASTRONAUT_FACE, (250, 120, 350, 245), 70, 2.2)
                  + shot(cameraman, CAMERAMAN_FACE, (260, 140, 360, 270), 160, 2.0))
    assert run(tmp_path, "Eileen", video) == 0
    out = capsys.readouterr().out
    assert "several are seen often" in out
    assert "person 1:" in out and "person 2:" in out and "--person N" in out
    assert "person 3:" not in out  # a face seen once or twice is not worth listing
    assert run(tmp_path, "--person", 9, "Bob", video) == 1
    assert "--person 9: the video shows" in capsys.readouterr().err
    assert run(tmp_path, "--person", 2, "Bob", video) == 0
    assert star_of(tmp_path, cameraman, detector, embedder) == "Bob"
    assert star_of(tmp_path, astronaut, detector, embedder) == "Eileen"


def test_files_that_give_no_faces_are_told_apart(tmp_path, capsys):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video", "utf-8")
    empty_stage = write(tmp_path / "stage.mp4", [np.full((480, 640, 3), 90, np.uint8)] * 20)
    assert run(tmp_path, "Eileen", fake) == 1
    assert "cannot be opened (not a video" in capsys.readouterr().err
    assert run(tmp_path, "Eileen", empty_stage) == 1
    assert "no face was found in the video" in capsys.readouterr().err
    assert not (tmp_path / "stars.sqlite").exists() or not StarGallery(
        tmp_path / "stars.sqlite").stars()


def _photos(gallery) -> list[str]:
    return [row[0] for row in gallery._db.execute("SELECT photo FROM faces")]
