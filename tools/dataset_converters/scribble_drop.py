"""Scribble-drop: drop all scribbles of each object with probability r.

Reproducible: the output of a file depends only on --seed, its file stem
and its content. See docs/converters.md for what a scribble and an object
are.

Example::

    python tools/dataset_converters/scribble_drop.py \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble_drop0.3 \\
        --ratio 0.3 --seed 0 \\
        --instance-dir data/VOCdevkit/VOC2012/SegmentationObject
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.scribble_variants import drop_dir
from mmscribble.utils.cli import (non_negative_float, non_negative_int,
                                  unit_float)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Drop all scribbles of each object with probability '
        'RATIO (scribble-drop benchmark).')
    parser.add_argument('src', help='folder of scribble label PNGs')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--ratio',
        type=unit_float,
        required=True,
        help='drop probability per object, in [0, 1]')
    parser.add_argument(
        '--seed',
        type=non_negative_int,
        default=0,
        help='global seed; each file draws from (seed, file stem)')
    parser.add_argument(
        '--drop-background',
        action='store_true',
        help='treat background scribbles as droppable objects too '
        '(default: background scribbles are always kept)')
    parser.add_argument(
        '--link-distance',
        type=non_negative_float,
        default=6.0,
        help='scribbles of one class at most this many pixels apart form '
        'one object (default: 6; 0 = every scribble is an object)')
    parser.add_argument(
        '--instance-dir',
        help='folder of VOC SegmentationObject PNGs: scribbles on the same '
        'instance form one object (files without one fall back to '
        '--link-distance)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    result = drop_dir(
        args.src,
        args.out,
        args.ratio,
        seed=args.seed,
        keep_background=not args.drop_background,
        link_distance=args.link_distance,
        instance_dir=args.instance_dir,
        progress=partial(
            tqdm, desc=f'scribble-drop {args.ratio:g}', unit='file'))
    msg = f'wrote {len(result["written"])} label PNGs to {args.out}'
    if args.instance_dir is not None:
        msg += (f' ({len(result["with_instances"])} grouped by instance '
                'maps)')
    print(msg)


if __name__ == '__main__':
    main()
