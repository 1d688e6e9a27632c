# Copyright (c) mmscribble contributors. All rights reserved.
"""Are soft self-labeling's pseudo-labels better than the network they teach?

Scores ``argmax y`` (the solver's pseudo-labels) and ``argmax sigma`` (the
network's prediction) against dense ground truth on a folder of images,
pooled over the images, and counts the pixels where they differ. Without
scribbles the solver sees every pixel unlabeled; with them, the scribbles
pin ``y`` as in training.
"""
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch

from mmscribble.apis.inference import load_segmentor
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads.soft_self_labeling_head import \
    SoftSelfLabelingMixin
from mmscribble.visualization.drawing import load_image
from mmscribble.visualization.softsl_maps import SOLVERS, predict_and_solve
from .confusion import class_scores, confusion_matrix

IMG_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')


def list_pairs(img_dir: str,
               gt_dir: str,
               scribble_dir: Optional[str] = None) -> list:
    """``(stem, image, ground truth, scribble or None)`` of every image of
    ``img_dir``, sorted; a missing folder or label file is an error that
    names it."""
    for name, folder in (('img_dir', img_dir), ('gt_dir', gt_dir),
                         ('--scribble-dir', scribble_dir)):
        if folder is not None and not osp.isdir(folder):
            raise FileNotFoundError(f'{name} {folder!r} is not a folder')
    pairs = []
    for fname in sorted(os.listdir(img_dir)):
        stem, ext = osp.splitext(fname)
        if ext.lower() not in IMG_SUFFIXES:
            continue
        gt = osp.join(gt_dir, stem + '.png')
        if not osp.isfile(gt):
            raise FileNotFoundError(f'no ground truth {gt} for image '
                                    f'{osp.join(img_dir, fname)}')
        scrib = None
        if scribble_dir is not None:
            scrib = osp.join(scribble_dir, stem + '.png')
            if not osp.isfile(scrib):
                raise FileNotFoundError(f'no scribbles {scrib} for image '
                                        f'{osp.join(img_dir, fname)}')
        pairs.append((stem, osp.join(img_dir, fname), gt, scrib))
    if not pairs:
        raise FileNotFoundError(f'no image ({", ".join(IMG_SUFFIXES)}) in '
                                f'img_dir {img_dir!r}')
    return pairs


def softsl_label_quality(config: str,
                         checkpoint: str,
                         img_dir: str,
                         gt_dir: str,
                         scribble_dir: Optional[str] = None,
                         num_classes: Optional[int] = None,
                         solver: Optional[str] = None,
                         limit: Optional[int] = None,
                         device: str = 'cpu',
                         cfg_options: Optional[dict] = None) -> dict:
    """Score ``argmax sigma`` and ``argmax y`` of every image pair.

    Args:
        solver (str, optional): A key of :data:`SOLVERS` replacing the
            head's solver settings.

    Returns:
        dict: ``sigma`` and ``y`` (:func:`class_scores` of their pooled
        confusions), ``images``, ``pixels`` (scored), ``changed`` (share
        of them where the two differ) and, of those, ``changed_y_right``
        and ``changed_sigma_right``.
    """
    if limit is not None and limit < 1:
        raise ValueError(f'--limit must be >= 1, got {limit}')
    pairs = list_pairs(img_dir, gt_dir, scribble_dir)
    if limit is not None:
        pairs = pairs[:limit]
    model = load_segmentor(
        config,
        checkpoint,
        device,
        cfg_options,
        head_type=SoftSelfLabelingMixin)
    k = num_classes or model.decode_head.num_classes
    solver = SOLVERS[solver] if solver else None
    conf = dict(
        sigma=np.zeros((k, k + 1), np.int64), y=np.zeros((k, k + 1), np.int64))
    changed = y_right = sigma_right = scored = 0
    for stem, img_file, gt_file, scrib_file in pairs:
        img = load_image(img_file, 0)
        gt = read_label_png(gt_file)
        if gt.shape != img.shape[:2]:
            raise ValueError(f'ground truth {gt_file} {gt.shape} and image '
                             f'{img_file} {img.shape[:2]} differ in size')
        scrib = (
            read_label_png(scrib_file) if scrib_file else np.full(
                gt.shape, 255, np.uint8))
        with torch.no_grad():
            pred, ylab = predict_and_solve(model, img, scrib, solver)
        conf['sigma'] += confusion_matrix(pred, gt, k)
        conf['y'] += confusion_matrix(ylab, gt, k)
        valid = gt < k
        diff = valid & (pred != ylab)
        scored += int(valid.sum())
        changed += int(diff.sum())
        y_right += int((diff & (ylab == gt)).sum())
        sigma_right += int((diff & (pred == gt)).sum())
    out = {name: class_scores(c) for name, c in conf.items()}
    out.update(
        images=len(pairs),
        pixels=scored,
        changed=changed / max(scored, 1),
        changed_y_right=y_right / max(changed, 1),
        changed_sigma_right=sigma_right / max(changed, 1))
    return out
