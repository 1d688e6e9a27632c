"""Score pseudo-labels against dense ground truth (CDSP Tab. 3 "base").

The mIoU of the pseudo-labels themselves, before any training: one
confusion matrix over every pixel of the listed images whose ground truth
is not ``--ignore-index``; a pixel without a pseudo-label (255) counts as
wrong for its ground-truth class (it is in the union, not the
intersection), so a source cannot score higher by abstaining.

Example (the train_aug images that have dense ground truth)::

    python tools/dataset_converters/pseudo_label_miou.py \\
        data/VOCdevkit/VOC2012/bmp_pseudolabel \\
        data/VOCdevkit/VOC2012/SegmentationClassAug \\
        --split data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train.txt \\
        --num-classes 21
"""
import argparse
import os
import os.path as osp

import numpy as np

from mmscribble.datasets.transforms.loading import read_label_png


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mIoU of pseudo-label PNGs against dense ground truth')
    parser.add_argument('pseudo_dir', help='folder of pseudo-label PNGs')
    parser.add_argument('gt_dir', help='folder of dense ground-truth PNGs')
    parser.add_argument(
        '--split',
        help='one stem per line (default: every '
        'PNG of PSEUDO_DIR)')
    parser.add_argument('--num-classes', type=int, required=True)
    parser.add_argument('--ignore-index', type=int, default=255)
    parser.add_argument('--class-names', nargs='+', help='for the table')
    return parser.parse_args(argv)


def confusion(pseudo: np.ndarray,
              gt: np.ndarray,
              num_classes: int,
              ignore_index: int = 255) -> np.ndarray:
    """``(K, K + 1)`` counts of (ground truth, prediction); column ``K``
    holds the pixels without a pseudo-label (or with an id >= K)."""
    if pseudo.shape != gt.shape:
        raise ValueError(f'pseudo-label of size {pseudo.shape} against '
                         f'ground truth of size {gt.shape}')
    keep = gt != ignore_index
    g = gt[keep].astype(np.int64)
    if g.size and g.max() >= num_classes:
        raise ValueError(f'ground truth has class id {int(g.max())} >= '
                         f'--num-classes {num_classes}')
    p = pseudo[keep].astype(np.int64)
    p = np.where((p >= 0) & (p < num_classes), p, num_classes)
    return np.bincount(
        g * (num_classes + 1) + p,
        minlength=num_classes * (num_classes + 1)).reshape(
            num_classes, num_classes + 1)


def iou_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class IoU (NaN for a class absent from both)."""
    k = conf.shape[0]
    inter = np.diag(conf[:, :k]).astype(np.float64)
    union = conf.sum(1) + conf[:, :k].sum(0) - inter
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(union > 0, inter / union, np.nan)


def main(argv=None):
    args = parse_args(argv)
    if args.split:
        if not osp.isfile(args.split):
            raise FileNotFoundError(f'split file not found: {args.split}')
        stems = [s.strip() for s in open(args.split) if s.strip()]
    else:
        stems = sorted(n[:-4] for n in os.listdir(args.pseudo_dir)
                       if n.endswith('.png'))
    if not stems:
        raise ValueError('no image to score')
    conf = np.zeros((args.num_classes, args.num_classes + 1), np.int64)
    for stem in stems:
        conf += confusion(
            read_label_png(osp.join(args.pseudo_dir, stem + '.png')),
            read_label_png(osp.join(args.gt_dir, stem + '.png')),
            args.num_classes, args.ignore_index)
    iou = iou_from_confusion(conf)
    names = args.class_names or [str(i) for i in range(args.num_classes)]
    print(f'{len(stems)} image(s), {int(conf.sum())} scored pixels, '
          f'{int(conf[:, -1].sum())} without pseudo-label')
    print('| class | IoU (%) |\n| --- | ---: |')
    for name, v in zip(names, iou):
        print(f'| {name} | {100 * v:.2f} |')
    miou = 100 * np.nanmean(iou)
    print(f'mIoU: {miou:.2f}')
    return miou


if __name__ == '__main__':
    main()
