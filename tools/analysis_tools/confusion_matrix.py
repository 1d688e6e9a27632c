"""Confusion matrix of saved predictions over a config's test split.

Works on a ``ScribbleDataset`` (mmseg's ``confusion_matrix.py`` stops with
``KeyError: 'classes'`` there). Predictions are the label PNGs of
``tools/test.py --out``::

    python tools/test.py CONFIG CHECKPOINT --out preds
    python tools/analysis_tools/confusion_matrix.py CONFIG preds --out DIR

writes ``DIR/confusion.csv`` (pixel counts, rows ground truth) and
``DIR/confusion.png`` (row-normalised, white 0 to blue 1).
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from mmscribble.evaluation.dataset_confusion import (confusion_picture,
                                                     confusion_table,
                                                     dataset_confusion)
from mmscribble.visualization import save_rgb
from mmscribble.visualization.dataset_browser import SPLITS, build_split


def parse_args():
    parser = argparse.ArgumentParser(
        description='Confusion matrix of saved predictions')
    parser.add_argument('config', help='config file')
    parser.add_argument('pred_dir', help='tools/test.py --out folder')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value')
    parser.add_argument(
        '--split', choices=SPLITS, default='test',
        help='the split whose ground truth is compared (default: test)')
    return parser.parse_args()


def main():
    args = parse_args()
    if not osp.isdir(args.pred_dir):
        raise FileNotFoundError(f'prediction folder not found: '
                                f'{args.pred_dir}')
    dataset = build_split(args.config, args.split, args.cfg_options)
    conf, classes = dataset_confusion(dataset, args.pred_dir)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, 'confusion.csv'), 'w') as f:
        f.write(confusion_table(conf, classes))
    save_rgb(osp.join(args.out, 'confusion.png'), confusion_picture(conf))
    print(confusion_table(conf, classes), end='')


if __name__ == '__main__':
    main()
