"""Scribbles from dense masks: a skeleton stroke per region plus
background strokes (rule in
:mod:`mmscribble.datasets.converters.masks_to_scribbles`; defaults match
MSCMR's expert scribbles on its native grid, see docs/converters.md).

Example::

    python tools/dataset_converters/masks_to_scribbles.py \\
        data/my_set/ann_dir/dense data/my_set/ann_dir/scribble \\
        --width 4 --length-fraction 0.8 --seed 0
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.masks_to_scribbles import (
    BACKGROUND_MODES, POSITIONS, ScribbleParams, masks_to_scribbles_dir)
from mmscribble.utils.cli import (non_negative_float, non_negative_int,
                                  positive_int, unit_float)


def parse_args(argv=None):
    d = ScribbleParams()
    parser = argparse.ArgumentParser(
        description='Write scribble label PNGs from dense mask PNGs.')
    parser.add_argument('src', help='folder of dense mask PNGs (class ids)')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--width', type=positive_int, default=d.width)
    parser.add_argument(
        '--rim',
        type=non_negative_float,
        default=d.rim,
        help='trace regions on their rim this wide (0: medial axis)')
    parser.add_argument(
        '--length-fraction', type=unit_float, default=d.length_fraction)
    parser.add_argument('--min-area', type=positive_int, default=d.min_area)
    parser.add_argument(
        '--background', choices=BACKGROUND_MODES, default=d.background)
    parser.add_argument(
        '--band',
        type=non_negative_float,
        nargs=2,
        default=d.band,
        metavar=('INNER', 'OUTER'))
    parser.add_argument(
        '--background-width', type=positive_int, default=d.background_width)
    parser.add_argument('--position', choices=POSITIONS, default=d.position)
    parser.add_argument('--background-index', type=non_negative_int, default=0)
    parser.add_argument('--seed', type=non_negative_int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        params = ScribbleParams(
            width=args.width,
            rim=args.rim,
            length_fraction=args.length_fraction,
            min_area=args.min_area,
            background=args.background,
            band=tuple(args.band),
            background_width=args.background_width,
            position=args.position,
            background_index=args.background_index)
    except ValueError as e:
        raise SystemExit(f'masks_to_scribbles: {e}')
    stems = masks_to_scribbles_dir(
        args.src,
        args.out,
        params,
        seed=args.seed,
        progress=partial(tqdm, desc='masks to scribbles', unit='file'))
    print(f'wrote {len(stems)} scribble PNGs to {args.out}')


if __name__ == '__main__':
    main()
