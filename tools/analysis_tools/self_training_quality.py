"""How good would BLPSeg's self-training targets be, rule by rule?

Self-training can only help if the pixels it turns into labels are right
more often than the network already is, and it locks in whatever it gets
wrong. This tool scores, on images with dense ground truth (the config's
test split, its own pipeline), the target that
:func:`~mmscribble.models.utils.self_training_target` would make from a
BLPSeg checkpoint under each selection rule:

* ``paper``: the tag-restricted prediction where its probability reaches
  the threshold (the paper's and the authors' rule, ``--threshold``,
  default the head's ``self_training_threshold``);
* ``agree``: ``paper`` kept only where the scribble head's tag-restricted
  class argmax agrees (``self_training_agreement=True``);
* ``balanced<p>``: ``paper`` plus, per image and class, the ``p``
  most confident share of the pixels predicted as the class
  (``self_training_class_portion=p``), for each ``--portions`` value;
* ``prediction``: the plain argmax, every pixel, for scale.

The image tags come from the classes in the ground truth (the test split
has no scribbles), i.e. the tags are exact: on training slices they come
from the scribbles and can only miss a class. No scribble overrides the
prediction here, so every labeled pixel is a pseudo-label. Per rule the
tool prints: ``coverage`` (share of the scored pixels that get a label),
``accuracy`` (share of the labeled pixels that are right), per non-
background class the precision of its labels, ``labeled``, the share of
its ground-truth pixels that get its label, and ``from bg``, the share
of the ground-truth background pixels labeled as that class (where a
structure leaks). ``--out`` writes the numbers as JSON.

Example (checkpoints of the traced MSCMR BLPSeg run)::

    python tools/analysis_tools/self_training_quality.py \\
        configs/benchmark/mscmr_diagnostics/blpseg-trace_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \\
        work_dirs/mscmr_table/blpseg-trace/seed0/iter_{60,120,180,240}.pth
"""
import argparse
import importlib.util
import os.path as osp

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmseg.models.utils import resize

from mmscribble.evaluation.confusion import (class_scores, confusion_matrix,
                                             row_shares)
from mmscribble.models.heads.blpseg_head import BLPSegHead
from mmscribble.models.utils import self_training_target
from mmscribble.utils.visualize import load_segmentor


def _load_class_areas():
    """``class_areas.py`` beside this script: its checks, test split,
    labels and JSON output (a tool, not a package module)."""
    here = osp.dirname(osp.abspath(__file__))
    spec = importlib.util.spec_from_file_location(
        '_mmscribble_class_areas', osp.join(here, 'class_areas.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_areas = _load_class_areas()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Score BLPSeg self-training targets per selection rule '
        'against dense ground truth')
    parser.add_argument('config', help='a config with a BLPSegHead')
    parser.add_argument('checkpoints', nargs='+', help='checkpoint files')
    parser.add_argument(
        '--threshold',
        type=float,
        default=None,
        help='confidence tau (default: the head\'s self_training_threshold)')
    parser.add_argument(
        '--portions',
        type=float,
        nargs='*',
        default=[0.2, 0.5],
        help='class portions p of the balanced rules (default 0.2 0.5)')
    parser.add_argument(
        '--background',
        type=int,
        default=0,
        help='background class id (default 0)')
    parser.add_argument(
        '--limit', type=int, default=None, help='score the first N images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the config')
    return parser.parse_args(argv)


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    if any(not 0 < p <= 1 for p in args.portions):
        raise ValueError(f'--portions must be in (0, 1], got {args.portions}')
    rules = (['paper', 'agree'] + [f'balanced{p:g}'
                                   for p in args.portions] + ['prediction'])
    if args.threshold is not None and not 0 < args.threshold <= 1:
        raise ValueError(f'--threshold must be in (0, 1], got '
                         f'{args.threshold}')
    cfg = _areas.checked_config(args)
    dataset = indices = None
    results = {}
    for ckpt in args.checkpoints:
        model = load_segmentor(
            args.config,
            ckpt,
            args.device,
            args.cfg_options,
            head_type=BLPSegHead)
        if dataset is None:  # after the head check: a wrong config first
            dataset, indices = _areas.test_split(cfg, args.limit)
        head = model.decode_head
        k = head.num_classes
        _areas.check_background(args.background, k)
        tau = (
            head.self_training_threshold
            if args.threshold is None else args.threshold)
        conf = {r: np.zeros((k, k + 1), np.int64) for r in rules}
        for i in indices:
            gt, by_rule = targets(model, dataset[i], tau, args.portions)
            for r, t in by_rule.items():
                conf[r] += confusion_matrix(t, gt, k, head.ignore_index)
        label = _areas.label_of(ckpt, results)
        results[label] = dict(checkpoint=ckpt, threshold=tau)
        for r, c in conf.items():
            s = class_scores(c)
            labeled = int(c[:, :k].sum())
            results[label][r] = dict(
                coverage=labeled / max(int(c.sum()), 1),
                accuracy=float(np.trace(c[:, :k])) / max(labeled, 1),
                precision=s['precision'].tolist(),
                labeled=s['recall'].tolist(),
                from_bg=row_shares(c, args.background).tolist())
    names = _areas.class_names(dataset, k)
    others = [c for c in range(k) if c != args.background]
    print(f'{len(indices)} image(s) of the test split of {args.config}; '
          'tags from the ground truth, no scribbles')
    head_row = (['run', 'rule', 'coverage (%)', 'accuracy (%)'] +
                [f'{names[c]} precision (%)' for c in others] +
                [f'{names[c]} labeled (%)' for c in others] +
                [f'{names[c]} from bg (%)' for c in others])
    print('| ' + ' | '.join(head_row) + ' |')
    print('| --- | --- |' + ' ---: |' * (len(head_row) - 2))
    for label, res in results.items():
        for r in rules:
            v = res[r]
            cells = (
                [f'{100 * v["coverage"]:.1f}', f'{100 * v["accuracy"]:.2f}'] +
                [f'{100 * v["precision"][c]:.1f}' for c in others] +
                [f'{100 * v["labeled"][c]:.1f}' for c in others] +
                [f'{100 * v["from_bg"][c]:.2f}' for c in others])
            print(f'| {label} | {r} | ' + ' | '.join(cells) + ' |')
    out = dict(
        config=args.config,
        images=len(indices),
        classes=names,
        background=args.background,
        runs=results)
    _areas.write_json(args.out, out)
    return out


if __name__ == '__main__':
    main()
