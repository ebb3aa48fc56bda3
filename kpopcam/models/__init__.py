"""torch nn.Modules only. `build` makes an architecture by the name a model card gives."""

from __future__ import annotations

import importlib

# name in a model card -> "module:Class" inside kpopcam.models
ARCHITECTURES: dict[str, str] = {
    "EmotionCNN": "emotion_cnn:EmotionCNN",
    "EmotionEnsemble": "emotion_cnn:EmotionEnsemble",
    "PortraitUNet": "unet:PortraitUNet",
}


_REGISTERED: dict[str, type] = {}  # architectures that live outside the app (training/)


def register(name: str, architecture: type) -> type:
    """Make an architecture defined elsewhere (training's experiments) buildable by name."""
    _REGISTERED[name] = architecture
    return architecture


def build(name: str, arguments: dict | None = None):
    """Instantiate the architecture a model card names, with the card's arguments."""
    if name in _REGISTERED:
        return _REGISTERED[name](**(arguments or {}))
    try:
        target = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted({*ARCHITECTURES, *_REGISTERED})) or "none"
        raise KeyError(f"unknown architecture {name!r} (known: {known})") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"kpopcam.models.{module_name}")
    return getattr(module, class_name)(**(arguments or {}))
