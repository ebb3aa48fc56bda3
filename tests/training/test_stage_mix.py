"""training/stage_mix: the clips cut together as a music show's edit would, with truth that
follows each clip's people onto the mix and every clip's star enrolled under her own name."""

from __future__ import annotations

import json

import cv2

from tests.live.conftest import write_video
from training.moment_scoring import Truth
from training.stage_mix import FPS, main


def clip(root, name, photo, seconds, fps, size, star, region, moment):
    folder = root / name
    (folder / "enrol" / star).mkdir(parents=True)
    (folder / "enrol" / star / "a.jpg").write_bytes(name.encode())
    write_video(folder / "clip.mp4", [(seconds, photo, 0.5)], fps=fps, size=size)
    frames = round(seconds * fps)
    truth = {"frames": frames, "shots": [[0, frames - 1]],
             "people": [{"star": star, "frames": [0, frames - 1], "region": region}],
             "moments": [{"star": star, "emotion": "happy", "frames": moment}]}
    (folder / "truth.json").write_text(json.dumps(truth))


def test_two_clips_are_cut_together_with_their_truth(tmp_path, astronaut):
    # a 640x480 clip at 10 fps (letterboxed to 480x360), a 320x180 one at 20 fps (doubled)
    clip(tmp_path / "clips", "one", astronaut, 6.0, 10.0, (640, 480), "man",
         [100, 100, 300, 300], [10, 29])
    clip(tmp_path / "clips", "two", None, 6.0, 20.0, (320, 180), "man",
         [0, 0, 160, 90], [0, 119])
    assert main([str(tmp_path / "clips"), str(tmp_path / "out"), "--truth-dir",
                 str(tmp_path / "none")]) == 0
    out = tmp_path / "out" / "stage-mix"
    data = json.loads((out / "truth.json").read_text())
    truth = Truth.from_dict(data)

    assert truth.frames == 12 * FPS  # every second of both clips, once
    video = cv2.VideoCapture(str(out / "clip.avi"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == truth.frames
    assert (video.get(cv2.CAP_PROP_FRAME_WIDTH), video.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
        640, 360)
    # the shots cover the mix, alternate between the clips and last 1.5-3 s (the last ones
    # may run on)
    shots = truth.shots
    assert shots[0][0] == 0 and shots[-1][1] == truth.frames - 1
    assert all(b[0] == a[1] + 1 for a, b in zip(shots, shots[1:], strict=False))
    clips = [e["clip"] for e in data["edit"]]
    assert all(a != b for a, b in zip(clips, clips[1:], strict=False))
    # each clip's man is his own star; his region is moved as his picture was
    assert truth.stars == {"one-man", "two-man"}
    one = [p for p in truth.people if p.star == "one-man"]
    assert {p.region for p in one} == {(155.0, 75.0, 305.0, 225.0)}  # x0.75 + 80
    two = [p for p in truth.people if p.star == "two-man"]
    assert {p.region for p in two} == {(0.0, 0.0, 320.0, 180.0)}  # x2
    assert sum(p.last - p.first + 1 for p in truth.people) == truth.frames
    # one's moment (2 s) is kept whole where one shot shows it whole, two's (6 s) once, as
    # its longest part in one shot
    assert {m.star for m in truth.moments} <= {"one-man", "two-man"}
    assert "two-man" in {m.star for m in truth.moments}
    for m in truth.moments:
        assert any(p.star == m.star and p.first <= m.first and m.last <= p.last
                   for p in truth.people)
    assert (out / "enrol" / "one-man" / "a.jpg").read_bytes() == b"one"
    assert (out / "enrol" / "two-man" / "a.jpg").read_bytes() == b"two"


def test_fewer_than_two_clips_is_an_error(tmp_path, astronaut):
    clip(tmp_path / "clips", "one", astronaut, 2.0, 10.0, (640, 480), "man",
         [100, 100, 300, 300], [0, 9])
    assert main([str(tmp_path / "clips"), str(tmp_path / "out")]) == 1


def test_a_dissolve_keeps_both_people_in_the_truth_while_it_lasts(tmp_path, astronaut):
    clip(tmp_path / "clips", "one", astronaut, 4.0, 10.0, (640, 480), "man",
         [100, 100, 300, 300], [0, 9])
    clip(tmp_path / "clips", "two", None, 4.0, 10.0, (640, 360), "man", [0, 0, 160, 90],
         [0, 9])
    assert main([str(tmp_path / "clips"), str(tmp_path / "out"), "--dissolve", "0.4",
                 "--truth-dir", str(tmp_path / "none")]) == 0
    data = json.loads((tmp_path / "out" / "stage-mix-dissolve-0.4s" / "truth.json").read_text())
    truth = Truth.from_dict(data)
    assert data["dissolves"] and all(b - a + 1 == 10 for a, b in data["dissolves"])  # 0.4 s
    for first, last in data["dissolves"]:
        for frame in (first, last):
            assert {p.star for p in truth.people if p.covers(frame)} == {"one-man", "two-man"}
        assert len({p.star for p in truth.people if p.covers(last + 1)}) == 1
    # a shot begins where its dissolve has ended
    assert [s[0] for s in truth.shots[1:]] == [b + 1 for _, b in data["dissolves"]]
