# Copyright (c) mmscribble contributors. All rights reserved.
"""The confusion matrix of saved predictions over a dataset
(``tools/analysis_tools/confusion_matrix.py``).

mmseg's ``confusion_matrix.py`` reads the class-level ``METAINFO`` (empty
on a ``ScribbleDataset``: ``KeyError: 'classes'``); this reads the built
dataset's ``metainfo`` and the label PNGs ``tools/test.py --out DIR``
writes, one ``<image stem>.png`` per sample.
"""
import os.path as osp
from typing import Tuple

import cv2
import numpy as np

from .confusion import confusion_matrix


def dataset_confusion(dataset, pred_dir: str) -> Tuple[np.ndarray, tuple]:
    """Pool the confusion of every sample's prediction and ground truth.

    Args:
        dataset: A built dataset (``seg_map_path`` is the dense ground
            truth, as in a val / test split).
        pred_dir (str): ``<image stem>.png`` predictions
            (``tools/test.py CONFIG CKPT --out pred_dir``).

    Returns:
        tuple: ``(K, K + 1)`` int64 counts (rows ground truth; column
        ``K`` holds predictions outside the classes), and the class names.

    Raises:
        FileNotFoundError: A sample has no prediction (the first one
            missing is named).
    """
    from mmscribble.datasets.label_io import read_label_png
    classes = tuple(dataset.metainfo['classes'])
    k = len(classes)
    total = np.zeros((k, k + 1), np.int64)
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        pred_path = osp.join(pred_dir, stem + '.png')
        if not osp.isfile(pred_path):
            raise FileNotFoundError(
                f'no prediction {pred_path} for {info["img_path"]}: write '
                'them with tools/test.py CONFIG CHECKPOINT --out DIR')
        gt = read_label_png(info['seg_map_path'])
        total += confusion_matrix(read_label_png(pred_path), gt, k)
    return total, classes


def confusion_table(conf: np.ndarray, classes: tuple) -> str:
    """CSV text: a header of predicted classes (and ``none``), one row of
    counts per ground-truth class."""
    head = ','.join(['gt \\ pred'] + list(classes) + ['none'])
    rows = [
        ','.join([name] + [str(int(v)) for v in conf[i]])
        for i, name in enumerate(classes)
    ]
    return '\n'.join([head] + rows) + '\n'


def confusion_picture(conf: np.ndarray, cell: int = 24) -> np.ndarray:
    """``(K * cell, K * cell, 3)`` RGB of the row-normalised matrix.

    Cell ``(i, j)`` shows the share ``s`` of ground-truth class ``i``
    predicted as ``j`` as ``(255 (1 - s), 255 (1 - s), 255)``: white for 0,
    blue for 1 (a class absent from the ground truth is white).
    """
    k = conf.shape[0]
    counts = conf[:, :k].astype(np.float64)
    rows = conf.sum(1, keepdims=True).astype(np.float64)
    share = np.divide(
        counts, rows, out=np.zeros_like(counts), where=rows > 0)
    shade = (255 * (1 - share)).round().astype(np.uint8)
    img = np.stack([shade, shade, np.full_like(shade, 255)], -1)
    return cv2.resize(
        img, (k * cell, k * cell), interpolation=cv2.INTER_NEAREST)
