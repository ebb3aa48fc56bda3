"""A small U-Net for person segmentation on a laptop CPU.

The first layer halves the resolution and the decoder stops at half resolution: the
full-resolution edge is recovered later by an edge-aware upsampling guided by the image
(kpopcam.vision.portrait), which is much cheaper than convolving at full size. Deeper
levels use depthwise-separable convolutions to keep the cost per pixel low.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def _separable(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class ConvBlock(nn.Module):
    """Two 3x3 convolutions (plain or depthwise-separable) with a residual path."""

    def __init__(self, cin: int, cout: int, separable: bool):
        super().__init__()
        make = _separable if separable else _conv_bn_relu
        self.body = nn.Sequential(make(cin, cout), make(cout, cout))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.skip(x)


class PortraitUNet(nn.Module):
    """Image (N,C,H,W), H and W divisible by 2**len(widths) -> person logits (N,1,H,W).

    in_channels: 3 (RGB) or 4 (RGB and the person prior drawn from face boxes,
    kpopcam.vision.person_prior). widths: channels per level, the first at half the input
    resolution; each further level halves the resolution again. Levels from `separable_from`
    on are separable.
    """

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64, 96, 128),
        separable_from: int = 1,
        in_channels: int = 3,
    ):
        super().__init__()
        widths = tuple(widths)
        self.in_channels = in_channels
        self.stem = _conv_bn_relu(in_channels, widths[0], stride=2)
        self.down = nn.ModuleList()
        for i, w in enumerate(widths):
            cin = widths[0] if i == 0 else widths[i - 1]
            self.down.append(ConvBlock(cin, w, separable=i >= separable_from))
        self.up = nn.ModuleList()
        for i in range(len(widths) - 1, 0, -1):
            self.up.append(
                ConvBlock(
                    widths[i] + widths[i - 1], widths[i - 1], separable=i - 1 >= separable_from
                )
            )
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.stem(x)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)
