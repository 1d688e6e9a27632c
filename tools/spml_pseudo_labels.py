"""SPML stage 2: pseudo-labels from a stage-1 model (Algorithm 1, 2-5).

For every training image: the fixed embedding and the classifier scores
of the stage-1 ``SPMLHead`` (whole image, no augmentation, as A.4), the
scores restricted to the image's scribble classes, a 64-step random walk
on the embedding affinity (``gamma = 5``, ``beta = 20``), upsampled to the
image and arg-maxed, written as ``OUT/<stem>.png`` (mode L, class ids).
The stage-2 config (``configs/spml/spml-stage2_*``) trains a standard
segmentor on them; ``tools/spml_two_stage.sh`` runs both stages.

The dense CRF the issue lists as optional is not applied.

Example::

    python tools/spml_pseudo_labels.py \\
        configs/spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py \\
        work_dirs/spml_stage1/iter_30000.pth \\
        data/VOCdevkit/VOC2012/spml_pseudo_labels
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import DictAction
from PIL import Image
from tqdm import tqdm

from mmscribble.models.utils.spml_classifier_refit import load_spml_stage1
from mmscribble.models.utils.spml_stage2_label import spml_item_label


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write SPML stage-2 pseudo-labels (random walk on the '
        'stage-1 embedding) as OUT/<stem>.png')
    parser.add_argument('config', help='stage-1 config (SPMLHead)')
    parser.add_argument('checkpoint', help='stage-1 checkpoint')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--gamma', type=float, default=5.0)
    parser.add_argument('--beta', type=float, default=20.0)
    parser.add_argument('--steps', type=int, default=64)
    parser.add_argument(
        '--walk-stride',
        type=int,
        default=1,
        help='average-pool the stride-4 embedding and scores by this '
        'factor before the walk (memory ~ (HW / f^2)^2); default 1')
    parser.add_argument(
        '--keep-scribbles',
        action='store_true',
        help='scribbled pixels keep their scribble label (not in the '
        'paper)')
    parser.add_argument(
        '--limit',
        type=int,
        default=None,
        help='only the first N images (for checks)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model, dataset = load_spml_stage1(args.config, args.checkpoint,
                                      args.device, args.cfg_options)
    os.makedirs(args.out, exist_ok=True)
    n = len(dataset) if args.limit is None else min(args.limit, len(dataset))
    num_classes = model.decode_head.num_classes
    for i in tqdm(range(n), desc='SPML pseudo-labels', unit='img'):
        item = dataset[i]
        label = spml_item_label(model, item, num_classes, args.gamma,
                                args.beta, args.steps, args.walk_stride,
                                args.keep_scribbles)
        stem = osp.splitext(
            osp.basename(item['data_samples'].metainfo['img_path']))[0]
        Image.fromarray(label).save(osp.join(args.out, stem + '.png'))
    print(f'wrote {n} pseudo-labels to {args.out}')
    return n


if __name__ == '__main__':
    main()
