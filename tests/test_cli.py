"""The kpopcam command as a fan types it: enrol, list, rename, export, import, bad settings."""

from __future__ import annotations

import numpy as np

from kpopcam.cli import main
from tests.conftest import save_jpeg


def test_enroll_then_manage_stars(tmp_path, astronaut, capsys, embedder):
    photos = tmp_path / "photos"
    photos.mkdir()
    save_jpeg(astronaut, photos / "one.jpg")
    save_jpeg(np.ascontiguousarray(astronaut[:, ::-1]), photos / "two.jpg")
    (photos / "readme.txt").write_text("hi", "utf-8")
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]

    assert main([*gallery, "enroll", "제니", str(photos)]) == 0
    out = capsys.readouterr().out
    assert "readme.txt: not a readable image" in out
    assert "제니: 2 face(s) added, 1 photo(s) skipped" in out

    assert main([*gallery, "stars"]) == 0
    assert capsys.readouterr().out.strip() == "제니\t2 face(s)"

    assert main([*gallery, "stars", "rename", "제니", "Jennie"]) == 0
    assert main([*gallery, "stars", "export", str(tmp_path / "g.kpopcam")]) == 0
    assert main([*gallery, "stars", "remove", "Jennie"]) == 0
    capsys.readouterr()
    assert main([*gallery, "stars"]) == 0
    assert "no stars enrolled yet" in capsys.readouterr().out

    assert main([*gallery, "stars", "import", str(tmp_path / "g.kpopcam")]) == 0
    assert main([*gallery, "stars"]) == 0
    assert capsys.readouterr().out.strip().endswith("Jennie\t2 face(s)")


def test_enroll_with_no_usable_photo_fails_and_says_why(tmp_path, capsys):
    code = main(["--gallery", str(tmp_path / "s.sqlite"), "enroll", "Lisa",
                 str(tmp_path / "missing.jpg")])
    assert code == 1
    assert "missing.jpg: no such file" in capsys.readouterr().out


def test_unknown_star_is_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["--gallery", str(tmp_path / "s.sqlite"), "stars", "remove", "Rosé"]) == 1
    assert "no star called 'Rosé'" in capsys.readouterr().err


def test_bad_settings_file_is_reported_with_key_and_file(tmp_path, capsys):
    config = tmp_path / "settings.toml"
    config.write_text("[detector]\nmin_face_px = 4\n", "utf-8")
    assert main(["--config", str(config), "stars"]) == 2
    err = capsys.readouterr().err
    assert "detector.min_face_px must be at least 12" in err and str(config) in err


def test_analyze_names_the_enrolled_star_and_reads_her_smile(tmp_path, astronaut, capsys):
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    photo = save_jpeg(astronaut, tmp_path / "eileen.jpg")
    assert main([*gallery, "enroll", "Eileen", photo]) == 0
    capsys.readouterr()
    assert main([*gallery, "analyze", photo, "--draw", str(tmp_path / "drawn")]) == 0
    out = capsys.readouterr().out
    assert "1 face(s)" in out and "star Eileen" in out and "emotion happy" in out
    assert list((tmp_path / "drawn").glob("*.jpg"))
