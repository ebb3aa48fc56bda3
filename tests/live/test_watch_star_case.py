"""A fan types a star's name in any case: watch and captures still mean her."""

from __future__ import annotations

from kpopcam.cli import main
from tests.conftest import save_jpeg
from tests.live.conftest import write_video


def test_watch_and_captures_take_the_star_in_any_case(tmp_path, astronaut, capsys):
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "enroll", "Eileen", save_jpeg(astronaut, tmp_path / "a.jpg")]) == 0
    video = write_video(tmp_path / "stage.mp4", [(0.5, None, 1), (3.0, astronaut, 0.6)])
    out = tmp_path / "caps"
    capsys.readouterr()

    assert main([*gallery, "watch", "--source", video, "--star", "EILEEN", "--emotion",
                 "happy", "--out", str(out)]) == 0
    assert "1 portrait(s) saved" in capsys.readouterr().out
    assert main(["captures", "--folder", str(out), "list", "--star", "eileen"]) == 0
    assert "\tEileen\thappy" in capsys.readouterr().out
