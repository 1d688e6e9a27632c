# Copyright (c) mmscribble contributors. All rights reserved.
"""Score checkpoints on a config's test split: per-class areas, IoU and
background leak (``tools/analysis_tools/class_areas.py``), and the pieces
the scoring tools share (checks, row labels, class names, JSON output)."""
import json
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch

from .confusion import class_scores, confusion_matrix, row_shares


def checked_config(config: str,
                   checkpoints: Sequence[str],
                   limit: Optional[int] = None,
                   cfg_options: Optional[dict] = None):
    """The config with ``cfg_options`` applied, after checking ``limit``
    and that every checkpoint file exists (before any model is built)."""
    from mmengine.config import Config
    if limit is not None and limit < 1:
        raise ValueError(f'--limit must be >= 1, got {limit}')
    for ckpt in checkpoints:
        if not osp.isfile(ckpt):
            raise FileNotFoundError(f'checkpoint not found: {ckpt}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def label_of(checkpoint: str, taken=()) -> str:
    """The file and its two parent folders, e.g.
    ``urss-trace-shrink1.0/seed0/iter_60.pth`` for a table run; a label
    already in ``taken`` gets `` (n)``, n = ``len(taken) + 1``."""
    parts = osp.abspath(checkpoint).split(osp.sep)
    label = '/'.join(p for p in parts[-3:] if p)
    return f'{label} ({len(taken) + 1})' if label in taken else label


def class_names(dataset, k: int) -> list:
    """The dataset's class names, or ``'0' .. 'k-1'`` if it has fewer
    than ``k``."""
    names = list(dataset.metainfo.get('classes') or ())
    return names[:k] if len(names) >= k else [str(c) for c in range(k)]


def check_background(background: int, k: int) -> None:
    """Raise ``ValueError`` unless ``background`` is a class id of a
    ``k``-class model."""
    if not 0 <= background < k:
        raise ValueError(f'--background {background} is not a class id of '
                         f'the model (0 .. {k - 1})')


def write_json(path: Optional[str], out: dict) -> None:
    """Write ``out`` as indented JSON to ``path`` (nothing if None)."""
    if path:
        with open(path, 'w') as f:
            json.dump(out, f, indent=1)


def test_split(cfg, limit: Optional[int] = None):
    """The config's test dataset (pipeline included) and the indices
    scored (the first ``limit``, default all)."""
    from mmscribble.datasets.split_builder import build_split_dataset
    dataset = build_split_dataset(cfg, 'test')
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n == 0:
        raise ValueError('the test split of the config has no image (check '
                         'test_dataloader.dataset: data_root, ann_file, '
                         'data_prefix)')
    return dataset, range(n)


# Not collected by pytest although its name starts with "test".
test_split.__test__ = False


@torch.no_grad()
def pooled_confusion(model,
                     dataset,
                     indices,
                     num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """``(K, K + 1)`` confusion of ``model``'s predictions over ``indices``
    of ``dataset``, each predicted as ``tools/test.py`` does (batch of
    one, the model's ``test_step``: data preprocessor, inference mode of
    its ``test_cfg``, prediction at the image's original size)."""
    from mmengine.dataset import pseudo_collate
    conf = np.zeros((num_classes, num_classes + 1), np.int64)
    for i in indices:
        sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        if 'gt_sem_seg' not in sample:
            raise ValueError(f'{dataset.get_data_info(i)["img_path"]}: the '
                             'test pipeline loads no ground truth')
        pred = sample.pred_sem_seg.data[0].cpu().numpy()
        gt = sample.gt_sem_seg.data[0].cpu().numpy()
        conf += confusion_matrix(pred, gt, num_classes, ignore_index)
    return conf


def class_areas(config: str,
                checkpoints: Sequence[str],
                background: int = 0,
                limit: Optional[int] = None,
                device: str = 'cpu',
                cfg_options: Optional[dict] = None) -> dict:
    """Per-class predicted areas, IoU and background leak of each
    checkpoint on the config's test split (one pooled confusion each).

    Returns:
        dict: ``config``, ``images``, ``classes``, ``background`` and
        ``runs``: per checkpoint label (:func:`label_of`) its
        ``checkpoint`` and the per-class lists ``pred_area``, ``gt_area``,
        ``iou`` and ``from_bg`` (:func:`row_shares` of the background).
    """
    from mmscribble.apis.inference import load_segmentor
    cfg = checked_config(config, checkpoints, limit, cfg_options)
    dataset, indices = test_split(cfg, limit)
    rows = {}
    for ckpt in checkpoints:
        model = load_segmentor(config, ckpt, device, cfg_options)
        k = model.decode_head.num_classes
        check_background(background, k)
        conf = pooled_confusion(model, dataset, indices, k,
                                model.decode_head.ignore_index)
        s = class_scores(conf)
        rows[label_of(ckpt, rows)] = dict(
            checkpoint=ckpt,
            pred_area=s['pred_area'].tolist(),
            gt_area=s['gt_area'].tolist(),
            iou=s['iou'].tolist(),
            from_bg=row_shares(conf, background).tolist())
    return split_report(config, dataset, indices, k, background, rows)


def split_report(config: str, dataset, indices, k: int, background: int,
                 runs: dict) -> dict:
    """The JSON-ready report of a scoring tool: ``config``, ``images``
    (the number scored), ``classes`` (:func:`class_names`),
    ``background`` and ``runs``."""
    return dict(
        config=config,
        images=len(indices),
        classes=class_names(dataset, k),
        background=background,
        runs=runs)
