"""Write CDSP's distance maps (Eq. 14, 16) once, instead of per sample.

For every stem, ``OUT_SCRIBBLE/<stem>.png`` (``255 d_s``, from the
scribbles) and ``OUT_PSEUDO/<stem>.png`` (``255 d_c``, from the
pseudo-label), mode ``L`` uint8, computed by the functions of the
``CDSPDistanceMaps`` transform, so loaded and online maps are identical.
Load them with ``data_prefix=dict(..., gt_distance_map='distance_map',
gt_distance_pseudo='distance_pseudo')``; ``CDSPDistanceMaps`` then keeps
the loaded maps. The authors' own ``distance_map`` / ``distance_pseudo``
folders (RGB PNGs with equal channels) load the same way.

Example::

    python tools/dataset_converters/cdsp_distance_maps.py \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble \\
        data/VOCdevkit/VOC2012/bmp_pseudolabel \\
        --split data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train.txt \\
        --out-scribble data/VOCdevkit/VOC2012/distance_map \\
        --out-pseudo data/VOCdevkit/VOC2012/distance_pseudo
"""
import argparse
import os
import os.path as osp

from PIL import Image
from tqdm import tqdm

from mmscribble.datasets.split_builder import list_stems
from mmscribble.datasets.transforms.distance_maps import (pseudo_distance_map,
                                                          scribble_distance_map
                                                          )
from mmscribble.datasets.transforms.loading import read_label_png


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write CDSP distance maps: 255 d_s (scribbles, Eq. 16) '
        'and 255 d_c (pseudo-label boundary, Eq. 14) as uint8 PNGs.')
    parser.add_argument('scribble_dir', help='folder of scribble PNGs')
    parser.add_argument(
        'pseudo_dir', nargs='?', help='folder of pseudo-label PNGs')
    parser.add_argument('--out-scribble', help='output folder of 255 d_s')
    parser.add_argument('--out-pseudo', help='output folder of 255 d_c')
    parser.add_argument(
        '--split',
        action='append',
        help='split file, one stem per line (repeatable); default: every '
        'PNG of SCRIBBLE_DIR')
    parser.add_argument(
        '--lam-s', type=float, default=1.0, help='lambda_s (default: 1)')
    parser.add_argument(
        '--lam-c', type=float, default=6.0, help='lambda_c (default: 6)')
    parser.add_argument('--background', type=int, default=0)
    parser.add_argument('--ignore-index', type=int, default=255)
    args = parser.parse_args(argv)
    if not (args.out_scribble or args.out_pseudo):
        parser.error('give --out-scribble and/or --out-pseudo')
    if args.out_pseudo and not args.pseudo_dir:
        parser.error('--out-pseudo needs PSEUDO_DIR')
    return args


def main(argv=None):
    args = parse_args(argv)
    stems = list_stems(args.scribble_dir, args.split)
    jobs = []
    if args.out_scribble:
        jobs.append((args.scribble_dir, args.out_scribble,
                     scribble_distance_map, args.lam_s))
    if args.out_pseudo:
        jobs.append((args.pseudo_dir, args.out_pseudo, pseudo_distance_map,
                     args.lam_c))
    for src_dir, out_dir, fn, lam in jobs:
        os.makedirs(out_dir, exist_ok=True)
        for stem in tqdm(stems, desc=osp.basename(out_dir), unit='file'):
            label = read_label_png(osp.join(src_dir, stem + '.png'))
            out = fn(label, lam, args.background, args.ignore_index)
            Image.fromarray(
                out, mode='L').save(osp.join(out_dir, stem + '.png'))
    print(f'wrote {len(stems)} map(s) to each of '
          f'{[job[1] for job in jobs]}')


if __name__ == '__main__':
    main()
