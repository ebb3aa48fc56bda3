"""Every bad input a fan may give: one plain `kpopcam: ...` line, the right exit status, and
nothing of the fan's lost. The commands run for real on really bad folders and files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kpopcam.cli import main
from tests.conftest import save_jpeg

ROOT = Path(__file__).resolve().parents[1]


def one_plain_line(err: str, *words: str) -> str:
    """The single stderr line kpopcam wrote, after checking it is plain and says `words`."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("kpopcam"), err
    assert "Traceback" not in err and "Errno" not in err, err
    for word in words:
        assert word in lines[0], err
    return lines[0]


def run_kpopcam(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess:
    """`python -m kpopcam ARGS` in a process of its own. unprivileged: as root, without the
    power to read and write past permission bits (setpriv), as a fan's account would be."""
    prefix = []
    if unprivileged and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: permission bits do not apply")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*prefix, sys.executable, "-m", "kpopcam", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def locked_folder(tmp_path):
    """A folder with a file in it, in which no new file can be made, even by root."""
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "mine.txt").write_text("keep me", "utf-8")
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("root, and chattr +i does not work here: every folder is writable")
    else:
        folder.chmod(0o555)
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)
    assert (folder / "mine.txt").read_text("utf-8") == "keep me"
    assert sorted(p.name for p in folder.iterdir()) == ["mine.txt"]  # nothing left behind


@pytest.fixture
def not_sqlite(tmp_path) -> Path:
    path = tmp_path / "stars.sqlite"
    path.write_bytes(b"these are my notes, not a gallery\n" * 40)
    return path


@pytest.fixture
def photo(tmp_path, astronaut) -> str:
    return save_jpeg(astronaut, tmp_path / "eileen.jpg")


# -- folders ------------------------------------------------------------------------------------


def test_captures_in_an_unwritable_folder(locked_folder, capsys):
    assert main(["captures", "--folder", str(locked_folder)]) == 1
    one_plain_line(capsys.readouterr().err, "capture folder", str(locked_folder),
                   "cannot be used")


def test_watch_into_an_unwritable_folder_stops_before_loading_models(locked_folder, photo,
                                                                     tmp_path, capsys):
    args = ["--gallery", str(tmp_path / "s.sqlite"), "watch", "--source", photo]
    assert main([*args, "--out", str(locked_folder)]) == 1
    err = capsys.readouterr().err
    one_plain_line(err, "capture folder", str(locked_folder))
    assert "loading models" not in err


def test_portrait_into_an_unwritable_folder(locked_folder, photo, capsys):
    assert main(["portrait", photo, "--out", str(locked_folder)]) == 2
    one_plain_line(capsys.readouterr().err, "cannot write portraits into", str(locked_folder))


def test_portrait_out_under_a_file(tmp_path, photo, capsys):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine", "utf-8")
    assert main(["portrait", photo, "--out", str(blocker / "out")]) == 2
    one_plain_line(capsys.readouterr().err, "a file is in the way")
    assert blocker.read_text("utf-8") == "mine"


def test_analyze_draw_into_an_unwritable_folder(locked_folder, photo, capsys):
    assert main(["analyze", photo, "--draw", str(locked_folder)]) == 2
    one_plain_line(capsys.readouterr().err, "cannot draw into", str(locked_folder))


def test_analyze_draw_given_a_picture_name_makes_no_folder_of_that_name(tmp_path, photo,
                                                                       capsys):
    target = tmp_path / "drawn.jpg"
    assert main(["analyze", photo, "--draw", str(target)]) == 2
    one_plain_line(capsys.readouterr().err, "--draw names a folder", str(target))
    assert not target.exists()


def test_capture_folder_setting_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "kpopcam"
    blocker.write_text("mine", "utf-8")
    config = tmp_path / "settings.toml"
    config.write_text(f'[capture]\nfolder = "{blocker}"\n', "utf-8")
    assert main(["--config", str(config), "captures"]) == 1
    one_plain_line(capsys.readouterr().err, str(blocker), "it is a file, not a folder")
    assert blocker.read_text("utf-8") == "mine"


def test_captures_export_into_a_file(tmp_path, capsys):
    blocker = tmp_path / "usb"
    blocker.write_text("mine", "utf-8")
    args = ["captures", "--folder", str(tmp_path / "caps"), "export", "--to", str(blocker)]
    assert main(args) == 1
    one_plain_line(capsys.readouterr().err, str(blocker))
    assert blocker.read_text("utf-8") == "mine"


