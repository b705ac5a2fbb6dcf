"""1D U-Net masker for the adversarial augmentation (method.md, Models).

The reference's masker has ~150 M parameters and stride 5 (input length tied to multiples
of 125). Ours keeps the paper's 4 down / 4 up levels but is small: one conv (+ BN, ReLU) per
level, channel widths w, w, 2w, 2w, 4w with depth, so that its forward and backward cost a
fraction of the encoder's (an adversarial step must stay within 1.6x a SimCLR step, see
benchmarks/step.py). For the same reason it works at half the sampling rate
(`input_pool=2`): the input is average-pooled by 2 and the mask logits linearly
interpolated back; masks vary on the scale of ECG waves (tens of ms), far coarser than that
(the reference's first level already has stride 5). Any input length works: the input is
zero-padded at the end to a multiple of input_pool * 2**depth and the masks cropped back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _ConvBlock(nn.Sequential):
    # one conv per level (not the textbook two): at full resolution the masker's cost is
    # mostly elementwise work, and the adversarial step has to stay cheap
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__(
            nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(inplace=True),
        )


class UNet1d(nn.Module):
    """(B, in_channels, L) -> (B, n_masks, L) masks in [0, 1], for any L >= 1.

    Softmax over the masks when 1 < n_masks < 12 (they partition the signal), sigmoid when
    n_masks is 1 or 12 (12: one independent mask per lead).
    """

    def __init__(
        self,
        in_channels: int = 12,
        n_masks: int = 2,
        width: int = 16,
        depth: int = 4,
        kernel_size: int = 5,
        input_pool: int = 2,
    ):
        super().__init__()
        if n_masks < 1:
            raise ValueError(f"UNet1d: n_masks must be at least 1, got {n_masks}")
        if depth < 1 or width < 1:
            raise ValueError(f"UNet1d: depth and width must be positive, got depth={depth}, width={width}")
        if input_pool < 1:
            raise ValueError(f"UNet1d: input_pool must be at least 1, got {input_pool}")
        if kernel_size % 2 == 0:
            raise ValueError(f"UNet1d: kernel_size must be odd (same-length convolutions), got {kernel_size}")
        self.config = {
            "in_channels": in_channels,
            "n_masks": n_masks,
            "width": width,
            "depth": depth,
            "kernel_size": kernel_size,
            "input_pool": input_pool,
        }
        self.input_pool = input_pool
        self.n_masks = n_masks
        self.depth = depth
        channels = [width * 2 ** (i // 2) for i in range(depth + 1)]
        self.down = nn.ModuleList([_ConvBlock(in_channels, channels[0], kernel_size)])
        for i in range(1, depth + 1):
            self.down.append(_ConvBlock(channels[i - 1], channels[i], kernel_size))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for i in range(depth, 0, -1):
            self.up.append(nn.ConvTranspose1d(channels[i], channels[i - 1], 2, stride=2))
            self.merge.append(_ConvBlock(2 * channels[i - 1], channels[i - 1], kernel_size))
        self.head = nn.Conv1d(channels[0], n_masks, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3:
            raise ValueError(f"UNet1d wants (B, C, L) input, got shape {tuple(x.shape)}")
        length = x.shape[-1]
        multiple = self.input_pool * 2**self.depth
        padded = -(-length // multiple) * multiple
        h = F.pad(x, (0, padded - length)) if padded != length else x
        if self.input_pool > 1:
            h = F.avg_pool1d(h, self.input_pool)
        skips = []
        for i, block in enumerate(self.down):
            if i > 0:
                h = F.max_pool1d(h, 2)
            h = block(h)
            skips.append(h)
        skips.pop()  # the bottleneck is not a skip
        for up, merge in zip(self.up, self.merge):
            h = merge(torch.cat([up(h), skips.pop()], dim=1))
        logits = self.head(h)
        if self.input_pool > 1:
            logits = F.interpolate(logits, scale_factor=self.input_pool, mode="linear", align_corners=False)
        logits = logits[..., :length]
        if 1 < self.n_masks < 12:
            return torch.softmax(logits, dim=1)
        return torch.sigmoid(logits)
