"""Picture soft self-labeling for one image: prediction, pseudo-labels,
neighbourhood weights.

Writes, for a model with a soft self-labeling head
(``SoftSelfLabelingHead`` / ``SoftSelfLabelingV2Head``), one image and its
scribble label PNG (class ids, 255 = unlabeled):

* ``<stem>_pred.png``: the network's prediction (argmax, VOC palette);
* ``<stem>_y_maxprob.png``: ``max_k y^k`` of the pseudo-labels after the
  solver (JET; blue = 1/K, red = 1), the head's energy and grid;
* ``<stem>_y_entropy.png``: the entropy of ``y`` divided by ``ln K``
  (blue = certain, red = uniform);
* ``<stem>_y.png``: ``argmax y`` (palette), scribbles drawn over it;
* ``<stem>_weights.png``: per pixel the smallest weight ``w_ij`` to its
  grid neighbours (JET; blue = an edge, red = flat colour);
* ``<stem>_panel.png``: the image and the five pictures side by side.

The solver runs at the head's ``solve_scale`` with its ``solver``
settings (``--solver fast`` / ``reference`` replaces them), on the logits
upsampled to the image as in training. A dense neighbourhood has no
per-pixel weight picture (``_weights.png`` is skipped).

Example::

    python tools/analysis_tools/softsl_visualize.py \\
        configs/softsl/softsl_deeplabv3plus_r101-d8_1xb12-53k_voc12aug-scribble-512x512.py \\
        work_dirs/softsl/iter_52910.pth \\
        data/VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble/2007_000032.png \\
        --out-dir vis
"""
import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction

from mmscribble.apis.inference import load_segmentor
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads.soft_self_labeling_head import \
    SoftSelfLabelingMixin
from mmscribble.visualization.drawing import (colorize, jet, load_image,
                                              save_rgb, tile)
from mmscribble.visualization.palette import hashed_palette
from mmscribble.visualization.softsl_maps import (SOLVERS, soft_label_summary,
                                                  softsl_maps)

PALETTE = hashed_palette()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Draw the prediction, the soft pseudo-labels after the '
        'solver and the neighbourhood weights of a soft self-labeling model')
    parser.add_argument('config', help='config of a soft self-labeling model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('img', help='image file')
    parser.add_argument('scribble', help='scribble label PNG (255 = none)')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument(
        '--solver',
        choices=tuple(SOLVERS),
        default=None,
        help="solver settings (default: the head's)")
    parser.add_argument(
        '--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, as in tools/test.py')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = load_segmentor(
        args.config,
        args.checkpoint,
        args.device,
        args.cfg_options,
        head_type=SoftSelfLabelingMixin)
    img = load_image(args.img, 0)
    scribble = read_label_png(args.scribble)
    res = softsl_maps(model, img, scribble,
                      SOLVERS[args.solver] if args.solver else None)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    size = img.shape[:2]
    summary = soft_label_summary(res['y'], scribble)
    ent = summary['entropy']
    pictures = {
        'pred': colorize(res['pred'], PALETTE),
        'y_maxprob': jet(summary['maxprob'], size)[..., ::-1],
        'y_entropy': jet(ent, size)[..., ::-1],
        'y': colorize(summary['label'], PALETTE),
    }
    if res['weights'] is not None:
        pictures['weights'] = jet(res['weights'], size)[..., ::-1]
    written = []
    for name, rgb in pictures.items():
        path = osp.join(args.out_dir, f'{stem}_{name}.png')
        save_rgb(path, np.ascontiguousarray(rgb))
        written.append(path)
    panel = osp.join(args.out_dir, f'{stem}_panel.png')
    save_rgb(panel, tile([img[..., ::-1]] + list(pictures.values())))
    written.append(panel)
    print(f'mean normalised entropy of y: {ent.mean():.4f}')
    print('\n'.join(written))
    print(f'wrote {len(written)} images to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
