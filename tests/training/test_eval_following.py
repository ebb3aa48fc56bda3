"""training.eval_following on a real video of the astronaut: her boxes are on her face."""

from __future__ import annotations

import json

from tests.live.conftest import write_video
from training import eval_following


def test_a_drifting_face_is_boxed_on_the_frames_it_is_drawn_on(tmp_path, astronaut, capsys):
    folder = tmp_path / "clips" / "drift"
    folder.mkdir(parents=True)
    # 2.6 s: the drift starts over (a jump) only after 40 frames
    write_video(folder / "clip.avi", [(2.6, astronaut, 0.6)], fps=15.0, codec="MJPG")
    assert eval_following.main([str(tmp_path / "clips"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    drift = result["clips"]["drift"]
    assert drift["faces"] >= 10 and drift["tracks"] == 1
    assert drift["half_overlapped"] >= 0.9 and drift["median_iou"] >= 0.8
    assert result["all"]["faces"] == drift["faces"]
