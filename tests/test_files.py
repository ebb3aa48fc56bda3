"""Atomic writes: the target is the old file or the whole new one, never half of either."""

from __future__ import annotations

import stat

import pytest

from kpopcam.files import atomic_path, write_text_atomic


def test_a_write_that_fails_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "settings.toml"
    write_text_atomic(target, "old = 1\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("new = 2\n[half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.toml"]


def test_new_files_are_readable_by_other_apps_and_folders_are_made(tmp_path):
    target = tmp_path / "new" / "folder" / "portrait.jpg"
    write_text_atomic(target, "data")
    assert target.read_text() == "data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
