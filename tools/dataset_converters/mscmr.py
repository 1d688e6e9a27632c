"""Convert MSCMRseg LGE volumes (NIfTI) to 2-D PNG slices.

Writes OUT/{img_dir,ann_dir}/{train,val}/subjectX_DE_sliceNN.png,
OUT/splits/{train,val}.txt and OUT/meta.json (the geometry that
mmscribble.datasets.converters.mscmr.restore_volume inverts).

Example::

    python tools/dataset_converters/mscmr.py ../shared/data/mscmr \\
        data/mscmr --spacing 1.367 --crop-size 212 212
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.mscmr import (DEFAULT_CROP,
                                                  DEFAULT_PERCENTILES,
                                                  DEFAULT_SPACING,
                                                  SPLIT_LABELS, convert_mscmr)
from mmscribble.utils.cli import positive_float, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert MSCMR NIfTI volumes to resampled, centre-'
        'cropped 2-D PNG slices with split files and meta.json.')
    parser.add_argument('src', help='folder holding train/ and val/')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--spacing',
        type=positive_float,
        default=DEFAULT_SPACING,
        help=f'in-plane spacing in mm (default: {DEFAULT_SPACING})')
    crop = parser.add_mutually_exclusive_group()
    crop.add_argument(
        '--crop-size',
        type=positive_int,
        nargs=2,
        metavar=('H', 'W'),
        default=list(DEFAULT_CROP),
        help='centre crop, padded when the slice is smaller (default: '
        f'{DEFAULT_CROP[0]} {DEFAULT_CROP[1]})')
    crop.add_argument(
        '--no-crop',
        action='store_true',
        help='keep the whole resampled slice')
    parser.add_argument(
        '--percentiles',
        type=float,
        nargs=2,
        metavar=('LOW', 'HIGH'),
        default=list(DEFAULT_PERCENTILES),
        help='per-volume intensity clip percentiles (default: '
        f'{DEFAULT_PERCENTILES[0]} {DEFAULT_PERCENTILES[1]})')
    parser.add_argument(
        '--splits',
        nargs='+',
        choices=tuple(SPLIT_LABELS),
        default=list(SPLIT_LABELS),
        help='splits to convert (default: all)')
    parser.add_argument(
        '--subjects',
        nargs='+',
        help='volume stems to convert, e.g. subject2_DE (default: all)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    meta = convert_mscmr(
        args.src,
        args.out,
        splits=args.splits,
        subjects=args.subjects,
        target_spacing=args.spacing,
        crop_size=None if args.no_crop else args.crop_size,
        percentiles=tuple(args.percentiles),
        progress=partial(tqdm, desc='mscmr', unit='volume'))
    num_slices = sum(len(v['slices']) for v in meta['volumes'].values())
    print(f'wrote {num_slices} slices of {len(meta["volumes"])} volumes to '
          f'{args.out}')


if __name__ == '__main__':
    main()
