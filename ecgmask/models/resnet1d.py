"""1D ResNet-18 encoder for 12-lead ECGs (method.md, Models)."""

from __future__ import annotations

import torch
from torch import nn


class BasicBlock1d(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv1d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm1d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet1d18(nn.Module):
    """Stem conv(k7, s2) + maxpool, 4 stages of 2 BasicBlocks (widths w, 2w, 4w, 8w; strides
    1, 2, 2, 2), global average pool, then Linear(8w, 8w) as the reference does.

    `width=64` is the paper's network (~4.1 M parameters, 512-d representation); the laptop
    profile uses a narrower one. `blocks` sets the blocks per stage (2, 2, 2, 2 for -18).
    """

    def __init__(self, in_leads: int = 12, width: int = 64, blocks: tuple[int, ...] = (2, 2, 2, 2)):
        super().__init__()
        self.config = {"in_leads": in_leads, "width": width, "blocks": tuple(blocks)}
        self.stem = nn.Sequential(
            nn.Conv1d(in_leads, width, 7, 2, 3, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, 2, 1),
        )
        stages = []
        channels = width
        for i, n in enumerate(blocks):
            out = width * 2**i
            layers = [BasicBlock1d(channels, out, 1 if i == 0 else 2)]
            layers += [BasicBlock1d(out, out) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layers))
            channels = out
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(channels, channels)
        self.out_dim = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stages(self.stem(x))
        return self.fc(self.pool(h).flatten(1))
