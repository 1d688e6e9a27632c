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

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import DictAction

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.datasets.transforms.superpixels import compute_felzenszwalb
from mmscribble.models.heads.spml_head import SPMLHead
from mmscribble.models.layers.spherical_kmeans import spherical_kmeans
from mmscribble.models.layers.spml_random_walk import spml_pseudo_label
from mmscribble.utils.visualize import (colorize, load_image, load_segmentor,
                                        save_rgb, tile)


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
        type=int,
        default=0,
        help='resize images to this long side (0: keep)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--walk-stride', type=int, default=1)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def random_colours(label: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each id of ``label`` (>= 0) in its own random colour."""
    ids = label.astype(np.int64)
    ids = ids - ids.min()
    rng = np.random.default_rng(seed)
    pal = rng.integers(0, 256, (int(ids.max()) + 1, 3), dtype=np.uint8)
    return pal[ids]


def pca_colours(emb: torch.Tensor) -> np.ndarray:
    """``(D, h, w)`` embedding -> ``(h, w, 3)`` uint8, 3 leading PCs."""
    d, h, w = emb.shape
    x = emb.reshape(d, -1).t().double()
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:3].t()
    lo, hi = proj.min(0).values, proj.max(0).values
    proj = (proj - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    return (proj.reshape(h, w, 3).numpy() * 255).round().astype(np.uint8)


def voc_palette(n: int = 256):
    pal = []
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal.append([r, g, b])
    return pal


@torch.no_grad()
def panels(model, img: np.ndarray, tags=None, walk_stride: int = 1):
    """The four ``(H, W, 3)`` RGB panels of a BGR image."""
    head = model.decode_head
    device = next(model.parameters()).device
    h, w = img.shape[:2]
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    data = model.data_preprocessor(dict(inputs=[inputs.to(device)]), False)
    emb, logits = head.forward_embedding(model.extract_feat(data['inputs']))
    size = (w, h)
    sp = random_colours(compute_felzenszwalb(img), seed=1)
    clusters = spherical_kmeans(
        emb,
        head.num_clusters,
        head.kmeans_iterations,
        coord_weight=head.coord_weight)[0]
    km = cv2.resize(
        random_colours(clusters.cpu().numpy(), seed=2),
        size,
        interpolation=cv2.INTER_NEAREST)
    pca = cv2.resize(
        pca_colours(emb[0].cpu()), size, interpolation=cv2.INTER_LINEAR)
    if walk_stride > 1:
        emb = F.normalize(
            F.avg_pool2d(emb, walk_stride, ceil_mode=True), dim=1)
        logits = F.avg_pool2d(logits, walk_stride, ceil_mode=True)
    tag_mask = None
    if tags is not None:
        tag_mask = torch.zeros(
            1, head.num_classes, dtype=torch.bool, device=device)
        tag_mask[0, list(tags)] = True
    refined, _ = spml_pseudo_label(emb, logits, tag_mask)
    label = F.interpolate(
        refined, size=(h, w), mode='bilinear',
        align_corners=False)[0].argmax(0)
    pseudo = colorize(label.cpu().numpy(), voc_palette())
    return [sp, km, pca, pseudo]


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
        save_rgb(out, tile(panels(model, img, tags, args.walk_stride)))
        written.append(out)
    print(f'wrote {len(written)} panels to {args.out_dir}')
    return written


if __name__ == '__main__':
    main()
