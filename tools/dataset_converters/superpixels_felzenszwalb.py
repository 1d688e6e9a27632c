"""Write Felzenszwalb over-segmentations for SPML's image relation.

One 16-bit PNG per image, ``OUT/<stem>.png`` (mode ``I;16``, region ids
``0..R-1``), computed by the same function as the
``FelzenszwalbSuperpixels`` pipeline transform, so the two give identical
maps, and a summary of the regions per image. Load them with
``--cfg-options train_dataloader.dataset.data_prefix.gt_superpixel=
felzenszwalb``; the transform then keeps the loaded maps.

Example::

    python tools/dataset_converters/superpixels_felzenszwalb.py \\
        data/VOCdevkit/VOC2012/JPEGImages \\
        data/VOCdevkit/VOC2012/felzenszwalb \\
        --split data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train.txt \\
        --nproc 8
"""
import argparse
import os
import os.path as osp
from functools import partial
from multiprocessing import Pool

import numpy as np
from PIL import Image
from tqdm import tqdm

from mmscribble.datasets.split_builder import list_stems, read_image
from mmscribble.datasets.transforms.superpixels import compute_felzenszwalb


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write Felzenszwalb over-segmentations (SPML image '
        'relation): OUT/<stem>.png, 16-bit region ids.')
    parser.add_argument('img_dir', help='folder of images')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--split',
        action='append',
        help='split file, one stem per line (repeatable)')
    parser.add_argument('--img-suffix', default='.jpg')
    parser.add_argument('--scale', type=float, default=500.0)
    parser.add_argument('--sigma', type=float, default=0.8)
    parser.add_argument('--min-size', type=int, default=200)
    parser.add_argument('--skip-existing', action='store_true')
    parser.add_argument('--nproc', type=int, default=1)
    return parser.parse_args(argv)


def process(stem, img_dir, out, img_suffix, skip_existing, kwargs):
    """Write ``out/<stem>.png``; return its number of regions (or -1)."""
    dst = osp.join(out, stem + '.png')
    if skip_existing and osp.isfile(dst):
        return -1
    img = read_image(osp.join(img_dir, stem + img_suffix))
    regions = compute_felzenszwalb(img, **kwargs)
    if regions.max() > 65535:
        raise ValueError(f'{stem}: {regions.max() + 1} regions do not fit '
                         'a 16-bit PNG; raise --scale or --min-size')
    Image.fromarray(regions.astype(np.uint16)).save(dst)
    return int(regions.max()) + 1


def main(argv=None):
    args = parse_args(argv)
    compute_felzenszwalb(
        np.zeros((2, 2, 3), np.uint8), args.scale, args.sigma, args.min_size)
    stems = list_stems(
        args.img_dir, args.split, args.img_suffix, check_files=True)
    os.makedirs(args.out, exist_ok=True)
    work = partial(
        process,
        img_dir=args.img_dir,
        out=args.out,
        img_suffix=args.img_suffix,
        skip_existing=args.skip_existing,
        kwargs=dict(
            scale=args.scale, sigma=args.sigma, min_size=args.min_size))
    bar = partial(tqdm, total=len(stems), desc='felzenszwalb', unit='img')
    if args.nproc <= 1:
        counts = [work(s) for s in bar(stems)]
    else:
        with Pool(args.nproc) as pool:
            counts = list(bar(pool.imap(work, stems, chunksize=8)))
    made = np.array([c for c in counts if c >= 0])
    summary = (f'wrote {len(made)} maps to {args.out} '
               f'({len(counts) - len(made)} kept)')
    if len(made):
        summary += (f'; regions per image: median {np.median(made):g}, '
                    f'mean {made.mean():.1f}, min {made.min()}, '
                    f'max {made.max()}')
    print(summary)
    return made


if __name__ == '__main__':
    main()
