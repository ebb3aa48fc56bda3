"""Saved portraits on disk: files, index and metadata agree, whatever happens mid-write."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest
from PIL import Image

from kpopcam.captures import CaptureError, CaptureStore, read_facts


@pytest.fixture
def picture(astronaut):
    return astronaut, (astronaut * 0.6).astype(np.uint8)


def test_saved_capture_has_both_files_a_row_and_metadata(tmp_path, picture):
    original, portrait = picture
    with CaptureStore(tmp_path) as store:
        capture = store.save(original, portrait, "리사", "happy", 0.93, "stage.mp4", 42,
                             taken=1_800_000_000.25)
    assert capture.original.name.endswith("_리사_happy.jpg")
    assert capture.portrait.name.endswith("_리사_happy_portrait.jpg")
    with Image.open(capture.portrait) as image:
        assert image.size == (512, 512)
        assert image.getexif()[0x0131] == "kpopcam"
        assert "happy" in image.getexif()[0x010E]
    assert read_facts(capture.original) == {"star": "리사", "emotion": "happy", "score": 0.93,
                                            "taken": 1_800_000_000.25, "source": "stage.mp4",
                                            "frame": 42}
    with CaptureStore(tmp_path) as again:  # survives a restart
        assert [c.id for c in again.list()] == [capture.id]


def test_list_filters_newest_first_and_delete_removes_files(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        a = store.save(*picture, "Lisa", "happy", 0.9, "s", 1, taken=1000.0)
        b = store.save(*picture, "Jennie", "surprise", 0.8, "s", 2, taken=2000.0)
        c = store.save(*picture, "Lisa", "surprise", 0.7, "s", 3, taken=3000.0)
        assert [x.id for x in store.list()] == [c.id, b.id, a.id]
        assert [x.id for x in store.list(star="Lisa")] == [c.id, a.id]
        assert [x.id for x in store.list(star="LISA")] == [c.id, a.id]  # any case
        assert [x.id for x in store.list(emotion="surprise", since=2500)] == [c.id]
        store.delete(a.id)
        assert not a.original.exists() and not a.portrait.exists()
        assert [x.id for x in store.list(star="Lisa")] == [c.id]


def test_names_that_are_unsafe_for_files_still_save(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        capture = store.save(*picture, 'AC/DC: "live"?', "happy", 0.9, "s", 1)
        assert capture.original.parent == tmp_path and capture.original.exists()
        assert store.list()[0].star == 'AC/DC: "live"?'


def test_a_failed_write_leaves_nothing_behind(tmp_path, picture, monkeypatch):
    import kpopcam.files as files  # where every atomic write renames its temporary file

    real_replace, calls = os.replace, []

    def replace_then_fail(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the portrait, after the original is in place
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace_then_fail)
    with CaptureStore(tmp_path) as store, pytest.raises(CaptureError, match="No space"):
        store.save(*picture, "Lisa", "happy", 0.9, "s", 1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".jpg") == []
    assert not list(tmp_path.glob(".*.tmp"))


def test_full_disk_is_a_clear_error_and_leaves_nothing_half_written(tmp_path, picture):
    disk = tmp_path / "tiny"
    disk.mkdir()
    if shutil.which("mount") is None or subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)], capture_output=True
    ).returncode != 0:
        pytest.skip("a small disk cannot be mounted here (needs root)")
    try:
        store = CaptureStore(disk)
        saved, error = 0, None
        for i in range(20):
            try:
                store.save(*picture, "Lisa", "happy", 0.9, "s", i)
                saved += 1
            except CaptureError as exc:
                error = exc
                break
        assert error is not None and saved < 20
        rows = store.list()
        assert len(rows) == saved
        assert all(c.original.exists() and c.portrait.exists() for c in rows)
        jpegs = [p for p in disk.iterdir() if p.suffix == ".jpg"]
        assert len(jpegs) == 2 * saved and not list(disk.glob(".*.tmp"))
        store.close()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


WRITER = textwrap.dedent("""
    import sys, numpy as np
    from kpopcam.captures import CaptureStore
    store = CaptureStore(sys.argv[1])
    big = np.random.default_rng(0).integers(0, 255, (1400, 1400, 3), dtype=np.uint8)
    print("ready", flush=True)
    for i in range(10_000):
        store.save(big, big, "Lisa", "happy", 0.9, "kill-test", i)
