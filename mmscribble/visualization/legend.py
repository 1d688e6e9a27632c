# Copyright (c) mmscribble contributors. All rights reserved.
"""A class legend (colour swatch + class name per row) beside a picture."""
from typing import Optional, Sequence

import cv2
import numpy as np

from .drawing import tile

ROW = 16  # pixels per legend row
SWATCH = 12  # side of a colour swatch
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.4


def legend_panel(classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 ids: Optional[Sequence[int]] = None,
                 height: int = 0) -> np.ndarray:
    """A white ``(H, W, 3)`` RGB panel: one row per class, top down.

    Row ``r`` (class ``ids[r]``) has a ``SWATCH``-pixel square of
    ``palette[id]`` at ``x = 2 .. 2 + SWATCH``, ``y = r * ROW + 2 ..`` and
    the class name to its right, in black.

    Args:
        classes (Sequence[str]): Class names, indexed by id.
        palette (Sequence[Sequence[int]]): RGB triple per id.
        ids (Sequence[int], optional): The ids to list, in this order
            (e.g. those present in a prediction). Default: every class.
        height (int): Least panel height (to match a picture's); the panel
            is taller when the rows need it.

    Returns:
        np.ndarray: ``(max(height, len(ids) * ROW + 4), W, 3)`` uint8.
    """
    ids = list(range(len(classes))) if ids is None else [int(i) for i in ids]
    for i in ids:
        if not 0 <= i < min(len(classes), len(palette)):
            raise ValueError(f'class id {i} has no name or colour '
                             f'({len(classes)} classes, {len(palette)} '
                             'colours)')
    widths = [
        cv2.getTextSize(str(classes[i]), FONT, FONT_SCALE, 1)[0][0]
        for i in ids
    ]
    width = SWATCH + 8 + max(widths, default=0) + 4
    panel = np.full((max(height, len(ids) * ROW + 4), width, 3), 255,
                    np.uint8)
    for row, i in enumerate(ids):
        y = row * ROW + 2
        panel[y:y + SWATCH, 2:2 + SWATCH] = np.asarray(palette[i], np.uint8)
        cv2.putText(panel, str(classes[i]), (SWATCH + 6, y + SWATCH - 2),
                    FONT, FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
    return panel


def with_legend(img_rgb: np.ndarray,
                classes: Sequence[str],
                palette: Sequence[Sequence[int]],
                ids: Optional[Sequence[int]] = None) -> np.ndarray:
    """``img_rgb`` with :func:`legend_panel` to its right (2 px apart).

    Args:
        img_rgb (np.ndarray): ``(H, W, 3)`` uint8 picture.
        classes, palette, ids: As :func:`legend_panel`.

    Returns:
        np.ndarray: ``(max(H, legend height), W + 2 + legend width, 3)``
        uint8; the picture is unchanged at ``[:H, :W]``.
    """
    return tile([
        img_rgb,
        legend_panel(classes, palette, ids, height=img_rgb.shape[0])
    ])
