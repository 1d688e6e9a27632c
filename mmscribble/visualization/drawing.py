# Copyright (c) mmscribble contributors. All rights reserved.
"""Drawing helpers shared by the demo and the analysis tools: label maps in
a palette, overlays, side-by-side panels, JET heat maps."""
from typing import Sequence

import cv2
import numpy as np


def colorize(label: np.ndarray,
             palette: Sequence[Sequence[int]],
             ignore_index: int = 255) -> np.ndarray:
    """Map a (H, W) label to an RGB image; ``ignore_index`` is black."""
    pal = np.zeros((256, 3), np.uint8)
    pal[:len(palette)] = np.asarray(palette, np.uint8)
    out = pal[label.astype(np.int64).clip(0, 255)]
    out[label == ignore_index] = 0
    return out


def overlay(img_rgb: np.ndarray,
            label: np.ndarray,
            palette: Sequence[Sequence[int]],
            alpha: float = 0.5,
            ignore_index: int = 255) -> np.ndarray:
    """Blend a label map over an RGB image; unlabeled pixels stay as is."""
    color = colorize(label, palette, ignore_index)
    mask = (label != ignore_index)[..., None]
    blend = (img_rgb * (1 - alpha) + color * alpha).astype(np.uint8)
    return np.where(mask, blend, img_rgb)


def tile(images: Sequence[np.ndarray], scale: int = 1) -> np.ndarray:
    """Concatenate equally tall RGB images horizontally, 2 px apart."""
    h = max(i.shape[0] for i in images)
    gap = np.full((h, 2, 3), 255, np.uint8)
    parts = []
    for i in images:
        pad = np.zeros((h, i.shape[1], 3), np.uint8)
        pad[:i.shape[0]] = i
        parts += [pad, gap]
    out = np.concatenate(parts[:-1], 1)
    if scale != 1:
        out = cv2.resize(
            out, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return out


def save_rgb(path: str, img_rgb: np.ndarray) -> None:
    """Write an RGB uint8 image; raise ``OSError`` when it cannot."""
    if not cv2.imwrite(path, img_rgb[..., ::-1]):
        raise OSError(f'cannot write {path}')


def jet(values: np.ndarray, size=None, normalize: bool = False) -> np.ndarray:
    """Draw a 2-D map with the JET colour map, as BGR uint8 ``(H, W, 3)``.

    Args:
        values (np.ndarray): ``(h, w)`` map, in ``[0, 1]`` unless
            ``normalize``.
        size (tuple[int, int], optional): output ``(H, W)`` (bilinear);
            default: the map's own size.
        normalize (bool): min-max scale first; a constant map is drawn as 0.
    """
    values = values.astype(np.float64)
    if normalize:
        span = values.max() - values.min()
        values = (values - values.min()) / span if span > 0 else \
            np.zeros_like(values)
    gray = np.round(np.clip(values, 0, 1) * 255).astype(np.uint8)
    if size is not None and gray.shape != tuple(size):
        gray = cv2.resize(
            gray, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.applyColorMap(gray, cv2.COLORMAP_JET)


def load_image(path: str, long_side: int) -> np.ndarray:
    """Decode a BGR image and resize it to ``long_side`` (0: keep)."""
    import mmcv
    img = mmcv.imread(path)
    if img is None:
        raise ValueError(f'cannot decode image {path}')
    if long_side:
        img = mmcv.imrescale(img, (long_side, long_side))
    return img
