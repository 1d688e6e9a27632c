"""Write SLIC pseudo-boundary maps for URSS's soft entropy (Eq. 3).

One PNG per image, ``OUT/<stem>.png`` (mode ``L``, 1 on superpixel
boundaries, 0 inside), computed by the same function as the
``SLICBoundaries`` pipeline transform, so the two give identical maps.
Load them with ``data_prefix=dict(img_path='JPEGImages',
seg_map_path='pascal_2012_scribble', gt_boundary_map='slic_800')``, e.g.
``--cfg-options train_dataloader.dataset.data_prefix.gt_boundary_map=
slic_800``; ``SLICBoundaries`` then keeps the loaded maps.

Example::

    python tools/dataset_converters/slic_boundaries.py \\
        data/VOCdevkit/VOC2012/JPEGImages \\
        data/VOCdevkit/VOC2012/slic_800 \\
        --split data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train.txt \\
        --nproc 8
"""
import argparse
import os
import os.path as osp
from functools import partial
from multiprocessing import Pool

from PIL import Image
from tqdm import tqdm

from mmscribble.datasets.split_builder import list_stems, read_image
from mmscribble.datasets.transforms.cues import compute_slic_boundaries
from mmscribble.utils.cli import positive_float, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write SLIC superpixel boundary maps (URSS soft '
        'entropy): OUT/<stem>.png, 1 = boundary, 0 = interior.')
    parser.add_argument('img_dir', help='folder of images')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--split',
        action='append',
        help='split file with one stem per line (repeatable); default: '
        'every image in IMG_DIR with --img-suffix')
    parser.add_argument(
        '--img-suffix', default='.jpg', help='image suffix (default: .jpg)')
    parser.add_argument(
        '--n-segments',
        type=positive_int,
        default=800,
        help='approximate number of superpixels (default: 800, as the '
        "authors' MATLAB superpixels(img, 800))")
    parser.add_argument(
        '--compactness',
        type=positive_float,
        default=10.0,
        help='SLIC (initial) compactness (default: 10)')
    parser.add_argument(
        '--no-slic-zero',
        action='store_true',
        help='plain SLIC instead of SLIC0 (MATLAB default: SLIC0)')
    parser.add_argument(
        '--skip-existing',
        action='store_true',
        help='keep maps already in OUT')
    parser.add_argument(
        '--nproc',
        type=positive_int,
        default=1,
        help='worker processes (default: 1)')
    return parser.parse_args(argv)


def process(stem, img_dir, out, img_suffix, skip_existing, slic_kwargs):
    """Write ``out/<stem>.png``; return False when skipped."""
    dst = osp.join(out, stem + '.png')
    if skip_existing and osp.isfile(dst):
        return False
    img = read_image(osp.join(img_dir, stem + img_suffix))
    bmap = compute_slic_boundaries(img, **slic_kwargs)
    Image.fromarray(bmap).save(dst)  # uint8 (H, W): mode L
    return True


def main(argv=None):
    args = parse_args(argv)
    stems = list_stems(
        args.img_dir, args.split, args.img_suffix, check_files=True)
    os.makedirs(args.out, exist_ok=True)
    work = partial(
        process,
        img_dir=args.img_dir,
        out=args.out,
        img_suffix=args.img_suffix,
        skip_existing=args.skip_existing,
        slic_kwargs=dict(
            n_segments=args.n_segments,
            compactness=args.compactness,
            slic_zero=not args.no_slic_zero))
    bar = partial(
        tqdm, total=len(stems), desc=f'SLIC {args.n_segments}', unit='img')
    if args.nproc == 1:
        written = [work(s) for s in bar(stems)]
    else:
        with Pool(args.nproc) as pool:
            written = list(bar(pool.imap(work, stems, chunksize=8)))
    print(f'wrote {sum(written)} boundary maps to {args.out} '
          f'({len(written) - sum(written)} kept)')


if __name__ == '__main__':
    main()
