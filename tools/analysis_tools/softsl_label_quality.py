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

from mmengine.config import DictAction

from mmscribble.evaluation.softsl_label_quality import softsl_label_quality
from mmscribble.visualization.softsl_maps import SOLVERS


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


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = softsl_label_quality(args.config, args.checkpoint, args.img_dir,
                               args.gt_dir, args.scribble_dir,
                               args.num_classes, args.solver, args.limit,
                               args.device, args.cfg_options)
    k = len(out['sigma']['iou'])
    print(f'{out["images"]} images, {out["pixels"]} scored pixels; scribbles: '
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
