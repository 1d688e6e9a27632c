"""Compare generated scribbles with MSCMR's expert ones, per class:
scribbled pixels per slice, coverage, strokes per slice and stroke width
(:mod:`mmscribble.datasets.converters.scribble_stats`).

Example::

    python tools/analysis_tools/scribble_stats.py ../shared/data/mscmr
"""
import argparse

from mmscribble.datasets.converters.masks_to_scribbles import ScribbleParams
from mmscribble.datasets.converters.scribble_stats import (format_table,
                                                           mscmr_comparison)
from mmscribble.utils.cli import (non_negative_float, non_negative_int,
                                  positive_int, unit_float)


def parse_args(argv=None):
    d = ScribbleParams()
    parser = argparse.ArgumentParser(
        description='Expert (MSCMR train) against generated (from the val '
        'masks) scribble statistics, as a markdown table.')
    parser.add_argument('root', help='raw MSCMR folder (train/, val/)')
    parser.add_argument('--width', type=positive_int, default=d.width)
    parser.add_argument('--rim', type=non_negative_float, default=d.rim)
    parser.add_argument(
        '--length-fraction', type=unit_float, default=d.length_fraction)
    parser.add_argument(
        '--band', type=non_negative_float, nargs=2, default=d.band)
    parser.add_argument('--seed', type=non_negative_int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    params = ScribbleParams(
        width=args.width,
        rim=args.rim,
        length_fraction=args.length_fraction,
        band=tuple(args.band))
    print(format_table(mscmr_comparison(args.root, params, args.seed)))


if __name__ == '__main__':
    main()