def test_stars_export_into_a_missing_folder_makes_it(tmp_path, capsys):
    target = tmp_path / "usb" / "backup" / "stars.kpopcam"
    assert main(["--gallery", str(tmp_path / "s.sqlite"), "stars", "export", str(target)]) == 0
    assert target.is_file()
    sqlite3.connect(target).execute("SELECT count(*) FROM stars").fetchone()


def test_stars_export_onto_a_folder_or_under_a_file(tmp_path, capsys):
    gallery = ["--gallery", str(tmp_path / "s.sqlite")]
    assert main([*gallery, "stars", "export", str(tmp_path)]) == 1
    one_plain_line(capsys.readouterr().err, "it is a folder")
    blocker = tmp_path / "notes.txt"
    blocker.write_text("mine", "utf-8")
    assert main([*gallery, "stars", "export", str(blocker / "g.kpopcam")]) == 1
    one_plain_line(capsys.readouterr().err, "could not be written", "a file is in the way")
    assert blocker.read_text("utf-8") == "mine"


def test_stars_import_of_a_missing_file(tmp_path, capsys):
    gallery = ["--gallery", str(tmp_path / "s.sqlite")]
    assert main([*gallery, "stars", "import", str(tmp_path / "gone.kpopcam")]) == 1
    one_plain_line(capsys.readouterr().err, "no gallery file")


@pytest.fixture
def unreadable_folder(tmp_path, astronaut):
    folder = tmp_path / "private"
    folder.mkdir()
    save_jpeg(astronaut, folder / "eileen.jpg")
    folder.chmod(0)
    yield folder
    folder.chmod(0o755)
    assert (folder / "eileen.jpg").is_file()


@pytest.mark.parametrize("command", ["analyze", "enroll Eileen", "portrait --out OUT",
                                     "watch --out OUT --source"])
def test_a_source_folder_that_cannot_be_read(unreadable_folder, tmp_path, command):
    words = [w.replace("OUT", str(tmp_path / "out")) for w in command.split()]
    result = run_kpopcam("--gallery", str(tmp_path / "s.sqlite"), *words,
                         str(unreadable_folder), unprivileged=True)
    assert result.returncode in (1, 2)
    one_plain_line(result.stderr, str(unreadable_folder), "cannot be read",
                   "no permission")


# -- a gallery file that is not SQLite ---------------------------------------------------------


@pytest.mark.parametrize("command", [["stars"], ["stars", "rename", "a", "b"],
                                     ["enroll", "Eileen", "PHOTO"],
                                     ["watch", "--source", "PHOTO", "--out", "OUT"],
                                     ["analyze", "PHOTO"]])
def test_a_gallery_file_that_is_not_sqlite(not_sqlite, photo, tmp_path, capsys, command):
    before = not_sqlite.read_bytes()
    words = [{"PHOTO": photo, "OUT": str(tmp_path / "caps")}.get(w, w) for w in command]
    assert main(["--gallery", str(not_sqlite), *words]) == 1
    one_plain_line(capsys.readouterr().err, str(not_sqlite), "not a kpopcam gallery")
    assert not_sqlite.read_bytes() == before


# -- settings and arguments --------------------------------------------------------------------


def test_config_that_does_not_exist(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "setings.toml"), "stars"]) == 2
    one_plain_line(capsys.readouterr().err, "setings.toml does not exist")


def test_a_bad_since_names_the_format(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["captures", "--folder", str(tmp_path), "list", "--since", "28/11/2026"])
    assert stop.value.code == 2
    line = one_plain_line(capsys.readouterr().err, "'28/11/2026' is not a date", "YYYY-MM-DD")
    assert "invalid" not in line


# -- install -----------------------------------------------------------------------------------


def test_python_dash_m_kpopcam():
    result = run_kpopcam("--help")
    assert result.returncode == 0 and "usage: kpopcam" in result.stdout


