"""LabelMe JSON scribbles (line strips, lines, polygons) to scribble PNGs
(:mod:`mmscribble.datasets.converters.annotation_tools`).

Example::

    python tools/dataset_converters/labelme_scribbles.py labelme_json \\
        data/my_set/ann_dir/scribble --classes background cat dog --width 3
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.annotation_tools import (
    POLYGON_MODES, convert_labelme_dir, add_class_arguments, classes_from_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert LabelMe JSON scribbles to label PNGs.')
    parser.add_argument('src', help='folder of LabelMe .json files')
    parser.add_argument('out', help='output folder (PNGs, classes.txt)')
    add_class_arguments(parser)
    parser.add_argument('--polygons', choices=POLYGON_MODES, default='outline')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    classes = classes_from_args(args)
    stems = convert_labelme_dir(
        args.src,
        args.out,
        classes,
        args.width,
        args.polygons,
        progress=partial(tqdm, desc='LabelMe', unit='file'))
    print(f'wrote {len(stems)} scribble PNGs and classes.txt to {args.out}')


if __name__ == '__main__':
    main()
