"""The seed report's networks, rebuilt for its experiment grid (training/report_grid.py).

All take grey faces (in_channels 1) or grey + Canny edges (2) of side `side` (32 or 48).
They serve training only, so they live here, registered with kpopcam.models.build by name.
"""

from __future__ import annotations

import torch
from torch import nn

from kpopcam.models import register


class ReportMLP(nn.Module):
    """Two hidden layers (e.g. 16/64 or 32/128 units) with ReLU and dropout."""

    def __init__(self, side: int = 32, hidden: tuple[int, int] | list[int] = (16, 64),
                 dropout: float = 0.0, in_channels: int = 1, classes: int = 7):
        super().__init__()
        first, second = hidden
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * side * side, first), nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(first, second), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(second, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class ReportCNN2(nn.Module):
    """2 conv (batch-norm) + 2 max-pool layers, then a hidden dense layer."""

    def __init__(self, side: int = 32, widths: tuple[int, int] | list[int] = (16, 32),
                 hidden: int = 64, dropout: float = 0.3, in_channels: int = 1,
                 classes: int = 7):
        super().__init__()
        a, b = widths
        self.features = nn.Sequential(
            _conv(in_channels, a), nn.MaxPool2d(2), _conv(a, b), nn.MaxPool2d(2)
        )
        self.head = _head(b * (side // 4) ** 2, hidden, dropout, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ReportCNN3(nn.Module):
    """3 conv (batch-norm) + 3 max-pool layers; `residual` adds the first conv's output,
    pooled 4x and projected by a 1x1 conv, to the third conv's output (before its pool)."""

    def __init__(self, side: int = 32, widths: tuple[int, int, int] | list[int] = (16, 32, 64),
                 hidden: int = 64, dropout: float = 0.3, residual: bool = False,
                 in_channels: int = 1, classes: int = 7):
        super().__init__()
        a, b, c = widths
        self.conv1, self.conv2, self.conv3 = _conv(in_channels, a), _conv(a, b), _conv(b, c)
        self.pool = nn.MaxPool2d(2)
        self.skip = (
            nn.Sequential(nn.AvgPool2d(4), nn.Conv2d(a, c, 1, bias=False), nn.BatchNorm2d(c))
            if residual else None
        )
        self.head = _head(c * (side // 8) ** 2, hidden, dropout, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.conv1(x)
        third = self.conv3(self.pool(self.conv2(self.pool(first))))
        if self.skip is not None:
            third = third + self.skip(first)
        return self.head(self.pool(third))


def _head(features: int, hidden: int, dropout: float, classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(features, hidden), nn.ReLU(inplace=True),
        nn.Dropout(dropout), nn.Linear(hidden, classes),
    )


for _architecture in (ReportMLP, ReportCNN2, ReportCNN3):
    register(_architecture.__name__, _architecture)
