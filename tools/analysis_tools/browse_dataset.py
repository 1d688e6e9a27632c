"""Look at a dataset: its labels over its images, with a class legend.

Works on a ``ScribbleDataset`` (mmseg's ``browse_dataset.py`` stops with
"class information is not provided" there). Scribbles for the train split,
dense masks for val / test::

    python tools/analysis_tools/browse_dataset.py CONFIG --out DIR \
        [--split train] [--num 20]
"""
import argparse

from mmengine.config import DictAction

from mmscribble.utils.cli import non_negative_int, unit_float
from mmscribble.visualization.dataset_browser import (SPLITS, browse_samples,
                                                      build_split)


def parse_args():
    parser = argparse.ArgumentParser(description='Draw a dataset\'s labels')
    parser.add_argument('config', help='config file')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--split', choices=SPLITS, default='train')
    parser.add_argument(
        '--num', type=non_negative_int, default=20,
        help='samples to draw (0: all; default 20)')
    parser.add_argument(
        '--opacity', type=unit_float, default=0.7,
        help='weight of the class colours (default 0.7)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    dataset = build_split(args.config, args.split, args.cfg_options)
    written = browse_samples(dataset, args.out, args.num, args.opacity)
    print(f'{len(written)} picture(s) in {args.out}')


if __name__ == '__main__':
    main()