""")


def test_index_and_files_agree_after_the_writer_is_killed_mid_write(tmp_path):
    folder = tmp_path / f"caps-{uuid.uuid4().hex[:6]}"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with CaptureStore(folder) as store:
        rows = store.list()
        assert rows, "the writer saved nothing before it was killed"
        for capture in rows:
            assert capture.original.exists() and capture.portrait.exists()
        on_disk = {p.name for p in folder.glob("*.jpg")}
        indexed = {c.original.name for c in rows} | {c.portrait.name for c in rows}
        # a file written just before the kill either has its pair and is indexed, or is alone
        assert len(on_disk - indexed) <= 1
        assert not list(folder.glob(".*.tmp"))


BOX = (181.5, 42.0, 293.5, 190.5)  # about where the astronaut's face is


def test_the_stars_face_box_goes_with_the_capture_into_index_and_metadata(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        capture = store.save(*picture, "Lisa", "happy", 0.9, "s", 7, face_box=BOX)
        assert capture.face_box == BOX
        assert store.get(capture.id).face_box == BOX
    assert read_facts(capture.original)["face_box"] == list(BOX)
    assert read_facts(capture.portrait)["face_box"] == list(BOX)


def test_a_rebuilt_index_reads_the_face_box_back_from_the_images(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        store.save(*picture, "Lisa", "happy", 0.9, "s", 7, face_box=BOX)
    (tmp_path / "captures.sqlite").unlink()
    for extra in tmp_path.glob("captures.sqlite-*"):
        extra.unlink()
    with CaptureStore(tmp_path) as rebuilt:
        [capture] = rebuilt.list()
        assert (capture.frame, capture.face_box) == (7, BOX)


def test_an_index_made_before_face_boxes_opens_and_gains_the_column(tmp_path, picture):
    import sqlite3

    from kpopcam.captures import write_jpeg_atomic

    old_facts = {"star": "Lisa", "emotion": "happy", "score": 0.9, "taken": 1000.0,
                 "source": "s", "frame": 3}
    for name in ("old.jpg", "old_portrait.jpg"):
        write_jpeg_atomic(tmp_path / name, picture[0], old_facts)
    db = sqlite3.connect(tmp_path / "captures.sqlite")
    db.executescript("""
        CREATE TABLE captures (id INTEGER PRIMARY KEY, star TEXT NOT NULL,
            emotion TEXT NOT NULL, score REAL NOT NULL, taken REAL NOT NULL,
            source TEXT NOT NULL, frame INTEGER NOT NULL, original TEXT NOT NULL UNIQUE,
            portrait TEXT NOT NULL UNIQUE);
        INSERT INTO captures(star, emotion, score, taken, source, frame, original, portrait)
            VALUES ('Lisa', 'happy', 0.9, 1000.0, 's', 3, 'old.jpg', 'old_portrait.jpg');
    """)
    db.close()
    with CaptureStore(tmp_path) as store:
        [old] = store.list()
        assert (old.frame, old.face_box) == (3, None)
        new = store.save(*picture, "Lisa", "happy", 0.9, "s", 8, face_box=BOX)
    with CaptureStore(tmp_path) as again:  # migrated once: opening again changes nothing
        assert {c.id: c.face_box for c in again.list()} == {old.id: None, new.id: BOX}


def test_a_capture_folder_pulled_out_is_not_made_again_and_the_fan_is_told(tmp_path, picture):
    folder = tmp_path / "usb" / "kpopcam"
    with CaptureStore(folder) as store:
        kept = store.save(*picture, "Lisa", "happy", 0.9, "s", 1)
        (tmp_path / "usb").rename(tmp_path / "pulled-out")  # the disk is gone
        with pytest.raises(CaptureError, match="gone or was replaced"):
            store.save(*picture, "Lisa", "happy", 0.8, "s", 2)
        assert not folder.exists()
        folder.mkdir(parents=True)  # another folder at the same path is not the fan's
        with pytest.raises(CaptureError, match="gone or was replaced"):
            store.save(*picture, "Lisa", "happy", 0.8, "s", 3)
        assert list(folder.iterdir()) == []
    with CaptureStore(tmp_path / "pulled-out" / "kpopcam") as back:
        assert [c.frame for c in back.list()] == [kept.frame]
