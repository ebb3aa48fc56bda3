"""Captures a fan deletes can be had back until the undo is gone; favourites; watch runs
(sessions), also for an index made by an older kpopcam."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from kpopcam.captures import TRASH_DIR, CaptureStore, encode_jpeg, read_facts


@pytest.fixture
def picture(astronaut):
    return astronaut, (astronaut * 0.6).astype(np.uint8)


def test_trashed_capture_leaves_the_gallery_and_comes_back_on_undo(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        kept = store.save(*picture, "Lisa", "happy", 0.9, "s", 1, taken=1000.0)
        gone = store.save(*picture, "Jennie", "happy", 0.8, "s", 2, taken=2000.0)
        assert store.trash([gone.id]) == [gone.id]
        assert [c.id for c in store.list()] == [kept.id]
        assert store.stars() == ["Lisa"]
        assert not gone.portrait.exists() and (tmp_path / TRASH_DIR / gone.portrait.name).exists()
        [back] = store.restore([gone.id])
        assert back.portrait.exists() and back.original.exists()
        assert [c.id for c in store.list()] == [gone.id, kept.id]
        store.trash([gone.id])
        assert store.purge_trash() == 1
        assert store.restore([gone.id]) == []
        assert not any((tmp_path / TRASH_DIR).iterdir())
    with CaptureStore(tmp_path) as again:  # nothing comes back from the files either
        assert [c.id for c in again.list()] == [kept.id]


def test_trash_a_closed_app_left_is_purged_a_day_later_not_at_once(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        c = store.save(*picture, "Lisa", "happy", 0.9, "s", 1)
        store.trash([c.id])
    with CaptureStore(tmp_path) as store:
        assert [r.id for r in store.restore([c.id])] == [c.id]
        store.trash([c.id])
        store._db.execute("UPDATE captures SET trashed = trashed - 2 * 86400")
    with CaptureStore(tmp_path) as store:
        assert store.restore([c.id]) == []
        assert not (tmp_path / TRASH_DIR / c.portrait.name).exists()


def test_favourites_are_kept_in_the_index_and_filter(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        a = store.save(*picture, "Lisa", "happy", 0.9, "s", 1, taken=1000.0)
        store.save(*picture, "Lisa", "happy", 0.9, "s", 2, taken=2000.0)
        store.set_favourite(a.id, True)
    with CaptureStore(tmp_path) as store:
        assert [c.id for c in store.list(favourites=True)] == [a.id]
        assert store.get(a.id).favourite


def test_a_session_is_stamped_in_the_index_and_the_files(tmp_path, picture):
    with CaptureStore(tmp_path) as store:
        c = store.save(*picture, "Lisa", "happy", 0.9, "s", 1, session="run-1")
    assert read_facts(c.portrait)["session"] == "run-1"
    (tmp_path / "captures.sqlite").unlink()  # the index rebuilt from the files keeps it
    with CaptureStore(tmp_path) as store:
        assert [x.session for x in store.list()] == ["run-1"]


OLD_SCHEMA = """CREATE TABLE captures (id INTEGER PRIMARY KEY, star TEXT NOT NULL,
    emotion TEXT NOT NULL, score REAL NOT NULL, taken REAL NOT NULL, source TEXT NOT NULL,
    frame INTEGER NOT NULL, original TEXT NOT NULL UNIQUE, portrait TEXT NOT NULL UNIQUE)"""


def test_an_old_index_gets_sessions_once_from_source_and_time(tmp_path):
    """An index of kpopcam before face boxes and sessions: two runs on one clip an hour
    apart, one on another clip between them."""
    db = sqlite3.connect(tmp_path / "captures.sqlite")
    db.execute(OLD_SCHEMA)
    rgb = np.full((60, 80, 3), 120, np.uint8)
    for i, (source, taken) in enumerate([("a.mp4", 0), ("a.mp4", 60), ("b.mp4", 100),
                                         ("a.mp4", 3700), ("a.mp4", 3710)]):
        taken += 1_800_000_000
        facts = {"star": "Lisa", "emotion": "happy", "score": 0.9, "taken": taken,
                 "source": source, "frame": i}
        for name in (f"c{i}.jpg", f"c{i}_portrait.jpg"):
            (tmp_path / name).write_bytes(encode_jpeg(rgb, facts))
        db.execute("INSERT INTO captures VALUES (?, 'Lisa', 'happy', 0.9, ?, ?, ?, ?, ?)",
                   (i + 1, taken, source, i, f"c{i}.jpg", f"c{i}_portrait.jpg"))
    db.commit()
    db.close()
    with CaptureStore(tmp_path) as store:
        by_frame = {c.frame: c for c in store.list()}
        assert len(by_frame) == 5
        assert by_frame[0].session == by_frame[1].session
        assert by_frame[3].session == by_frame[4].session != by_frame[0].session
        assert by_frame[2].session not in (by_frame[0].session, by_frame[3].session)
        assert not any(c.favourite for c in by_frame.values())
        store._db.execute("UPDATE captures SET session = 'kept' WHERE id = 1")
    with CaptureStore(tmp_path) as store:  # once: a second open changes nothing
        assert store.get(1).session == "kept"
