"""The kpopcam command as a fan types it: enrol, list, rename, export, import, bad settings."""

from __future__ import annotations

import numpy as np

from kpopcam.cli import main
from tests.conftest import save_jpeg
from tests.test_enrol_screen import looks


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


def test_enroll_leaves_out_a_photo_of_another_star_and_says_how_to_keep_it(
        tmp_path, astronaut, cameraman, capsys):
    gallery = ["--gallery", str(tmp_path / "stars.sqlite")]
    assert main([*gallery, "enroll", "Jisoo", *map(str, looks(cameraman, tmp_path, "j"))]) == 0
    lisa = looks(astronaut, tmp_path, "l") + looks(astronaut[8:, 8:], tmp_path, "l2")[:2]
    jisoo = save_jpeg(cameraman[10:, :], tmp_path / "jisoo-too.jpg")
    capsys.readouterr()
    assert main([*gallery, "enroll", "Lisa", *map(str, lisa), jisoo]) == 0
    out = capsys.readouterr().out
    assert "jisoo-too.jpg: looks more like Jisoo" in out
    assert "Lisa: 5 face(s) added, 1 photo(s) skipped" in out
    assert "If it is Lisa, add it alone with --keep-lookalikes" in out

    assert main([*gallery, "enroll", "Lisa", jisoo, "--keep-lookalikes"]) == 0
    assert "Lisa: 1 face(s) added, 0 photo(s) skipped" in capsys.readouterr().out


def test_enroll_without_a_name_fails_at_once(tmp_path, capsys):
    assert main(["--gallery", str(tmp_path / "s.sqlite"), "enroll", "  ",
                 str(tmp_path / "missing.jpg")]) == 2
    assert "a star needs a name" in capsys.readouterr().err
