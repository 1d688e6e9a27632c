# Copyright (c) mmscribble contributors. All rights reserved.
"""How good would BLPSeg's self-training targets be, rule by rule?

Scores, on a config's test split (dense ground truth, its own pipeline),
the target that :func:`~mmscribble.models.utils.self_training_target`
would make from a BLPSeg checkpoint under each selection rule: ``paper``
(tag-restricted prediction above the threshold), ``agree`` (kept where
the scribble head agrees), ``balanced<p>`` (plus the ``p`` most confident
share per class) and ``prediction`` (the plain argmax). Image tags come
from the ground truth; no scribble overrides the prediction.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmseg.models.utils import resize

from mmscribble.apis.inference import load_segmentor
from mmscribble.models.heads.blpseg_head import BLPSegHead
from mmscribble.models.utils import self_training_target
from .checkpoint_scores import (check_background, checked_config, label_of,
                                split_report, test_split)
from .confusion import class_scores, confusion_matrix, row_shares


@torch.no_grad()
def targets(model, sample: dict, threshold: float, portions=()) -> tuple:
    """``(ground truth, {rule: target})`` for one test-pipeline sample, as
    ``(H, W)`` numpy arrays at the image's original size (255 = no
    label)."""
    head = model.decode_head
    data = model.data_preprocessor(pseudo_collate([sample]), False)
    inputs, meta = data['inputs'], data['data_samples'][0]
    if 'gt_sem_seg' not in meta:
        raise ValueError(f'{meta.metainfo.get("img_path")}: the test '
                         'pipeline loads no ground truth')
    gt = meta.gt_sem_seg.data[0]
    out = head.forward_intermediates(model.extract_feat(inputs), inputs)
    h, w = meta.metainfo.get('img_shape', inputs.shape[-2:])[:2]
    logits = []
    for key in ('seg_logits', 'scrib_logits'):
        x = resize(
            out[key],
            size=inputs.shape[-2:],
            mode='bilinear',
            align_corners=head.align_corners)[..., :h, :w]
        if tuple(x.shape[-2:]) != tuple(gt.shape):
            x = resize(
                x,
                size=gt.shape,
                mode='bilinear',
                align_corners=head.align_corners)
        logits.append(x)
    seg, scrib = logits
    k = head.num_classes
    tags = torch.zeros(1, k, device=seg.device)
    present = gt[(gt != head.ignore_index)].unique().long()
    tags[0, present[present < k]] = 1
    none = torch.full(
        (1, ) + tuple(gt.shape),
        head.ignore_index,
        dtype=torch.long,
        device=seg.device)
    rules = dict(
        paper=self_training_target(
            seg,
            none,
            tags,
            threshold=threshold,
            ignore_index=head.ignore_index),
        agree=self_training_target(
            seg,
            none,
            tags,
            threshold=threshold,
            ignore_index=head.ignore_index,
            agree_logits=scrib),
        **{
            f'balanced{p:g}':
            self_training_target(
                seg,
                none,
                tags,
                threshold=threshold,
                ignore_index=head.ignore_index,
                class_portion=p)
            for p in portions
        },
        prediction=seg.argmax(dim=1))
    return gt.cpu().numpy(), {r: t[0].cpu().numpy() for r, t in rules.items()}


def rule_names(portions: Sequence[float] = ()) -> list:
    """The rules scored, in order, for the balanced ``portions``."""
    return (['paper', 'agree'] + [f'balanced{p:g}'
                                  for p in portions] + ['prediction'])


def self_training_quality(config: str,
                          checkpoints: Sequence[str],
                          threshold: Optional[float] = None,
                          portions: Sequence[float] = (0.2, 0.5),
                          background: int = 0,
                          limit: Optional[int] = None,
                          device: str = 'cpu',
                          cfg_options: Optional[dict] = None) -> dict:
    """Score each rule's targets of each checkpoint on the test split.

    Returns:
        dict: ``config``, ``images``, ``classes``, ``background`` and
        ``runs``: per checkpoint label its ``checkpoint``, ``threshold``
        and per rule ``coverage``, ``accuracy`` and the per-class lists
        ``precision``, ``labeled`` (recall) and ``from_bg``.
    """
    if any(not 0 < p <= 1 for p in portions):
        raise ValueError(f'--portions must be in (0, 1], got {portions}')
    rules = rule_names(portions)
    if threshold is not None and not 0 < threshold <= 1:
        raise ValueError(f'--threshold must be in (0, 1], got '
                         f'{threshold}')
    cfg = checked_config(config, checkpoints, limit, cfg_options)
    dataset = indices = None
    results = {}
    for ckpt in checkpoints:
        model = load_segmentor(
            config, ckpt, device, cfg_options, head_type=BLPSegHead)
        if dataset is None:  # after the head check: a wrong config first
            dataset, indices = test_split(cfg, limit)
        head = model.decode_head
        k = head.num_classes
        check_background(background, k)
        tau = (
            head.self_training_threshold if threshold is None else threshold)
        conf = {r: np.zeros((k, k + 1), np.int64) for r in rules}
        for i in indices:
            gt, by_rule = targets(model, dataset[i], tau, portions)
            for r, t in by_rule.items():
                conf[r] += confusion_matrix(t, gt, k, head.ignore_index)
        label = label_of(ckpt, results)
        results[label] = dict(checkpoint=ckpt, threshold=tau)
        for r, c in conf.items():
            s = class_scores(c)
            labeled = int(c[:, :k].sum())
            results[label][r] = dict(
                coverage=labeled / max(int(c.sum()), 1),
                accuracy=float(np.trace(c[:, :k])) / max(labeled, 1),
                precision=s['precision'].tolist(),
                labeled=s['recall'].tolist(),
                from_bg=row_shares(c, background).tolist())
    return split_report(config, dataset, indices, k, background, results)
