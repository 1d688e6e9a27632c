"""Picture BLPSeg's annotation probability, prediction and BLP loss map.

Writes, for a trained BLPSeg model (``BLPSegHead``) and one image, the
three maps of Wang et al., TIP 2023, Fig. 8 (b)-(d), each at the image
size with the JET colour map on a fixed ``[0, 1]`` scale (blue = 0,
red = 1):

* ``<stem>_annot_prob.png``: the annotation probability of the scribble
  head, ``1 - p^scrib_{K+1}``, the probability that the pixel would be
  scribbled at all (the sum of the ``K`` class probabilities);
* ``<stem>_seg_prob.png``: the segmentation probability
  ``max_c p^seg_c`` of the prediction (the LAM output);
* ``<stem>_blp_loss.png``: the per-pixel modulating factor of the BLP
  loss, Eq. 11, ``delta = (1 - p^scrib_y p^seg_y) ** gamma`` for the
  target class ``y`` of the pixel, 0 where there is no target.

The target ``y``: by default the predicted class ``argmax_c p^seg_c`` at
every pixel. With ``--scribble`` (the image's scribble PNG, 255 =
unlabeled), the self-training target the model is trained with after the
switch (Sec. IV-B): the prediction restricted to the scribbled classes,
kept where its probability reaches the head's threshold (``--threshold``),
scribbles overriding; the paper's Fig. 8 shows this phase.

Both logit maps are upsampled (bilinear) to the image size before the
softmax, as in the training loss. ``gamma`` is the ``BLPLoss``'s of the
config unless ``--gamma`` is given.

Example (``CONFIG`` the ResNet-101 VOC config of ``configs/blpseg/``,
``VOC=data/VOCdevkit/VOC2012``)::

    python tools/analysis_tools/blpseg_visualize.py \\
        $CONFIG work_dirs/blpseg/iter_42320.pth \\
        $VOC/JPEGImages/2007_000032.jpg \\
        --scribble $VOC/pascal_2012_scribble/2007_000032.png --out-dir vis
"""
import argparse
import os
import os.path as osp

import mmcv
from mmengine.config import DictAction

from mmscribble.utils.cli import non_negative_float, non_negative_int
from mmscribble.visualization.blpseg_maps import (DEFAULT_GAMMA, IGNORE_INDEX,
                                                  OUTPUTS, blpseg_maps,
                                                  load_blpseg, load_scribble)
from mmscribble.visualization.drawing import jet, load_image


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the annotation probability, the segmentation '
        'probability and the BLP loss map (BLPSeg Fig. 8) for one image')
    parser.add_argument('config', help='config of a BLPSegHead model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--scribble',
        help='scribble PNG of the image (class ids, 255 = unlabeled): the '
        'BLP loss map then uses the self-training target (default: the '
        'predicted class everywhere)')
    parser.add_argument(
        '--gamma',
        type=non_negative_float,
        default=None,
        help='gamma of Eq. 11 (default: the BLPLoss of the config, else '
        f'{DEFAULT_GAMMA})')
    parser.add_argument(
        '--threshold',
        type=float,
        default=None,
        help='confidence of the self-training target with --scribble '
        '(default: the head\'s self_training_threshold)')
    parser.add_argument(
        '--long-side',
        type=non_negative_int,
        default=0,
        help='resize the image so that its long side has this many pixels '
        '(default 0: keep the size, as in evaluation)')
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py')
    args = parser.parse_args(argv)
    if args.threshold is not None and not 0 < args.threshold <= 1:
        parser.error(f'--threshold must be in (0, 1], got {args.threshold}')
    if args.threshold is not None and args.scribble is None:
        parser.error('--threshold needs --scribble (it sets the '
                     'self-training target)')
    return args


def main(argv=None):
    args = parse_args(argv)
    model = load_blpseg(args.config, args.checkpoint, args.device,
                        args.cfg_options)
    ori = load_image(args.img, 0)
    img = mmcv.imrescale(ori, (args.long_side, args.long_side)) \
        if args.long_side else ori
    scribble = None
    if args.scribble is not None:
        scribble = load_scribble(args.scribble, ori.shape[:2], img.shape[:2])
    res = blpseg_maps(model, img, scribble, args.gamma, args.threshold)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    written = []
    for key, suffix in OUTPUTS:
        path = osp.join(args.out_dir, f'{stem}_{suffix}.png')
        mmcv.imwrite(jet(res[key]), path)
        written.append(path)
        print(f'{suffix}: mean {res[key].mean():.4f}, max '
              f'{res[key].max():.4f}')
    covered = (res['target'] != IGNORE_INDEX).mean()
    print(f'target pixels: {covered:.1%}')
    print('\n'.join(written))
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
