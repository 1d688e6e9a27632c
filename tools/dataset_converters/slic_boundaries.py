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

import mmcv
from mmengine import fileio
from PIL import Image
from tqdm import tqdm

from mmscribble.datasets.transforms.cues import compute_slic_boundaries


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {text}')
    return value


def positive_float(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
    return value


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


def list_stems(img_dir, splits, img_suffix):
    """Stems of the split files (in order, without repeats) or the folder.

    Raises:
        FileNotFoundError: a split file or an image does not exist.
        ValueError: nothing to process.
    """
    if splits:
        stems = []
        for split in splits:
            if not osp.isfile(split):
                raise FileNotFoundError(f'split file not found: {split}')
            with open(split) as f:
                stems += [line.strip() for line in f if line.strip()]
        stems = list(dict.fromkeys(stems))
        missing = [
            s for s in stems
            if not osp.isfile(osp.join(img_dir, s + img_suffix))
        ]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} images listed by {splits} are missing from '
                f'{img_dir}, e.g. {missing[0] + img_suffix}')
    else:
        if not osp.isdir(img_dir):
            raise FileNotFoundError(f'image folder not found: {img_dir}')
        stems = sorted(name[:-len(img_suffix)] for name in os.listdir(img_dir)
                       if name.endswith(img_suffix))
    if not stems:
        raise ValueError(f'no image to process in {img_dir} (suffix '
                         f'{img_suffix!r}, splits {splits})')
    return stems


def read_image(path):
    """Decode an image exactly as ``LoadScribbleImageFromFile`` does."""
    img = mmcv.imfrombytes(fileio.get(path), flag='color', backend='cv2')
    if img is None:
        raise ValueError(f'cannot decode image {path}')
    return img


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
    stems = list_stems(args.img_dir, args.split, args.img_suffix)
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
