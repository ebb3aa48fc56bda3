"""kpopcam watch and kpopcam captures, as a fan runs them on a video file."""

from __future__ import annotations

from kpopcam.cli import main
from tests.conftest import save_jpeg
from tests.live.conftest import write_video


def test_watch_saves_the_moment_then_captures_lists_exports_deletes(tmp_path, astronaut,
                                                                     capsys):
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "enroll", "아이린", save_jpeg(astronaut, tmp_path / "a.jpg")]) == 0
    video = write_video(tmp_path / "stage.mp4", [(0.5, None, 1), (3.0, astronaut, 0.6)])
    out = tmp_path / "caps"
    capsys.readouterr()

    code = main([*gallery, "watch", "--source", video, "--star", "아이린", "--emotion", "happy",
                 "--out", str(out)])
    assert code == 0
    summary = capsys.readouterr().out
    assert "end of video: 35 frames" in summary and "1 portrait(s) saved" in summary

    assert main(["captures", "--folder", str(out), "list", "--star", "아이린"]) == 0
    line = capsys.readouterr().out.strip()
    capture_id = line.split("\t")[0]
    assert "\t아이린\thappy" in line and line.endswith("_portrait.jpg")

    assert main(["captures", "--folder", str(out), "export", "--to", str(tmp_path / "usb"),
                 "--originals"]) == 0
    assert len(list((tmp_path / "usb").glob("*.jpg"))) == 2

    assert main(["captures", "--folder", str(out), "delete", capture_id]) == 0
    capsys.readouterr()
    assert main(["captures", "--folder", str(out), "list"]) == 0
    assert "no captures" in capsys.readouterr().out
    assert main(["captures", "--folder", str(out), "delete", "99"]) == 1


def test_watch_explains_a_missing_star_and_a_missing_source(tmp_path, capsys):
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "watch", "--source", "camera:0", "--star", "Nobody"]) == 1
    assert "no star called 'Nobody' is enrolled" in capsys.readouterr().err
    assert main([*gallery, "watch", "--source", str(tmp_path / "gone.mp4")]) == 1
    assert "is not a camera" in capsys.readouterr().err


def test_ctrl_c_stops_watch_cleanly_with_a_summary(tmp_path, astronaut):
    import os
    import signal
    import subprocess
    import sys

    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "enroll", "Eileen", save_jpeg(astronaut, tmp_path / "a.jpg")]) == 0
    video = write_video(tmp_path / "long.mp4", [(20.0, astronaut, 0.6)])
    watch = subprocess.Popen(
        [sys.executable, "-m", "kpopcam.cli", *gallery, "watch", "--source", video,
         "--star", "Eileen", "--out", str(tmp_path / "caps")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    for line in watch.stderr:  # wait until it is really watching
        if line.startswith("watching"):
            break
    watch.send_signal(signal.SIGINT)
    out, _ = watch.communicate(timeout=60)
    assert watch.returncode == 0
    assert "stopped:" in out and "portrait(s) saved" in out


def test_watch_a_folder_of_photos_catches_the_star(tmp_path, astronaut, cameraman, capsys):
    """A slide show, one photo a second: each photo stays on screen for its second, long
    enough for her smile to hold, and no photo is skipped."""
    import numpy as np

    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "enroll", "Eileen", save_jpeg(astronaut, tmp_path / "a.jpg")]) == 0
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, rgb in (("1", cameraman), ("2", astronaut), ("3", astronaut[:, ::-1]),
                      ("4", cameraman)):
        save_jpeg(np.ascontiguousarray(rgb), photos / f"{name}.jpg")
    capsys.readouterr()
    code = main([*gallery, "watch", "--source", str(photos), "--star", "Eileen",
                 "--out", str(tmp_path / "caps")])
    assert code == 0
    summary = capsys.readouterr().out
    assert "end of folder: 40 frames" in summary and "1 portrait(s) saved" in summary
