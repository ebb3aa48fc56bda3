"""torch nn.Modules only. `build` makes an architecture by the name a model card gives."""

from __future__ import annotations

import importlib

# name in a model card -> "module:Class" inside kpopcam.models
ARCHITECTURES: dict[str, str] = {
    "EmotionCNN": "emotion_cnn:EmotionCNN",
    "EmotionEnsemble": "emotion_cnn:EmotionEnsemble",
    "ReportMLP": "report_nets:ReportMLP",
    "ReportCNN2": "report_nets:ReportCNN2",
    "ReportCNN3": "report_nets:ReportCNN3",
    "PortraitUNet": "unet:PortraitUNet",
}


def build(name: str, arguments: dict | None = None):
    """Instantiate the architecture a model card names, with the card's arguments."""
    try:
        target = ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(ARCHITECTURES)) or "none"
        raise KeyError(f"unknown architecture {name!r} (known: {known})") from None
    module_name, class_name = target.split(":")
    module = importlib.import_module(f"kpopcam.models.{module_name}")
    return getattr(module, class_name)(**(arguments or {}))
