"""Scribble-shrink: keep the central (1 - r) of every scribble.

Deterministic (no seed): each scribble keeps the central part of its
skeleton's longest path, with its full stroke width, and a single pixel at
r = 1. See docs/converters.md.

Example::

    python tools/dataset_converters/scribble_shrink.py \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble_shrink0.5 --ratio 0.5
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.scribble_variants import shrink_dir
from mmscribble.utils.cli import unit_float


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Shorten every scribble by RATIO of its length '
        '(scribble-shrink benchmark).')
    parser.add_argument('src', help='folder of scribble label PNGs')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--ratio',
        type=unit_float,
        required=True,
        help='fraction of each scribble removed, in [0, 1] (1 = one pixel)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    stems = shrink_dir(
        args.src,
        args.out,
        args.ratio,
        progress=partial(
            tqdm, desc=f'scribble-shrink {args.ratio:g}', unit='file'))
    print(f'wrote {len(stems)} label PNGs to {args.out}')


if __name__ == '__main__':
    main()
