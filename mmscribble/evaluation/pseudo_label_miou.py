# Copyright (c) mmscribble contributors. All rights reserved.
"""Score a folder of pseudo-label PNGs against dense ground truth
(``tools/dataset_converters/pseudo_label_miou.py``, CDSP Tab. 3 "base")."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from mmscribble.datasets.split_builder import list_stems
from mmscribble.datasets.label_io import read_label_png
from .confusion import class_scores, confusion_matrix


def pseudo_label_miou(pseudo_dir: str,
                      gt_dir: str,
                      num_classes: int,
                      splits: Optional[Sequence[str]] = None,
                      ignore_index: int = 255) -> dict:
    """One confusion matrix over the listed images and its IoU.

    Every pixel whose ground truth is not ``ignore_index`` is scored; a
    pixel without a pseudo-label (255) counts as wrong for its
    ground-truth class, so a source cannot score higher by abstaining.

    Args:
        pseudo_dir (str): Folder of pseudo-label PNGs (``<stem>.png``).
        gt_dir (str): Folder of dense ground-truth PNGs of the same stems.
        num_classes (int): ``K``.
        splits (Sequence[str], optional): Split files, one stem per line;
            default: every PNG of ``pseudo_dir``.
        ignore_index (int): Ground-truth id not scored. Default: 255.

    Returns:
        dict: ``images`` (the number scored), ``confusion`` (``(K, K + 1)``
        counts, see :func:`confusion_matrix`), ``iou`` (``(K,)``, NaN for
        a class absent from both) and ``miou`` (in percent, NaN-skipping
        mean).
    """
    stems = list_stems(pseudo_dir, splits)
    conf = np.zeros((num_classes, num_classes + 1), np.int64)
    for stem in stems:
        conf += confusion_matrix(
            read_label_png(osp.join(pseudo_dir, stem + '.png')),
            read_label_png(osp.join(gt_dir, stem + '.png')), num_classes,
            ignore_index)
    iou = class_scores(conf)['iou']
    return dict(
        images=len(stems), confusion=conf, iou=iou, miou=100 * np.nanmean(iou))
