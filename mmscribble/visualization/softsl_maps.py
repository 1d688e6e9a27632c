# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft self-labeling for one image: the prediction, the soft
pseudo-labels ``y`` after the solver and the neighbourhood weights.

The solver runs at the head's ``solve_scale`` with its ``solver``
settings (or :data:`SOLVERS`' replacement), on the logits upsampled to
the image as in training.
"""
from typing import Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample

from mmscribble.apis.inference import preprocess_image
from mmscribble.models.layers.potts import (FAST_SOLVER, REFERENCE_SOLVER,
                                            GridNeighbourhood)

SOLVERS = dict(fast=FAST_SOLVER, reference=REFERENCE_SOLVER)


def min_neighbour_weight(nb: GridNeighbourhood) -> torch.Tensor:
    """``(h, w)``: per pixel the smallest weight ``w_ij`` to its grid
    neighbours (forward pairs at the pixel and backward pairs at the
    neighbour, borders excluded; 1 where a pixel has no pair)."""
    w = nb.weights[0]
    big = torch.ones_like(w[0])
    low = big.clone()
    for e, (dy, dx) in enumerate(nb.offsets):
        h, wd = w.shape[-2:]
        inside = torch.zeros_like(big, dtype=torch.bool)
        inside[max(0, -dy):min(h, h - dy), max(0, -dx):min(wd, wd - dx)] \
            = True
        low = torch.minimum(low, torch.where(inside, w[e], big))
    return low


@torch.no_grad()
def softsl_maps(model,
                img: np.ndarray,
                scribble: np.ndarray,
                solver: Optional[dict] = None) -> dict:
    """The pictures' data for a BGR image and its ``(H, W)`` scribbles.

    Args:
        model: A segmentor with a soft self-labeling head.
        img (np.ndarray): ``(H, W, 3)`` BGR uint8 image.
        scribble (np.ndarray): ``(H, W)`` class ids, 255 = unlabeled.
        solver (dict, optional): Replaces the head's solver settings.

    Returns:
        dict: ``pred`` ``(H, W)``, ``y`` ``(K, h, w)`` and ``weights``
        ``(h, w)`` or None (numpy), on the solver's grid ``(h, w)``.
    """
    if scribble.shape != img.shape[:2]:
        raise ValueError(f'scribble {scribble.shape} and image '
                         f'{img.shape[:2]} differ in size')
    head = model.decode_head
    data = preprocess_image(model, img)
    x = data['inputs']
    seg_logits = head._call_forward(model.extract_feat(x), x)
    label = torch.from_numpy(scribble.astype(np.int64))[None].to(x.device)
    # The head's own training path, with the label map given directly.
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=label)
    logits, scr, valid, nb = head.self_label_inputs(seg_logits, [sample], x)
    saved = head.solver
    if solver is not None:
        head.solver = dict(solver)
    try:
        y = head.solve(logits, scr, valid, nb)
    finally:
        head.solver = saved
    pred = resize(
        seg_logits,
        size=img.shape[:2],
        mode='bilinear',
        align_corners=head.align_corners).argmax(1)[0]
    weights = None
    if isinstance(nb, GridNeighbourhood):
        weights = min_neighbour_weight(nb).cpu().numpy()
    return dict(pred=pred.cpu().numpy(), y=y[0].cpu().numpy(), weights=weights)


def soft_label_summary(y: np.ndarray, scribble: np.ndarray) -> dict:
    """Per-pixel summaries of soft labels ``y`` for pictures.

    Args:
        y (np.ndarray): ``(K, h, w)`` soft labels (each pixel sums to 1).
        scribble (np.ndarray): ``(H, W)`` scribbles, 255 = unlabeled.

    Returns:
        dict: ``entropy`` (``(h, w)``, divided by ``ln K``), ``maxprob``
        (``(h, w)``, ``max_k y^k`` scaled from ``[1/K, 1]`` to
        ``[0, 1]``) and ``label`` (``(H, W)`` uint8: ``argmax y``
        resized (nearest), scribbles drawn over it).
    """
    k = y.shape[0]
    size = scribble.shape
    ent = -(y * np.log(np.clip(y, 1e-12, 1))).sum(0) / np.log(k)
    maxp = (y.max(0) - 1 / k) / (1 - 1 / k)
    y_label = cv2.resize(
        y.argmax(0).astype(np.uint8), (size[1], size[0]),
        interpolation=cv2.INTER_NEAREST)
    y_label = np.where(scribble != 255, scribble, y_label)
    return dict(entropy=ent, maxprob=maxp, label=y_label)


def predict_and_solve(model,
                      img: np.ndarray,
                      scribble: np.ndarray,
                      solver: Optional[dict] = None):
    """``(argmax sigma, argmax y)`` at the image's size for a BGR image
    (``y`` upsampled bilinearly before its argmax)."""
    res = softsl_maps(model, img, scribble, solver)
    y = torch.from_numpy(res['y'])[None]
    if tuple(y.shape[-2:]) != img.shape[:2]:
        y = F.interpolate(
            y,
            size=img.shape[:2],
            mode='bilinear',
            align_corners=model.decode_head.align_corners)
    return res['pred'], y[0].argmax(0).numpy()
