"""Score pseudo-labels against dense ground truth (CDSP Tab. 3 "base").

The mIoU of the pseudo-labels themselves, before any training: one
confusion matrix over every pixel of the listed images whose ground truth
is not ``--ignore-index``; a pixel without a pseudo-label (255) counts as
wrong for its ground-truth class (it is in the union, not the
intersection), so a source cannot score higher by abstaining.

Example (the train_aug images that have dense ground truth)::

    python tools/dataset_converters/pseudo_label_miou.py \\
        data/VOCdevkit/VOC2012/bmp_pseudolabel \\
        data/VOCdevkit/VOC2012/SegmentationClassAug \\
        --split data/VOCdevkit/VOC2012/ImageSets/SegmentationAug/train.txt \\
        --num-classes 21
"""
import argparse

from mmscribble.evaluation.pseudo_label_miou import pseudo_label_miou


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mIoU of pseudo-label PNGs against dense ground truth')
    parser.add_argument('pseudo_dir', help='folder of pseudo-label PNGs')
    parser.add_argument('gt_dir', help='folder of dense ground-truth PNGs')
    parser.add_argument(
        '--split',
        help='one stem per line (default: every '
        'PNG of PSEUDO_DIR)')
    parser.add_argument('--num-classes', type=int, required=True)
    parser.add_argument('--ignore-index', type=int, default=255)
    parser.add_argument('--class-names', nargs='+', help='for the table')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = pseudo_label_miou(args.pseudo_dir, args.gt_dir, args.num_classes,
                            [args.split] if args.split else None,
                            args.ignore_index)
    conf = out['confusion']
    names = args.class_names or [str(i) for i in range(args.num_classes)]
    print(f'{out["images"]} image(s), {int(conf.sum())} scored pixels, '
          f'{int(conf[:, -1].sum())} without pseudo-label')
    print('| class | IoU (%) |\n| --- | ---: |')
    for name, v in zip(names, out['iou']):
        print(f'| {name} | {100 * v:.2f} |')
    print(f'mIoU: {out["miou"]:.2f}')
    return out['miou']


if __name__ == '__main__':
    main()
