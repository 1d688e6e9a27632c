# Copyright (c) mmscribble contributors. All rights reserved.
"""Palettes of the analysis pictures: class ids and region ids to colours.

Each function returns a list (or array) of RGB triples indexed by id, for
:func:`~mmscribble.visualization.drawing.colorize`. VOC's bit-interleaved
colour map is :func:`mmscribble.datasets.metainfo.bit_palette`.
"""
from typing import List, Sequence

import numpy as np
import torch

from mmscribble.datasets.metainfo import VOC_PALETTE


def wrapped_palette(palette: Sequence[Sequence[int]] = VOC_PALETTE,
                    n: int = 256) -> List[List[int]]:
    """``palette`` repeated to ``n`` entries (id ``i`` takes colour
    ``i % len(palette)``): a dataset with more classes wraps around it."""
    return [list(palette[i % len(palette)]) for i in range(n)]


def hashed_palette(n: int = 256) -> List[List[int]]:
    """Black for id 0, then ``(37 i, 91 i, 151 i) mod 256``: distinct,
    far-apart colours for any id, without a class list."""
    return [[0, 0, 0]] + [[(37 * i) % 256, (91 * i) % 256, (151 * i) % 256]
                          for i in range(1, n)]


def random_colours(label: np.ndarray, seed: int = 0) -> np.ndarray:
    """``(H, W, 3)`` uint8: each id of ``label`` in its own random colour
    (ids are shifted to start at 0; the same seed gives the same colours)."""
    ids = label.astype(np.int64)
    ids = ids - ids.min()
    rng = np.random.default_rng(seed)
    pal = rng.integers(0, 256, (int(ids.max()) + 1, 3), dtype=np.uint8)
    return pal[ids]


def pca_colours(emb: torch.Tensor) -> np.ndarray:
    """``(D, h, w)`` embedding -> ``(h, w, 3)`` uint8: its 3 leading
    principal components, each min-max scaled to ``[0, 255]``."""
    d, h, w = emb.shape
    x = emb.reshape(d, -1).t().double()
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:3].t()
    lo, hi = proj.min(0).values, proj.max(0).values
    proj = (proj - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return (proj.reshape(h, w, 3).numpy() * 255).round().astype(np.uint8)
