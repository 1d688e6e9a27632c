# Copyright (c) mmscribble contributors. All rights reserved.
"""``image | ground truth | prediction | legend`` panels (the demo's)."""
import os
import os.path as osp
from typing import List, Sequence

import numpy as np

from .drawing import overlay, save_rgb, tile
from .legend import with_legend


def prediction_panel(img_rgb: np.ndarray,
                     gt: np.ndarray,
                     pred: np.ndarray,
                     classes: Sequence[str],
                     palette: Sequence[Sequence[int]],
                     scale: int = 3,
                     alpha: float = 0.5) -> np.ndarray:
    """The image, its ground truth and a prediction over it, side by side
    and enlarged ``scale`` times, with a legend of the classes in either
    label map at the native size to their right.

    Args:
        img_rgb (np.ndarray): ``(H, W, 3)`` uint8 image.
        gt (np.ndarray): ``(H, W)`` class ids; ids ``>= len(classes)``
            (255, unlabeled) are drawn as the image and left out of the
            legend.
        pred (np.ndarray): ``(H, W)`` predicted class ids.
        classes (Sequence[str]): Class names, indexed by id.
        palette (Sequence[Sequence[int]]): RGB triple per id.
        scale (int): Enlargement of the three pictures (nearest).
        alpha (float): Weight of the class colours in the overlays.

    Returns:
        np.ndarray: ``(max(scale * H, legend height), scale * (3 W + 4) +
        2 + legend width, 3)`` uint8; the three pictures (2 px apart) fill
        ``[:scale * H, :scale * (3 W + 4)]``.
    """
    if not img_rgb.shape[:2] == gt.shape == pred.shape:
        raise ValueError(f'image {img_rgb.shape[:2]}, ground truth '
                         f'{gt.shape} and prediction {pred.shape} must be '
                         'equally large')
    pictures = tile([
        img_rgb,
        overlay(img_rgb, gt, palette, alpha),
        overlay(img_rgb, pred, palette, alpha)
    ],
                    scale=scale)
    ids = [i for i in np.union1d(gt, pred) if i < len(classes)]
    return with_legend(pictures, classes, palette, ids)


def write_prediction_panels(model, dataloader, out_dir: str,
                            num: int) -> List[str]:
    """Predict the first ``num`` samples of ``dataloader``'s dataset and
    write ``out_dir/<stem>.png`` :func:`prediction_panel` for each.

    Args:
        model: A segmentor in eval mode (``test_step`` gives
            ``SegDataSample`` with ``gt_sem_seg`` and ``pred_sem_seg``).
        dataloader: Its ``dataset`` (``metainfo`` with classes and
            palette; samples with a BGR ``(3, H, W)`` image) and
            ``collate_fn``.
        out_dir (str): Output folder (created).
        num (int): How many samples at most.

    Returns:
        list[str]: The files written.
    """
    import torch
    dataset = dataloader.dataset
    classes = dataset.metainfo['classes']
    palette = dataset.metainfo['palette']
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for i in range(min(num, len(dataset))):
        batch = dataloader.collate_fn([dataset[i]])
        with torch.no_grad():
            sample = model.test_step(batch)[0]
        img = batch['inputs'][0].numpy().transpose(1, 2, 0)[..., ::-1]
        panel = prediction_panel(
            np.ascontiguousarray(img), sample.gt_sem_seg.data[0].numpy(),
            sample.pred_sem_seg.data[0].numpy(), classes, palette)
        stem = osp.splitext(osp.basename(sample.img_path))[0]
        path = osp.join(out_dir, f'{stem}.png')
        save_rgb(path, panel)
        written.append(path)
    return written
