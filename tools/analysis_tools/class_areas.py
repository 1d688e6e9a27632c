"""How much of each class do checkpoints predict, and where does it leak?

A segmentation that collapses (a class shrinking to nothing, background
spreading into a structure) shows in its per-class areas before it shows
in a mean score. For each checkpoint this tool predicts the config's test
split (``test_dataloader``, its own pipeline, the same ``test_step`` as
``tools/test.py``), pools one confusion matrix over the images
(:mod:`mmscribble.evaluation.confusion`) and prints, per class:

* ``area``: the share of scored pixels predicted as the class (the first
  row, ``ground truth``, has the true shares);
* ``IoU``;
* ``from bg``: the share of the ground-truth background pixels predicted
  as the class (``--background``, default class 0), i.e. where a structure
  leaks into the background.

Give several checkpoints of one run (``iter_60.pth iter_120.pth ...``) to
follow the areas through training, or the final checkpoints of several
runs of the same config family (an ablation) to compare them; each row is
labelled by its run folder and file name. ``--out`` writes the numbers as
JSON.

Example (the URSS diagnostic on fully shrunk MSCMR scribbles)::

    python tools/analysis_tools/class_areas.py \\
        configs/benchmark/mscmr_diagnostics/urss-trace_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-shrink1.0-161x161.py \\
        work_dirs/mscmr_table/urss-trace-shrink1.0/seed0/iter_{60,120,180,240}.pth
"""
import argparse
import json
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmscribble.evaluation.confusion import (class_scores, confusion_matrix,
                                             row_shares)
from mmscribble.utils.visualize import load_segmentor


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-class predicted areas, IoU and background leak of '
        'checkpoints on a config\'s test split')
    parser.add_argument('config', help='config file (model and test split)')
    parser.add_argument('checkpoints', nargs='+', help='checkpoint files')
    parser.add_argument(
        '--background',
        type=int,
        default=0,
        help='class id whose pixels the "from bg" columns split (default 0)')
    parser.add_argument(
        '--limit', type=int, default=None, help='score the first N images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the config, e.g. test_dataloader.dataset.'
        'data_root=...')
    return parser.parse_args(argv)


def checked_config(args) -> Config:
    """The config with ``--cfg-options`` applied, after checking
    ``--limit`` and that every checkpoint file exists (before any model is
    built)."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f'--limit must be >= 1, got {args.limit}')
    for ckpt in args.checkpoints:
        if not osp.isfile(ckpt):
            raise FileNotFoundError(f'checkpoint not found: {ckpt}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
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
    if not 0 <= background < k:
        raise ValueError(f'--background {background} is not a class id of '
                         f'the model (0 .. {k - 1})')


def write_json(path, out: dict) -> None:
    if path:
        with open(path, 'w') as f:
            json.dump(out, f, indent=1)


def test_split(cfg, limit=None):
    """The config's test dataset (pipeline included) and the indices
    scored."""
    from mmseg.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    if n == 0:
        raise ValueError('the test split of the config has no image (check '
                         'test_dataloader.dataset: data_root, ann_file, '
                         'data_prefix)')
    return dataset, range(n)


@torch.no_grad()
def pooled_confusion(model,
                     dataset,
                     indices,
                     num_classes,
                     ignore_index=255) -> np.ndarray:
    """``(K, K + 1)`` confusion of ``model``'s predictions over ``indices``
    of ``dataset``, each predicted as ``tools/test.py`` does (batch of
    one, the model's ``test_step``: data preprocessor, inference mode of
    its ``test_cfg``, prediction at the image's original size)."""
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


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = checked_config(args)
    dataset, indices = test_split(cfg, args.limit)
    rows = {}
    for ckpt in args.checkpoints:
        model = load_segmentor(args.config, ckpt, args.device,
                               args.cfg_options)
        k = model.decode_head.num_classes
        check_background(args.background, k)
        conf = pooled_confusion(model, dataset, indices, k,
                                model.decode_head.ignore_index)
        s = class_scores(conf)
        rows[label_of(ckpt, rows)] = dict(
            checkpoint=ckpt,
            pred_area=s['pred_area'].tolist(),
            gt_area=s['gt_area'].tolist(),
            iou=s['iou'].tolist(),
            from_bg=row_shares(conf, args.background).tolist())
    names = class_names(dataset, k)
    others = [c for c in range(k) if c != args.background]
    print(f'{len(indices)} image(s) of the test split of {args.config}')
    head = (['run'] + [f'{names[c]} area (%)' for c in range(k)] +
            [f'{names[c]} IoU (%)'
             for c in range(k)] + [f'{names[c]} from bg (%)' for c in others])
    print('| ' + ' | '.join(head) + ' |')
    print('| --- |' + ' ---: |' * (len(head) - 1))
    first = next(iter(rows.values()))
    print('| ground truth | ' + ' | '.join(f'{100 * a:.2f}'
                                           for a in first['gt_area']) + ' |' +
          ' - |' * (k + len(others)))
    for label, r in rows.items():
        cells = ([f'{100 * a:.2f}' for a in r['pred_area']] +
                 [f'{100 * v:.1f}' for v in r['iou']] +
                 [f'{100 * r["from_bg"][c]:.2f}' for c in others])
        print(f'| {label} | ' + ' | '.join(cells) + ' |')
    out = dict(
        config=args.config,
        images=len(indices),
        classes=names,
        background=args.background,
        runs=rows)
    write_json(args.out, out)
    return out


if __name__ == '__main__':
    main()
