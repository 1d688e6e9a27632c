"""CVAT-for-images 1.1 XML polylines to scribble PNGs
(:mod:`mmscribble.datasets.converters.annotation_tools`).

Example::

    python tools/dataset_converters/cvat_scribbles.py annotations.xml \\
        data/my_set/ann_dir/scribble --class-file classes.txt --width 3
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.annotation_tools import (
    convert_cvat_xml, add_class_arguments, classes_from_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert CVAT XML polylines to scribble label PNGs.')
    parser.add_argument('xml', help='CVAT for images 1.1 annotations.xml')
    parser.add_argument('out', help='output folder (PNGs, classes.txt)')
    add_class_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    classes = classes_from_args(args)
    stems = convert_cvat_xml(
        args.xml,
        args.out,
        classes,
        args.width,
        progress=partial(tqdm, desc='CVAT', unit='image'))
    print(f'wrote {len(stems)} scribble PNGs and classes.txt to {args.out}')


if __name__ == '__main__':
    main()
