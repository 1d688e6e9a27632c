"""Convert the ScribbleSup release to scribble label PNGs.

Writes one mode-L PNG per image: class id on stroke pixels, 255 elsewhere.
See docs/converters.md for the definitions (stroke width, overlaps).

Examples::

    # XML release, 3-px strokes, label size taken from the JPEGs
    python tools/dataset_converters/scribblesup.py \\
        scribble_annotation/pascal_2012 \\
        data/VOCdevkit/VOC2012/pascal_2012_scribble \\
        --img-dir data/VOCdevkit/VOC2012/JPEGImages

    # PNG release re-rendered with 5-px strokes
    python tools/dataset_converters/scribblesup.py \\
        pascal_2012_scribble data/pascal_2012_scribble_w5 --width 5
"""
import argparse
from functools import partial

from tqdm import tqdm

from mmscribble.datasets.converters.scribblesup import (DATASET_CLASSES,
                                                        OVERLAP_MODES,
                                                        convert_png_release,
                                                        convert_xml_release,
                                                        detect_release_format)
from mmscribble.utils.cli import positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert the ScribbleSup release (XML or PNG) to '
        'scribble label PNGs (class id on strokes, 255 = unlabeled).')
    parser.add_argument(
        'src', help='folder of ScribbleSup *.xml files or of *.png labels')
    parser.add_argument('out', help='output folder for the label PNGs')
    parser.add_argument(
        '--format',
        choices=('auto', 'xml', 'png'),
        default='auto',
        help='input kind; auto picks it from the files in src')
    parser.add_argument(
        '--width',
        type=positive_int,
        default=3,
        help='stroke width in pixels (default: 3, as the PNG release)')
    parser.add_argument(
        '--keep-width',
        action='store_true',
        help='PNG input: copy the strokes as they are (still validated)')
    parser.add_argument(
        '--img-dir',
        help='XML input: folder of <stem>.jpg; labels take the JPEG size '
        '(default: the <size> of each XML)')
    parser.add_argument(
        '--overlap',
        choices=OVERLAP_MODES,
        default='last',
        help='XML input: pixels under strokes of several classes take the '
        'later stroke (last, as the PNG release) or 255 (ignore)')
    parser.add_argument(
        '--dataset',
        choices=tuple(DATASET_CLASSES),
        default='voc',
        help='class list: voc (21 classes) or context (60)')
    parser.add_argument(
        '--skip-unknown',
        action='store_true',
        help='XML input: skip strokes of unknown classes instead of failing')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    fmt = args.format
    if fmt == 'auto':
        fmt = detect_release_format(args.src)
    classes = DATASET_CLASSES[args.dataset]
    progress = partial(tqdm, desc=f'scribblesup ({fmt})', unit='file')
    if fmt == 'xml':
        if args.keep_width:
            raise SystemExit('--keep-width applies to PNG input only')
        stems = convert_xml_release(
            args.src,
            args.out,
            img_dir=args.img_dir,
            width=args.width,
            overlap=args.overlap,
            classes=classes,
            skip_unknown=args.skip_unknown,
            progress=progress)
    else:
        if args.img_dir is not None:
            raise SystemExit('--img-dir applies to XML input only')
        stems = convert_png_release(
            args.src,
            args.out,
            width=args.width,
            keep_width=args.keep_width,
            num_classes=len(classes),
            progress=progress)
    print(f'wrote {len(stems)} label PNGs to {args.out}')


if __name__ == '__main__':
    main()
