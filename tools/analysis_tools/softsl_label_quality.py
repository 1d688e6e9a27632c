"""Are soft self-labeling's pseudo-labels better than the network they teach?

Self-labeling can only help where ``argmax y`` (the solver's pseudo-labels:
the network's softmax ``sigma`` regularised by the Potts term and pinned to
the scribbles) is right more often than ``argmax sigma``. This tool scores
both against dense ground truth on a folder of images, pooled over the
images (2-D confusion), and counts the pixels where they differ:

* per class IoU and Dice of ``argmax sigma`` and of ``argmax y``;
* the fraction of pixels where ``argmax y != argmax sigma``, and of those
  the share where ``y`` is right and where ``sigma`` is right.

Without ``--scribble-dir`` the solver sees no scribble (every pixel
unlabeled, a valid input of the loss): ``y`` is then what the Potts term
and ``eta * H(y, sigma)`` make of the prediction alone, as on a validation
split without scribbles (MSCMR's). With ``--scribble-dir`` the scribbles
pin ``y`` as in training. The solver runs with the head's own settings
(``solve_scale``, ``solver``) unless ``--solver`` replaces them; ``y`` is
upsampled bilinearly to the image before its argmax.

Example (MSCMR val, a checkpoint of the benchmark's ``softsl`` row)::

    python tools/analysis_tools/softsl_label_quality.py \\
        configs/benchmark/mscmr/softsl_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \\
        work_dirs/mscmr_table/softsl/seed0/iter_240.pth \\
        data/mscmr/img_dir/val data/mscmr/ann_dir/val --num-classes 4
"""
import argparse
import importlib.util
import os
import os.path as osp
from typing import Optional

import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.evaluation.confusion import class_scores, confusion_matrix
from mmscribble.models.heads.soft_self_labeling_head import \
    SoftSelfLabelingMixin
from mmscribble.models.layers.potts import FAST_SOLVER, REFERENCE_SOLVER
from mmscribble.utils.visualize import load_segmentor

SOLVERS = dict(fast=FAST_SOLVER, reference=REFERENCE_SOLVER)


def _load_visualize():
    # The solve of the picture tool beside this file, so the two tools
    # cannot drift apart (tools/ is not a package).
    spec = importlib.util.spec_from_file_location(
        '_softsl_visualize',
        osp.join(osp.dirname(osp.abspath(__file__)), 'softsl_visualize.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.visualize


visualize = _load_visualize()
IMG_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Score argmax of the soft pseudo-labels y against the '
        "network's own prediction on dense ground truth")
    parser.add_argument('config', help='config with a soft self-labeling head')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img_dir', help='folder of images')
    parser.add_argument(
        'gt_dir',
        help='dense label PNGs (class ids, 255 ignored), named as '
        'the images with .png')
    parser.add_argument(
        '--scribble-dir',
        help='scribble PNGs named as the images (default: none, every pixel '
        'unlabeled)')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=None,
        help="classes scored (default: the head's num_classes)")
    parser.add_argument(
        '--solver',
        choices=sorted(SOLVERS),
        default=None,
        help="replace the head's solver settings")
    parser.add_argument(
        '--limit', type=int, default=None, help='score the first N images')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in tools/train.py')
    return parser.parse_args(argv)


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


def predict_and_solve(model,
                      img: np.ndarray,
                      scribble: np.ndarray,
                      solver=None):
    """``(argmax sigma, argmax y)`` at the image's size for a BGR image."""
    res = visualize(model, img, scribble, solver)
    y = torch.from_numpy(res['y'])[None]
    if tuple(y.shape[-2:]) != img.shape[:2]:
        y = F.interpolate(
            y,
            size=img.shape[:2],
            mode='bilinear',
            align_corners=model.decode_head.align_corners)
    return res['pred'], y[0].argmax(0).numpy()


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.limit is not None and args.limit < 1:
        raise ValueError(f'--limit must be >= 1, got {args.limit}')
    pairs = list_pairs(args.img_dir, args.gt_dir, args.scribble_dir)
    if args.limit is not None:
        pairs = pairs[:args.limit]
    model = load_segmentor(
        args.config,
        args.checkpoint,
        args.device,
        args.cfg_options,
        head_type=SoftSelfLabelingMixin)
    k = args.num_classes or model.decode_head.num_classes
    solver = SOLVERS[args.solver] if args.solver else None
    conf = dict(
        sigma=np.zeros((k, k + 1), np.int64), y=np.zeros((k, k + 1), np.int64))
    changed = y_right = sigma_right = scored = 0
    for stem, img_file, gt_file, scrib_file in pairs:
        img = mmcv.imread(img_file)
        if img is None:
            raise ValueError(f'cannot decode image {img_file}')
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
    print(f'{len(pairs)} images, {scored} scored pixels; scribbles: '
          f'{"given" if args.scribble_dir else "none"}')
    print('| class | IoU sigma | IoU y | Dice sigma | Dice y |')
    print('| ---: | ---: | ---: | ---: | ---: |')
    for c in range(k):
        print(f'| {c} | ' + ' | '.join(f'{100 * out[n][m][c]:.2f}'
                                       for m in ('iou', 'dice')
                                       for n in ('sigma', 'y')) + ' |')
    print(f'argmax y differs from argmax sigma on {100 * out["changed"]:.3f}'
          f'% of the scored pixels; there y is right on '
          f'{100 * out["changed_y_right"]:.1f}%, sigma on '
          f'{100 * out["changed_sigma_right"]:.1f}%')
    return out


if __name__ == '__main__':
    main()
