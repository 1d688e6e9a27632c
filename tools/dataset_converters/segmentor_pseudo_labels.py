"""Write a trained segmentor's predictions as pseudo-label PNGs (CDSP).

CDSP trains on scribbles plus dense pseudo-labels (``gt_pseudo_seg``);
any segmentor of this package can provide them: its prediction on every
training image, written as ``OUT/<stem>.png`` (mode ``L``, class ids) and
read back with ``data_prefix=dict(..., gt_pseudo_seg=OUT)``, relative to
the dataset's ``data_root`` (pass an absolute OUT or one under it).

The images are those of the config's training split, run through the
config's ``test_pipeline`` (its resizing, the model's ``test_cfg``: whole
or sliding window) and brought back to the original size. With
``--scribble-override`` every scribbled pixel takes its scribble's class.

``--split val`` (or ``test``) writes the images of the config's
``val_dataloader`` (``test_dataloader``) instead: where the training
images have no dense ground truth (MSCMR), the pseudo-labels of a split
that has it can be scored with ``pseudo_label_miou.py``. The annotations
loaded are then that split's (a CAM config takes its image tags from
them); ``--scribble-override`` would copy dense ground truth, so leave it
off there. ``--cfg-options`` keys name that dataloader
(``val_dataloader.dataset.data_root=...``).

Example::

    python tools/dataset_converters/segmentor_pseudo_labels.py \\
        $CONFIG \\
        work_dirs/pce/iter_20000.pth data/VOCdevkit/VOC2012/pce_pseudolabel \\
        --scribble-override
"""
import argparse
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from PIL import Image
from tqdm import tqdm

from mmscribble.apis.inference import load_segmentor
from mmscribble.datasets.split_builder import (build_split_dataset,
                                               split_dataset_cfg)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Write a segmentor\'s predictions on its training '
        'split (or --split) as pseudo-label PNGs')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('out', help='output folder')
    parser.add_argument(
        '--scribble-override',
        action='store_true',
        help='scribbled pixels keep their scribble class')
    parser.add_argument(
        '--split',
        default='train',
        help='dataloader whose images are predicted: train (default), '
        'val or test (the config\'s <split>_dataloader)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--limit', type=int, default=0, help='first N images only (0: all)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config keys, as tools/train.py')
    return parser.parse_args(argv)


def stem_of(img_path: str, img_dir: str) -> str:
    return osp.splitext(osp.relpath(img_path, img_dir))[0]


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # Before the checkpoint is read: a wrong split fails at once.
    split_dataset_cfg(cfg, args.split)
    model = load_segmentor(
        args.config,
        args.checkpoint,
        args.device,
        cfg_options=args.cfg_options)
    # Predict as at test time: the test pipeline, no augmentation; the
    # scribbles are still loaded (at the original size) for the override.
    # gt_pseudo_seg may be the folder being written.
    dataset = build_split_dataset(
        cfg, args.split, cfg.test_pipeline, drop_prefixes=('gt_pseudo_seg', ))
    img_dir = dataset.data_prefix['img_path']
    os.makedirs(args.out, exist_ok=True)
    count = len(dataset) if not args.limit else min(args.limit, len(dataset))
    for i in tqdm(range(count), desc='pseudo-labels', unit='image'):
        data = model.data_preprocessor(pseudo_collate([dataset[i]]), False)
        with torch.no_grad():
            sample = model.predict(data['inputs'], data['data_samples'])[0]
        pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        if args.scribble_override:
            scrib = sample.gt_sem_seg.data[0].cpu().numpy()
            if scrib.shape != pred.shape:
                raise ValueError(f'scribbles of size {scrib.shape} against '
                                 f'a prediction of size {pred.shape}')
            pred = np.where(scrib != 255, scrib, pred).astype(np.uint8)
        stem = stem_of(sample.metainfo['img_path'], img_dir)
        path = osp.join(args.out, stem + '.png')
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(pred, mode='L').save(path)
    print(f'wrote {count} pseudo-label(s) to {args.out}')


if __name__ == '__main__':
    main()
