"""Picture CDSP's cues for one image (the paper's Fig. 5, and more).

Writes, at the image size (JET colour map on a fixed ``[0, 1]`` scale,
blue = 0, red = 1, for the continuous maps):

* ``<stem>_scribble.png``: the scribbles over the image;
* ``<stem>_pseudo.png``: the pseudo-label over the image;
* ``<stem>_ds.png``: ``d_s`` (Eq. 16) at ``--lam-s``;
* ``<stem>_dc.png``: ``d_c`` (Eq. 14) at ``--lam-c``;
* ``<stem>_del_weight.png``: the per-pixel weight of the prediction
  entropy in the distance entropy loss, ``d_s / N_s + d_c / N_c``
  (Eq. 15, 17, 18 with the paper's normalisation), divided by its maximum;
* with ``--config`` and ``--checkpoint`` of a trained CDSP model,
  ``<stem>_lorm_<y>_<x>.png``: the LoRM affinity of pixel ``(y, x)``,
  the row ``A'_i`` (Eq. 10-11) of its feature cell over every cell,
  divided by its maximum, upsampled to the image (no augmentation; the
  image is normalised by the config's data preprocessor).

With several ``--lam-s`` / ``--lam-c`` values, one ``d_s`` / ``d_c``
panel per value (Fig. 5 shows 1, 3, 5 and 2, 4, 6).

Example (``VOC=data/VOCdevkit/VOC2012``)::

    python tools/analysis_tools/cdsp_visualize.py \\
        $VOC/JPEGImages/2007_000032.jpg \\
        $VOC/pascal_2012_scribble/2007_000032.png \\
        $VOC/bmp_pseudolabel/2007_000032.png --out-dir vis \\
        --lam-s 1 3 5 --lam-c 2 4 6
"""
import argparse
import os
import os.path as osp

import mmcv
import numpy as np
import torch

from mmscribble.datasets.transforms.distance_maps import (pseudo_distance_map,
                                                          scribble_distance_map
                                                          )
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.utils.visualize import jet, overlay, save_rgb

# VOC's palette; other datasets' class ids wrap around it.
_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
            [128, 0, 128], [0, 128, 128], [128, 128, 128], [64, 0, 0],
            [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128],
            [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0],
            [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Picture CDSP's pseudo-label, distance maps, DEL "
        'weight and LoRM affinity (Fig. 5)')
    parser.add_argument('img', help='image file')
    parser.add_argument('scribble', help='scribble PNG (255 = unlabeled)')
    parser.add_argument('pseudo', help='pseudo-label PNG')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--lam-s', type=float, nargs='+', default=[1.0])
    parser.add_argument('--lam-c', type=float, nargs='+', default=[6.0])
    parser.add_argument('--config', help='trained CDSP config (LoRM panel)')
    parser.add_argument('--checkpoint', help='its checkpoint')
    parser.add_argument(
        '--pixel',
        type=int,
        nargs=2,
        metavar=('Y', 'X'),
        help='pixel of the LoRM panel (default: the image centre)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if bool(args.config) != bool(args.checkpoint):
        parser.error('--config and --checkpoint go together')
    return args


def _palette(label):
    return [_PALETTE[i % len(_PALETTE)] for i in range(256)]


def del_weight(ds: np.ndarray, dc: np.ndarray) -> np.ndarray:
    """``d_s / N_s + d_c / N_c`` (uint8 ``255 d`` maps in), max-scaled."""
    w = np.zeros(ds.shape)
    for d in (ds.astype(np.float64) / 255, dc.astype(np.float64) / 255):
        n = np.count_nonzero(d)
        if n:
            w += d / n
    return w / w.max() if w.max() > 0 else w


def lorm_affinity(model, img_bgr: np.ndarray, pixel) -> np.ndarray:
    """The LoRM row ``A'_i`` of ``pixel``'s cell, ``(h, w)`` in [0, 1]."""
    from mmscribble.models.layers.lorm import lorm_affinity_dense
    head = model.decode_head
    if getattr(head, 'lorm', None) is None:
        raise TypeError('the model has no LoRM (decode_head.lorm is None)')
    device = next(model.parameters()).device
    inputs = torch.from_numpy(
        np.ascontiguousarray(img_bgr.transpose(2, 0, 1))).float()
    data = model.data_preprocessor(dict(inputs=[inputs]), False)
    with torch.no_grad():
        feat = model.extract_feat(
            data['inputs'].to(device))[head.lorm_in_index]
        a = lorm_affinity_dense(head.lorm.query(feat), head.lorm.key(feat))
    h, w = feat.shape[-2:]
    stride = -(-img_bgr.shape[0] // h)
    i = min(pixel[0] // stride, h - 1) * w + min(pixel[1] // stride, w - 1)
    row = a[0, i].view(h, w).cpu().numpy()
    return row / row.max()


def main(argv=None):
    args = parse_args(argv)
    img = mmcv.imread(args.img)
    if img is None:
        raise ValueError(f'cannot decode image {args.img}')
    scribble = read_label_png(args.scribble)
    pseudo = read_label_png(args.pseudo)
    for name, lab in (('scribble', scribble), ('pseudo', pseudo)):
        if lab.shape != img.shape[:2]:
            raise ValueError(f'{name} has size {lab.shape}, the image '
                             f'{img.shape[:2]}')
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.img))[0]
    rgb = img[..., ::-1]
    written = []

    def save(name, picture):
        path = osp.join(args.out_dir, f'{stem}_{name}.png')
        save_rgb(path, picture)
        written.append(path)

    save('scribble', overlay(rgb, scribble, _palette(scribble), 0.8))
    save('pseudo', overlay(rgb, pseudo, _palette(pseudo), 0.6))
    many = len(args.lam_s) > 1 or len(args.lam_c) > 1
    for lam in args.lam_s:
        ds = scribble_distance_map(scribble, lam)
        save(f'ds{lam:g}' if many else 'ds', jet(ds / 255.)[..., ::-1])
    for lam in args.lam_c:
        dc = pseudo_distance_map(pseudo, lam)
        save(f'dc{lam:g}' if many else 'dc', jet(dc / 255.)[..., ::-1])
    weight = del_weight(
        scribble_distance_map(scribble, args.lam_s[0]),
        pseudo_distance_map(pseudo, args.lam_c[0]))
    save('del_weight', jet(weight)[..., ::-1])
    if args.config:
        from mmscribble.utils.visualize import load_segmentor
        model = load_segmentor(args.config, args.checkpoint, args.device)
        y, x = args.pixel or (img.shape[0] // 2, img.shape[1] // 2)
        row = lorm_affinity(model, img, (y, x))
        save(f'lorm_{y}_{x}', jet(row, size=img.shape[:2])[..., ::-1])
    print('\n'.join(written))
    return written


if __name__ == '__main__':
    main()
