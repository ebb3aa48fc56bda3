"""The clip scorer on a clip folder made here: a real-photo video with a hard cut from the
star (smiling) to another man, its truth.json and enrolment photos."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kpopcam.settings import Settings
from tests.conftest import save_jpeg
from tests.live.conftest import write_video
from training.eval_moments import enrol_stars, find_clips, load_models, main, run_clip, score_runs
from training.moment_scoring import SavedCapture, SeenFace, Truth, score_captures, score_frame

STAR, OTHER = "Eileen", "Cameraman"
FPS = 10  # frames 0-19: the astronaut, a hard cut, frames 20-39: the cameraman
TRUTH = {
    "frames": 40,
    "shots": [[0, 19], [20, 39]],
    "people": [{"star": STAR, "frames": [0, 19], "region": [120, 60, 460, 380]},
               {"star": None, "frames": [20, 39], "region": [100, 20, 560, 300]}],
    "absent": [{"star": STAR, "frames": [20, 39]}],
    "moments": [{"star": STAR, "emotion": "happy", "frames": [3, 19]}],
}


@pytest.fixture(scope="module")
def clips_dir(tmp_path_factory, astronaut, cameraman):
    """clips/cut/clip.mp4 with no truth of its own; truth/cut/ holds truth.json and enrol/:
    the star, and the cameraman under a name of his own, so that the engine names him; the
    truth calls him a stranger (null)."""
    root = tmp_path_factory.mktemp("eval_moments")
    clip = root / "clips" / "cut"
    clip.mkdir(parents=True)
    write_video(clip / "clip.mp4", [(2.0, astronaut, 0.6), (2.0, cameraman, 0.8, 100)],
                fps=FPS)
    (root / "clips" / "no-truth").mkdir()
    (root / "clips" / "no-truth" / "clip.mp4").write_bytes((clip / "clip.mp4").read_bytes())
    truth = root / "truth" / "cut"
    for name, photo in ((STAR, astronaut), (OTHER, cameraman)):
        (truth / "enrol" / name).mkdir(parents=True)
        save_jpeg(photo, truth / "enrol" / name / "1.jpg")
    (truth / "truth.json").write_text(json.dumps(TRUTH))
    return root


@pytest.fixture(scope="module")
def recorded(clips_dir):
    """One run of the engine over the clip, kept for scoring under several truths."""
    [clip], _ = find_clips(clips_dir / "clips", clips_dir / "truth")
    models, detector = load_models()
    settings = Settings().updated({"live": {"background_detection": False,
                                             "background_recognition": False, "detect_every": 1},
                                   "trigger": {"star": STAR},
                                   "capture": {"folder": str(clips_dir / "caps")}})
    gallery = enrol_stars(clip, settings, detector, models.embedder, clips_dir / "stars.sqlite")
    run = run_clip(clip, settings, dataclasses.replace(models, gallery=gallery))
    gallery.close()
    return clip, run


def test_folders_without_truth_are_skipped_and_the_overlay_gives_truth_and_enrolment(
        clips_dir):
    clips, skipped = find_clips(clips_dir / "clips", clips_dir / "truth")
    assert [c.name for c in clips] == ["cut"]
    assert clips[0].enrol == clips_dir / "truth" / "cut" / "enrol"
    assert clips[0].video == clips_dir / "clips" / "cut" / "clip.mp4"
    assert skipped == ["no-truth: skipped, no truth.json"]


def test_the_star_is_named_and_the_stranger_after_the_cut_counts_as_named(recorded):
    clip, run = recorded
    assert sorted(run.frames) == list(range(40))  # every frame analysed
    score = score_runs(clip, [run])
    assert score.star_faces == 20 and score.strangers == 20
    assert score.star_named_right >= 18, score
    assert score.star_named_wrong == 0, score
    # the engine calls the cameraman by his enrolled name: for this truth he is a stranger
    assert score.strangers_named >= 15, score
    assert score.moments == 1 and score.caught == 1, score
    assert score.captures >= 1 and score.wrong_captures == 0, score
    assert all(c.face_box is not None for c in run.captures)


def test_a_name_given_where_that_star_is_not_is_a_wrong_name(recorded):
    """The same run, with the second shot's man left out of the truth: his name is wrong."""
    clip, run = recorded
    truth = dict(TRUTH, people=TRUTH["people"][:1])
    other = dataclasses.replace(clip, truth=Truth.from_dict(truth))
    score = score_runs(other, [run])
    assert score.strangers == score.strangers_named == 0
    assert score.star_named_wrong >= 15, score


def test_the_json_line_is_last_and_the_run_is_repeatable(clips_dir, recorded, capsys):
    assert main([str(clips_dir / "clips"), "--truth-dir", str(clips_dir / "truth"),
                 "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "no-truth: skipped, no truth.json"
    totals = json.loads(lines[-1])
    assert list(totals) == ["clips", "star_faces", "star_named_right", "star_named_wrong",
                            "strangers", "strangers_named", "captures", "wrong_captures",
                            "moments", "caught"]
    clip, run = recorded
    assert totals == score_runs(clip, [run]).as_dict()  # every frame, inline detection: the same


# -- the rules on hand-made faces ---------------------------------------------------------------

RULES = Truth.from_dict({
    "frames": 10,
    "people": [{"star": "A", "frames": [0, 9], "region": [0, 0, 100, 100]},
               {"star": "B", "frames": [0, 4], "region": [200, 0, 300, 100]},
               {"star": None, "frames": [0, 9], "region": [400, 0, 500, 100]}],
    "absent": [{"star": "B", "frames": [5, 9]}],
    "moments": [{"star": "A", "emotion": "happy", "frames": [2, 4]}],
})


@pytest.mark.parametrize(("frame", "faces", "expected"), [
    (0, [SeenFace((50, 50), "A"), SeenFace((250, 50), "B")], (2, 2, 0, 1, 0)),
    (0, [SeenFace((50, 50), "B"), SeenFace((250, 50), None)], (2, 0, 1, 1, 0)),
    (7, [SeenFace((250, 50), "B")], (1, 0, 1, 1, 0)),  # B is absent: wrong
    (7, [SeenFace((450, 50), "A")], (1, 0, 0, 1, 1)),  # a stranger named: counted once
    (7, [SeenFace((600, 50), "A"), SeenFace((50, 50), None)], (1, 0, 1, 1, 0)),
])
def test_naming_rules(frame, faces, expected):
    s = score_frame(RULES, frame, faces)
    assert (s.star_faces, s.star_named_right, s.star_named_wrong, s.strangers,
            s.strangers_named) == expected


def test_capture_rules():
    captures = [SavedCapture("A", "happy", 6, (40, 40, 60, 60)),  # right, after the moment
                SavedCapture("A", "happy", 3, (440, 40, 460, 60)),  # the stranger's face
                SavedCapture("B", "happy", 7, None)]  # B is absent
    s = score_captures(RULES, captures, slack=1)
    assert (s.captures, s.wrong_captures, s.moments, s.caught) == (3, 2, 1, 0)
    s = score_captures(RULES, captures, slack=2)
    assert s.caught == 1
