"""Stochastic weight averaging: the mean of the weights after each of a run's last epochs.

The average of weights taken late in a run sits nearer the middle of the flat region the
optimiser wanders around, which usually generalises better than any single epoch (Izmailov
et al. 2018). Batch-norm statistics do not average: they are measured again afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

from kpopcam.vision.weights import load_checkpoint


def save_epoch_weights(model: nn.Module, folder: Path, epoch: int) -> Path:
    """The weights after `epoch` (1-based) as folder/epoch_NNN.pt, the files averaged later."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"epoch_{epoch:03d}.pt"
    torch.save(model.state_dict(), path)
    return path


def averaged_state(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Mean state dict of weight files (plain state dicts or checkpoints with a "model")."""
    states = []
    for path in paths:
        state = load_checkpoint(path)
        states.append(state.get("model", state))
    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = sum(s[key] for s in states) / len(states)
        else:
            out[key] = first.clone()  # counters such as num_batches_tracked
    return out


def recalibrate_batch_norm(model: nn.Module, batches: Iterable[torch.Tensor]) -> None:
    """Running means and variances measured anew over the batches, as a plain average."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over all batches
    model.train()
    with torch.inference_mode():
        for x in batches:
            model(x)
    model.eval()
