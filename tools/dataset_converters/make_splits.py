"""Write ``splits/<name>.txt`` from the files of a folder: seeded ratios,
and / or fixed lists (:mod:`mmscribble.datasets.converters.splits`).

Example::

    python tools/dataset_converters/make_splits.py data/my_set/img_dir \\
        data/my_set/splits --ratio train=0.8 val=0.2 --seed 0 --suffix .jpg
"""
import argparse

from mmscribble.datasets.converters.splits import (folder_stems, make_splits,
                                                   write_splits)
from mmscribble.datasets.split_builder import read_split_files
from mmscribble.utils.cli import non_negative_int


def name_value(text: str):
    name, sep, value = text.partition('=')
    if not sep or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=VALUE, got {text!r}')
    return name, value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write split files (one stem per line) from a folder.')
    parser.add_argument('folder', help='folder whose files are split')
    parser.add_argument('out', help='output folder of <name>.txt')
    parser.add_argument(
        '--ratio',
        type=name_value,
        nargs='+',
        default=[],
        metavar='NAME=RATIO',
        help='e.g. train=0.8 val=0.2 (sum to 1)')
    parser.add_argument(
        '--list',
        type=name_value,
        action='append',
        default=[],
        metavar='NAME=FILE',
        help='a split taken as listed in FILE (repeatable)')
    parser.add_argument('--suffix', default='.png')
    parser.add_argument('--seed', type=non_negative_int, default=0)
    args = parser.parse_args(argv)
    try:
        args.ratio = {k: float(v) for k, v in args.ratio}
    except ValueError:
        parser.error(f'--ratio values must be numbers, got {args.ratio}')
    if not args.ratio and not args.list:
        parser.error('give --ratio and / or --list')
    return args


def main(argv=None):
    args = parse_args(argv)
    fixed = {name: read_split_files([path]) for name, path in args.list}
    splits = make_splits(
        folder_stems(args.folder, args.suffix), args.ratio, args.seed, fixed)
    for path, stems in zip(write_splits(splits, args.out), splits.values()):
        print(f'{path}: {len(stems)} stems')


if __name__ == '__main__':
    main()
