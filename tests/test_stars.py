"""The star gallery's bookkeeping on a real SQLite file: names, edits, files, matching."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from kpopcam.stars import EnrolledFace, GalleryError, StarGallery


def faces_near(direction: np.ndarray, n: int, rng) -> list[EnrolledFace]:
    vectors = direction + 0.02 * rng.standard_normal((n, 512))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [EnrolledFace(v, f"photo{i}.jpg") for i, v in enumerate(vectors)]


@pytest.fixture
def directions():
    rng = np.random.default_rng(0)
    d = rng.standard_normal((3, 512))
    return d / np.linalg.norm(d, axis=1, keepdims=True), rng


@pytest.fixture
def gallery(tmp_path, directions):
    (lisa, jennie, _), rng = directions
    g = StarGallery(tmp_path / "stars.sqlite", embedder="casia-webface", threshold=0.5)
    g.add_faces("리사", faces_near(lisa, 4, rng))
    g.add_faces("Jennie 🐰", faces_near(jennie, 3, rng))
    yield g
    g.close()


def test_match_names_the_closest_star_and_rejects_strangers(gallery, directions):
    (lisa, jennie, stranger), _ = directions
    assert gallery.match(lisa).name == "리사"
    assert gallery.match(jennie).name == "Jennie 🐰"
    unknown = gallery.match(stranger)
    assert unknown.name is None and not unknown.known


def test_a_face_between_two_stars_is_named_only_with_a_clear_lead(tmp_path, directions):
    """Half-way between two look-alike stars, a face is unknown at a margin of 0.1; a face
    closer to one of them by more than that is still named."""
    (lisa, jennie, _), rng = directions
    path = tmp_path / "margin.sqlite"
    with StarGallery(path, threshold=0.5, margin=0.1) as g:
        g.add_faces("Lisa", faces_near(lisa, 3, rng))
        g.add_faces("Jennie", faces_near(jennie, 3, rng))
        between = lisa + jennie
        assert g.similarities(between)["Lisa"] > 0.5  # over the threshold for both
        assert g.match(between).name is None
        assert g.match(lisa + 0.5 * jennie).name == "Lisa"
    with StarGallery(path, threshold=0.5, margin=0.0) as g:
        assert g.match(between).name in ("Lisa", "Jennie")


def test_hangul_typed_decomposed_is_the_same_star(gallery, directions):
    (lisa, _, _), rng = directions
    decomposed = unicodedata.normalize("NFD", "리사")
    assert decomposed != "리사"
    gallery.add_faces(decomposed, faces_near(lisa, 1, rng))
    assert {s.name: s.face_count for s in gallery.stars()}["리사"] == 5


def test_rename_and_remove(gallery, directions):
    (lisa, _, _), _ = directions
    gallery.rename("리사", "Lisa")
    assert gallery.match(lisa).name == "Lisa"
    with pytest.raises(GalleryError, match="already a star"):
        gallery.rename("Lisa", "Jennie 🐰")
    gallery.remove("Lisa")
    assert [s.name for s in gallery.stars()] == ["Jennie 🐰"]
    assert gallery.match(lisa).name is None
    with pytest.raises(GalleryError, match="no star called"):
        gallery.remove("Lisa")


def test_empty_gallery_knows_nobody(tmp_path, directions):
    (lisa, _, _), _ = directions
    with StarGallery(tmp_path / "empty.sqlite") as g:
        assert g.match(lisa).name is None
    with pytest.raises(GalleryError, match="needs a name"):
        StarGallery(tmp_path / "x.sqlite").add_faces("  ", [])


def test_export_then_import_into_another_gallery(gallery, tmp_path, directions):
    (lisa, _, _), _ = directions
    exported = tmp_path / "share" / "blackpink.kpopcam"
    exported.parent.mkdir()
    gallery.export(exported)
    with StarGallery(tmp_path / "friend.sqlite", embedder="casia-webface") as friend:
        assert friend.import_from(exported) == 7
        assert friend.match(lisa).name == "리사"


def test_embeddings_of_another_model_are_refused(gallery, tmp_path):
    gallery.export(tmp_path / "casia.kpopcam")
    with pytest.raises(GalleryError, match="casia-webface"):
        StarGallery(gallery.path, embedder="vggface2")
    with StarGallery(tmp_path / "vgg.sqlite", embedder="vggface2") as other, pytest.raises(
        GalleryError, match="cannot be compared"
    ):
        other.import_from(tmp_path / "casia.kpopcam")


def test_a_file_that_is_not_a_gallery_is_refused(gallery, tmp_path):
    junk = tmp_path / "junk.kpopcam"
    junk.write_text("hello", "utf-8")
    with pytest.raises(GalleryError, match="not a kpopcam gallery"):
        gallery.import_from(junk)


def test_names_match_without_regard_to_case(gallery, directions):
    (lisa, _, _), rng = directions
    gallery.rename("리사", "Lisa")
    gallery.add_faces("LISA", faces_near(lisa, 2, rng))
    assert {s.name: s.face_count for s in gallery.stars()} == {"Lisa": 6, "Jennie 🐰": 3}
    assert gallery.find("lisa") == "Lisa" and gallery.find("jennie 🐰") == "Jennie 🐰"
    assert gallery.find("Rosé") is None
    assert len(gallery.embeddings("lIsA")) == 6
    gallery.rename("lisa", "lisa")  # a change of case is the same star, not a clash
    assert gallery.find("LISA") == "lisa"
    with pytest.raises(GalleryError, match="already a star called 'Jennie 🐰'"):
        gallery.rename("lisa", "JENNIE 🐰")
    gallery.remove("JENNIE 🐰")
    assert [s.name for s in gallery.stars()] == ["lisa"]


def test_importing_the_same_file_twice_adds_its_faces_once(gallery, tmp_path):
    exported = tmp_path / "blackpink.kpopcam"
    gallery.export(exported)
    assert gallery.import_from(exported) == 0
    with StarGallery(tmp_path / "friend.sqlite", embedder="casia-webface") as friend:
        assert friend.import_from(exported) == 7
        assert friend.import_from(exported) == 0
        assert sum(s.face_count for s in friend.stars()) == 7


def test_embeddings_of_two_sizes_never_share_a_gallery(gallery, directions):
    with pytest.raises(GalleryError, match="128 and 512"):
        gallery.add_faces("Rosé", [EnrolledFace(np.ones(128, np.float32), "rose.jpg")])
    assert "Rosé" not in {s.name for s in gallery.stars()}


def old_gallery_file(path, vector):
    """A gallery as kpopcam wrote it before faces kept crops."""
    import sqlite3

    from kpopcam.stars import SCHEMA

    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute("INSERT INTO meta VALUES ('embedder', 'casia-webface')")
    db.execute("INSERT INTO stars(id, name, created) VALUES (1, 'Lisa', 0)")
    db.execute("INSERT INTO faces(star_id, embedding, photo, added) VALUES (1, ?, 'a.jpg', 0)",
               (np.asarray(vector, "<f4").tobytes(),))
    db.commit()
    db.close()
    return path


def test_a_gallery_from_before_crops_opens_and_imports(tmp_path, directions):
    (lisa, _, _), _ = directions
    old = old_gallery_file(tmp_path / "old.sqlite", lisa)
    old_copy = old_gallery_file(tmp_path / "old_copy.kpopcam", lisa)
    with StarGallery(old, embedder="casia-webface", threshold=0.5) as g:
        assert g.match(lisa).name == "Lisa"
        assert g.import_from(old_copy) == 0  # the same face
    with StarGallery(tmp_path / "new.sqlite", embedder="casia-webface", threshold=0.5) as g:
        assert g.import_from(old_copy) == 1
        assert g.match(lisa).name == "Lisa"
