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

from mmscribble.apis.inference import load_segmentor
from mmscribble.datasets.transforms.distance_maps import (pseudo_distance_map,
                                                          scribble_distance_map
                                                          )
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.visualization.cdsp_maps import del_weight, lorm_affinity
from mmscribble.visualization.drawing import (jet, load_image, overlay,
                                              save_rgb)
from mmscribble.visualization.palette import wrapped_palette


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


def main(argv=None):
    args = parse_args(argv)
    img = load_image(args.img, 0)
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
    palette = wrapped_palette()  # VOC's; other ids wrap around it

    def save(name, picture):
        path = osp.join(args.out_dir, f'{stem}_{name}.png')
        save_rgb(path, picture)
        written.append(path)

    save('scribble', overlay(rgb, scribble, palette, 0.8))
    save('pseudo', overlay(rgb, pseudo, palette, 0.6))
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
        model = load_segmentor(args.config, args.checkpoint, args.device)
        y, x = args.pixel or (img.shape[0] // 2, img.shape[1] // 2)
        row = lorm_affinity(model, img, (y, x))
        save(f'lorm_{y}_{x}', jet(row, size=img.shape[:2])[..., ::-1])
    print('\n'.join(written))
    return written


if __name__ == '__main__':
    main()
