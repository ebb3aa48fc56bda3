"""Finds, verifies and loads weight files. The only place that calls torch.load.

The app's models run in onnxruntime; torch is imported only by the functions that read or
write torch weights (training, exports, reference tests), so importing this module needs no
torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from kpopcam.files import atomic_path, write_text_atomic

if TYPE_CHECKING:
    import torch

REQUIRED_CARD_KEYS = ("architecture", "arguments", "sha256")


class WeightsError(RuntimeError):
    """A weight file is missing, corrupt or does not match its model card."""


def weights_dirs() -> list[Path]:
    """Where shipped weights may be, first match wins.

    KPOPCAM_WEIGHTS, the installed package's kpopcam/weights/ (a regular install: setup.py
    copies them there), then the project's weights/ (a source checkout or editable install).
    """
    dirs = []
    if env := os.environ.get("KPOPCAM_WEIGHTS"):
        dirs.append(Path(env))
    package = Path(__file__).resolve().parents[1]
    dirs.append(package / "weights")
    dirs.append(package.parent / "weights")
    return dirs


def find_weights(name: str, suffix: str = ".pt") -> tuple[Path, Path]:
    """(weights, model card) paths of a shipped model such as 'emotion'; suffix: the weight
    file's (.pt, or .onnx for a model shipped only as its export)."""
    for directory in weights_dirs():
        pt, card = directory / f"{name}{suffix}", directory / f"{name}.json"
        if pt.is_file() and card.is_file():
            return pt, card
    searched = ", ".join(str(d) for d in weights_dirs())
    raise WeightsError(
        f"weights for the {name} model not found (looked for {name}{suffix} and {name}.json in "
        f"{searched}). Reinstall kpopcam, or train them with the script in training/, "
        f"or point KPOPCAM_WEIGHTS at a folder that has them."
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_card(card_path: Path) -> dict:
    try:
        card = json.loads(Path(card_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"model card {card_path} cannot be read: {exc}") from exc
    missing = [k for k in REQUIRED_CARD_KEYS if k not in card]
    if missing:
        raise WeightsError(f"model card {card_path} lacks {', '.join(missing)}")
    return card


def verify_file(path: Path, sha256: str | None = None) -> Path:
    """path, after checking that it exists and, when a checksum is given, that it matches."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weight file {path} is missing")
    if sha256 is not None and sha256_of(path) != sha256:
        raise WeightsError(
            f"weight file {path} is corrupt (checksum differs from its model card); "
            "reinstall kpopcam or retrain the model"
        )
    return path


def load_state_dict(path: Path, sha256: str | None = None) -> dict[str, torch.Tensor]:
    """A state dict from disk, checked against its checksum when one is given."""
    return _load_dict(verify_file(path, sha256), "weight file")


def _load_dict(path: Path, what: str) -> dict:
    """torch.load of a dict of tensors, never of arbitrary objects (weights_only)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a bad file
        raise WeightsError(f"{what} {path} cannot be loaded: {exc}") from exc
    if not isinstance(state, dict):
        raise WeightsError(f"{what} {path} holds no state dict")
    return state


def locate(name: str, pt_path: Path | str | None = None) -> tuple[Path, Path]:
    """(state dict, model card) of the shipped model `name`, or of the given weight file."""
    if pt_path is None:
        return find_weights(name)
    pt_path = Path(pt_path)
    return pt_path, pt_path.with_suffix(".json")


def load_model(name: str, pt_path: Path | None = None) -> tuple[torch.nn.Module, dict]:
    """Build the model its card describes, load its weights, return (model in eval mode, card).

    pt_path: a weight file other than the shipped one (its card sits beside it, .json).
    """
    from kpopcam import models

    pt_path, card_path = locate(name, pt_path)
    card = read_card(card_path)
    state = load_state_dict(pt_path, card["sha256"])
    try:
        model = models.build(card["architecture"], card["arguments"])
        model.load_state_dict(state, strict=True)
    except (KeyError, TypeError, RuntimeError) as exc:
        raise WeightsError(
            f"weights {pt_path} do not match the architecture in {card_path}: {exc}"
        ) from exc
    return model.eval(), card


def save_model(model: torch.nn.Module, card: dict, pt_path: Path) -> dict:
    """Write weights and their card (card gets the checksum) atomically; returns the card."""
    import torch

    pt_path = Path(pt_path)
    with atomic_path(pt_path) as tmp:
        torch.save(model.state_dict(), tmp)
        card = {**card, "sha256": sha256_of(tmp)}
    write_card(pt_path.with_suffix(".json"), card)
    return card


def write_card(card_path: Path, card: dict) -> None:
    write_text_atomic(Path(card_path), json.dumps(card, indent=2, ensure_ascii=False) + "\n")


def cache_dir() -> Path:
    """Where weights made on this machine (such as the converted FaceNet) are kept.

    KPOPCAM_CACHE when set (tests point it at a temporary folder), else the user's cache folder.
    """
    if env := os.environ.get("KPOPCAM_CACHE"):
        return Path(env)
    return Path(platformdirs.user_cache_dir("kpopcam"))


def load_checkpoint(path: Path) -> dict:
    """A training checkpoint (model, optimiser and schedule state) written by torch.save."""
    return _load_dict(Path(path), "checkpoint")


DLIB_MODELS_PACKAGE = "face_recognition_models"
DLIB_SHAPE_PREDICTOR = "shape_predictor_5_face_landmarks.dat"
DLIB_RECOGNISER = "dlib_face_recognition_resnet_model_v1.dat"


DLIB_INSTALL = ("pip install 'kpopcam[dlib]' (or: pip install dlib-bin "
                "face-recognition-models==0.3.0), or set identity.weights = \"dlib-onnx\", "
                "the same network shipped with kpopcam")


def dlib_model_paths() -> tuple[Path, Path]:
    """(5-point shape predictor, ResNet face recogniser) .dat files of dlib's face recogniser.

    They ship in the `face-recognition-models` package. It is found without being imported:
    its __init__ imports pkg_resources, which new setuptools no longer has.
    """
    spec = importlib.util.find_spec(DLIB_MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            "dlib-bin's face recogniser (identity.weights = \"dlib\") needs the "
            f"face-recognition-models package, which holds its weights: {DLIB_INSTALL}"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    return verify_file(folder / DLIB_SHAPE_PREDICTOR), verify_file(folder / DLIB_RECOGNISER)
