# Copyright (c) mmscribble contributors. All rights reserved.
"""CDSP's cues for one image (Fig. 5): the weight of the distance entropy
loss and the LoRM affinity of one pixel."""
import numpy as np
import torch

from mmscribble.apis.inference import preprocess_image
from mmscribble.models.layers.lorm import lorm_affinity_dense


def del_weight(ds: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """Per-pixel weight of the prediction entropy in the distance entropy
    loss, ``d_s / N_s + d_c / N_c`` (Eq. 15, 17, 18), max-scaled.

    Args:
        ds (np.ndarray): ``(H, W)`` uint8 ``255 d_s`` map.
        dc (np.ndarray): ``(H, W)`` uint8 ``255 d_c`` map.

    Returns:
        np.ndarray: ``(H, W)`` float64 in ``[0, 1]``; ``N`` counts the
        non-zero pixels of its map (an all-zero map adds nothing).
    """
    w = np.zeros(ds.shape)
    for d in (ds.astype(np.float64) / 255, dc.astype(np.float64) / 255):
        n = np.count_nonzero(d)
        if n:
            w += d / n
    return w / w.max() if w.max() > 0 else w


def lorm_affinity(model, img_bgr: np.ndarray, pixel) -> np.ndarray:
    """The LoRM row ``A'_i`` (Eq. 10-11) of ``pixel``'s feature cell over
    every cell, ``(h, w)`` divided by its maximum.

    Args:
        model: A segmentor whose decode head has a ``lorm``.
        img_bgr (np.ndarray): ``(H, W, 3)`` BGR uint8 image.
        pixel (tuple[int, int]): ``(y, x)`` in the image.
    """
    head = model.decode_head
    if getattr(head, 'lorm', None) is None:
        raise TypeError('the model has no LoRM (decode_head.lorm is None)')
    data = preprocess_image(model, img_bgr)
    with torch.no_grad():
        feat = model.extract_feat(data['inputs'].float())[head.lorm_in_index]
        a = lorm_affinity_dense(head.lorm.query(feat), head.lorm.key(feat))
    h, w = feat.shape[-2:]
    stride = -(-img_bgr.shape[0] // h)
    i = min(pixel[0] // stride, h - 1) * w + min(pixel[1] // stride, w - 1)
    row = a[0, i].view(h, w).cpu().numpy()
    return row / row.max()
