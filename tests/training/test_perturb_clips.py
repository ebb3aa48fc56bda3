"""training/perturb_clips: a clip copied as harder footage keeps its frames, its frame rate and
truth that still points at the face."""

from __future__ import annotations

import json

import cv2
import pytest

from tests.live.conftest import write_video
from training.perturb_clips import main


@pytest.mark.parametrize("kind, region", [("mirror", [540, 60, 600, 140]),
                                          ("half-size", [20, 30, 50, 70]),
                                          ("dim", [40, 60, 100, 140])])
def test_a_clip_is_copied_with_its_truth_moved_along(tmp_path, astronaut, kind, region):
    clip = tmp_path / "clips" / "one"
    clip.mkdir(parents=True)
    write_video(clip / "clip.mp4", [(1.0, astronaut, 0.6)], fps=10.0)  # 640x480
    truth = {"frames": 10, "shots": [[0, 9]], "moments": [],
             "people": [{"star": "eileen", "frames": [0, 9], "region": [40, 60, 100, 140]}]}
    (clip / "truth.json").write_text(json.dumps(truth))
    (clip / "enrol" / "eileen").mkdir(parents=True)
    (clip / "enrol" / "eileen" / "a.jpg").write_bytes(b"photo")

    assert main([str(tmp_path / "clips"), str(tmp_path / "out"), "--kind", kind,
                 "--truth-dir", str(tmp_path / "none")]) == 0
    out = tmp_path / "out" / kind / "one"
    moved = json.loads((out / "truth.json").read_text())
    assert moved["people"][0]["region"] == region
    assert (out / "enrol" / "eileen" / "a.jpg").read_bytes() == b"photo"
    video = cv2.VideoCapture(str(out / "clip.avi"))
    assert video.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    ok, frame = video.read()
    assert ok and frame.shape[1] == (320 if kind == "half-size" else 640)
