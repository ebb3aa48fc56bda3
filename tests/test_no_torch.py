"""The app's own paths run without torch: a fresh Python in which `import torch` fails
enrols a star from a real photo, recognises her, reads her expression and makes her portrait.

Faces come from the app's own detector (MTCNN in onnxruntime), as in the app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import save_jpeg

ROOT = Path(__file__).resolve().parents[1]
APP_MODULES = ("kpopcam.vision.embedder", "kpopcam.vision.portrait", "kpopcam.vision.emotion",
               "kpopcam.gui.bridge", "kpopcam.commands.portrait", "kpopcam.gui.window_soak",
               "kpopcam.cli", "kpopcam.gui.app", "kpopcam.live.loading", "kpopcam.commands.bench",
               "kpopcam.commands.enroll", "kpopcam.commands.watch", "kpopcam.vision.identity")

SCRIPT = """
import importlib, importlib.abc, json, sys

BLOCKED = {"torch", "torchvision", "facenet_pytorch"}


class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r} (blocked: the app must not need it)")
        return None


sys.meta_path.insert(0, NoTorch())
for module in sys.argv[4:]:
    importlib.import_module(module)

import numpy as np

from kpopcam.enrollment import enroll
from kpopcam.images import read_rgb
from kpopcam.stars import StarGallery
from kpopcam.vision.detector import photo_detector
from kpopcam.vision.emotion import EmotionReader
from kpopcam.vision.identity import make_embedder
from kpopcam.vision.portrait import PersonSegmenter, PortraitMaker
from kpopcam.settings import Settings

star, other, folder = sys.argv[1:4]
detector, embedder = photo_detector(Settings()), make_embedder("casia-webface")
result = {}
with StarGallery(f"{folder}/stars.sqlite", "casia-webface") as gallery:
    result["added"] = len(enroll("Eileen Collins", [star], detector, embedder, gallery).added)
    rgb = read_rgb(star)
    face = detector.detect(rgb, color="rgb")[0]
    result["again"] = gallery.match(embedder.embed_faces(rgb, [face])[0]).name
    rgb = read_rgb(other)
    face = detector.detect(rgb, color="rgb")[0]
    result["other"] = gallery.match(embedder.embed_faces(rgb, [face])[0]).name
rgb = read_rgb(star)
face = detector.detect(rgb, color="rgb")[0]
result["emotion"] = EmotionReader().read(rgb, [face], color="rgb")[0].top
portrait = PortraitMaker(PersonSegmenter.from_weights()).render(rgb, face).astype(int)
change = np.abs(portrait - rgb)
result["background_change"] = float(change[:150, 340:].mean())  # wall and shuttle model
x1, y1, x2, y2 = (int(v) for v in face.box)
result["face_change"] = float(change[y1:y2, x1:x2].mean())
result["torch_modules"] = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
print(json.dumps(result))
"""


def test_enrol_recognise_read_and_portrait_without_torch(tmp_path, astronaut, cameraman):
    star = save_jpeg(astronaut, tmp_path / "eileen.jpg")
    other = save_jpeg(cameraman, tmp_path / "cameraman.jpg")
    env = {**os.environ, "KPOPCAM_CACHE": str(tmp_path / "cache")}  # first use, too
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, star, other, str(tmp_path), *APP_MODULES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch_modules"] == []
    assert result["added"] == 1
    assert result["again"] == "Eileen Collins" and result["other"] is None
    assert result["emotion"] == "happy"
    assert result["background_change"] > 3 * max(result["face_change"], 1.0), result
    assert np.isfinite(result["face_change"])
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "facenet_casia.onnx", "facenet_casia.weights"]


def test_the_hook_does_block_torch(tmp_path):
    """The test above can fail: the same hook makes a torch import fail."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, "x", "x", str(tmp_path), "facenet_pytorch"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0 and "blocked: the app must not need it" in done.stderr


NO_DLIB = """
import importlib.abc, sys


class NoDlib(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {"dlib", "_dlib_pybind11"}:
            raise ImportError(f"No module named {name!r}")
        return None


sys.meta_path.insert(0, NoDlib())
from kpopcam.vision.identity import make_embedder
from kpopcam.vision.weights import WeightsError

try:
    make_embedder("dlib")
except WeightsError as exc:
    print(exc)
"""


def test_dlib_chosen_without_the_extra_says_how_to_install_it():
    done = subprocess.run([sys.executable, "-c", NO_DLIB], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pip install 'kpopcam[dlib]'" in done.stdout
    assert 'identity.weights = "dlib-onnx"' in done.stdout
