"""Join trained emotion CNNs into the ensemble the app ships.

    python -m training.ensemble_emotion MEMBER.pt [MEMBER.pt ...] --out FILE [--no-flip]

Each MEMBER is an EmotionCNN with its card beside it (train_emotion or average_emotion wrote
it). The ensemble averages the members' probabilities, each also over the mirror image unless
--no-flip. It is scored on val/ and written with a card that keeps each member's own card.
Then `python -m training.export_emotion --weights FILE` makes the int8 ONNX export the app runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from kpopcam.models.emotion_cnn import EmotionEnsemble
from kpopcam.vision.weights import WeightsError, load_model, save_model
from training.fer2013 import DEFAULT_ROOT, load
from training.train_emotion import CHECKPOINTS, as_tensors, evaluate, per_class_recall

# what every member must share with the others (and the ensemble's card keeps)
SHARED = ("input_size", "preprocessing", "classes")
PER_MEMBER = ("arguments", "val_accuracy", "val_per_class_recall", "selected_epoch",
              "weight_average", "training", "sha256")


def join(paths: list[Path], flip: bool) -> tuple[EmotionEnsemble, dict]:
    """The ensemble of the members at `paths` and the start of its card."""
    members = [load_model("emotion", path) for path in paths]
    cards = [card for _, card in members]
    for path, card in zip(paths, cards, strict=True):
        if card["architecture"] != "EmotionCNN":
            raise WeightsError(f"{path} is a {card['architecture']}, not an EmotionCNN")
        if any(card.get(key) != cards[0].get(key) for key in SHARED):
            raise WeightsError(f"{path} differs from {paths[0]} in input size, "
                               "preprocessing or classes")
    ensemble = EmotionEnsemble([card["arguments"] for card in cards], flip=flip)
    for target, (model, _) in zip(ensemble.members, members, strict=True):
        target.load_state_dict(model.state_dict())
    card = {
        "architecture": "EmotionEnsemble",
        "arguments": {"members": [card["arguments"] for card in cards], "flip": flip},
        **{key: cards[0][key] for key in SHARED},
        "training": {
            "data": cards[0].get("training", {}).get("data"),
            "selection": "FER2013 PublicTest (val/): the epochs of each member, the members",
            "seconds_single_thread": sum(training_seconds(c) for c in cards),
            "members": len(cards),
        },
        "members": [{"file": path.name, **{k: c[k] for k in PER_MEMBER if k in c}}
                    for path, c in zip(paths, cards, strict=True)],
    }
    return ensemble.eval(), card


def training_seconds(card: dict) -> int:
    """CPU seconds a member took to train, as its card records them (0 when it does not)."""
    training = card.get("training", {})
    return int(training.get("seconds_single_thread", training.get("seconds", 0)))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("members", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--no-flip", action="store_true", help="do not average over the mirror image")
    p.add_argument("--data", default=str(DEFAULT_ROOT))
    p.add_argument("--no-cache", action="store_true", help="do not cache decoded images")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        ensemble, card = join(args.members, flip=not args.no_flip)
    except WeightsError as exc:
        p.error(str(exc))
    cache = None if args.no_cache else CHECKPOINTS / "cache"
    _, accuracy, confusion = evaluate(ensemble, *as_tensors(load(args.data, "val", cache)))
    card.update(val_accuracy=round(accuracy, 4), val_per_class_recall=per_class_recall(confusion),
                val_confusion=confusion.tolist())
    save_model(ensemble, card, args.out)
    print(f"{len(args.members)} members{'' if args.no_flip else ' with mirror images'}: "
          f"val accuracy {accuracy:.4f}, happy recall {card['val_per_class_recall']['happy']}")
    print(json.dumps({"accuracy": round(accuracy, 4), "out": str(args.out)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
