"""SPML pictures: over-segmentation, k-means segments, embedding, pseudo-label.

For each image, one PNG of four panels side by side, ``OUT/<stem>_spml.png``:

1. the Felzenszwalb over-segmentation (``gt_superpixel`` of the
   pipeline), regions in random colours;
2. the spherical k-means segments of the embedding (36 clusters on
   ``[embedding, coordinates]``, 10 iterations, as in training; not split
   by label, since a test image has no scribbles), random colours;
3. the embedding projected on its 3 leading principal directions, as RGB;
4. the stage-2 pseudo-label (random walk of Algorithm 1) in the VOC
   palette, restricted to the classes of ``--scribbles`` when given
   (``<dir>/<stem>.png``), else to every class.

Example::

    python tools/analysis_tools/spml_visualize.py \\
        configs/spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py \\
        work_dirs/spml/stage1/iter_30000.pth \\
        data/VOCdevkit/VOC2012/JPEGImages/2007_000032.jpg \\
        --scribbles data/VOCdevkit/VOC2012/pascal_2012_scribble --out-dir vis
"""
import argparse
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import DictAction

from mmscribble.apis.inference import load_segmentor
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.heads.spml_head import SPMLHead
from mmscribble.utils.cli import non_negative_int
from mmscribble.visualization.drawing import load_image, save_rgb, tile
from mmscribble.visualization.spml_panels import spml_panels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='SPML picture panels')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+', help='image files')
    parser.add_argument('--out-dir', default='spml_vis')
    parser.add_argument(
        '--scribbles',
        default=None,
        help='folder of scribble PNGs (image tags)')
    parser.add_argument(
        '--long-side',
        type=non_negative_int,
        default=0,
        help='resize images to this long side (0: keep)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--walk-stride', type=int, default=1)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model = load_segmentor(
        args.config,
        args.checkpoint,
        args.device,
        args.cfg_options,
        head_type=SPMLHead)
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for path in args.images:
        img = load_image(path, args.long_side)
        stem = osp.splitext(osp.basename(path))[0]
        tags = None
        if args.scribbles:
            scribble = read_label_png(osp.join(args.scribbles, stem + '.png'))
            tags = sorted(
                int(t) for t in np.unique(scribble)
                if t < model.decode_head.num_classes)
        out = osp.join(args.out_dir, f'{stem}_spml.png')
        save_rgb(out, tile(spml_panels(model, img, tags, args.walk_stride)))
        written.append(out)
    print(f'wrote {len(written)} panels to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