def test_bench_demo_faces_need_no_scikit_image():
    code = ("import sys; sys.modules['skimage'] = None\n"
            "from kpopcam.live.bench import demo_faces\n"
            "print([f.shape for f in demo_faces()])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert "(300, 260, 3), (290, 250, 3), (300, 260, 3)" in result.stdout


def test_the_installed_package_s_weights_come_before_the_project_s():
    from kpopcam.vision import weights

    package = Path(weights.__file__).resolve().parents[1]
    assert weights.weights_dirs()[-2:] == [package / "weights", ROOT / "weights"]


# -- noise on the terminal ---------------------------------------------------------------------


def test_no_opencv_or_ffmpeg_noise_on_the_terminal(tmp_path):
    """Probing cameras that are not there and opening a video without its index (a download
    cut short) used to print OpenCV's and FFmpeg's own warnings; kpopcam says it in words."""
    from tests.live.conftest import write_video

    video = Path(write_video(tmp_path / "whole.mp4", [(1.0, None, 1)]))
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: data.find(b"moov") - 4])  # no moov atom: FFmpeg's complaint
    code = ("from kpopcam.live.sources import list_cameras, open_source, SourceError\n"
            "print(list_cameras())\n"
            f"try: open_source({str(cut)!r})\n"
            "except SourceError as e: print(e)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}  # kpopcam's own
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**env, "PYTHONPATH": str(ROOT)})
    assert "cannot be opened" in result.stdout
    assert result.stderr == ""


# -- what is drawn and written -----------------------------------------------------------------


def test_analyze_draws_names_in_any_script(tmp_path, astronaut):
    """'Rosé' and '리사' with their own letters, not the boxes of a font that lacks them."""
    from PIL import ImageFont

    from kpopcam.commands.analyze import FaceReport, draw_reports
    from kpopcam.fonts import covers, label_font
    from kpopcam.types import EMOTIONS, Face, StarMatch

    assert not covers(ImageFont.load_default(size=20), "Rosé 리사")  # the font it used to use
    font = label_font("리사: happy 90%", 20)
    assert covers(font, "Rosé 리사")

    def drawn(name: str):
        report = FaceReport(Face((180.0, 200.0, 270.0, 300.0), 0.99),
                            {e: float(e == "happy") for e in EMOTIONS}, StarMatch(name, 0.9))
        return np.asarray(draw_reports(astronaut, [report]))[150:200, 150:400]

    assert not np.array_equal(drawn("리사"), drawn("사리"))  # two glyphs, not two boxes
    assert not np.array_equal(drawn("Rosé"), drawn("Rosè"))


def test_portrait_copies_a_photo_without_a_person_unchanged(tmp_path, astronaut, capsys):
    from skimage import data

    photos = tmp_path / "in"
    photos.mkdir()
    Image.fromarray(data.coffee()).save(photos / "coffee.png")  # a cup, no one in it
    save_jpeg(astronaut, photos / "eileen.jpg")
    assert main(["portrait", str(photos), "--out", str(tmp_path / "out")]) == 0
    assert "1 without a person, copied unchanged" in capsys.readouterr().out
    copied = tmp_path / "out" / "coffee_portrait.png"
    assert copied.read_bytes() == (photos / "coffee.png").read_bytes()
    with Image.open(tmp_path / "out" / "eileen_portrait.jpg") as portrait:
        blurred = np.asarray(portrait.convert("RGB")).astype(int)
    assert np.abs(blurred - astronaut).mean() > 3  # the background of a person is blurred


def test_a_gallery_or_config_that_is_a_folder(tmp_path, capsys):
    assert main(["--gallery", str(tmp_path), "stars"]) == 1
    one_plain_line(capsys.readouterr().err, "is a folder", "--gallery names the file")
    assert main(["--config", str(tmp_path), "stars"]) == 2
    one_plain_line(capsys.readouterr().err, "is a folder")


def test_a_read_only_gallery_is_left_as_it_was(tmp_path, capsys):
    from kpopcam.stars import EnrolledFace, StarGallery

    path = tmp_path / "stars.sqlite"
    with StarGallery(path) as gallery:
        vector = np.random.default_rng(0).normal(size=512).astype(np.float32)
        gallery.add_faces("Eileen", [EnrolledFace(vector / np.linalg.norm(vector), "a.jpg")])
    before = path.read_bytes()
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("root, and chattr +i does not work here")
    else:
        path.chmod(0o444)
    try:
        capsys.readouterr()
        assert main(["--gallery", str(path), "stars", "rename", "Eileen", "Collins"]) == 1
        one_plain_line(capsys.readouterr().err, "could not be changed", "read-only")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert path.read_bytes() == before
