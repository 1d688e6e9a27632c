"""Pooled confusion matrices and the per-class scores read off them.

One implementation for the tools that score label maps against dense
ground truth (pseudo-labels, a network's prediction, self-training
targets): ``tools/dataset_converters/pseudo_label_miou.py``,
``tools/analysis_tools/softsl_label_quality.py``,
``tools/analysis_tools/class_areas.py`` and
``tools/analysis_tools/self_training_quality.py``.
"""
import numpy as np


def confusion_matrix(pred: np.ndarray,
                     gt: np.ndarray,
                     num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """``(K, K + 1)`` pixel counts of (ground truth, prediction).

    Pixels whose ground truth is ``ignore_index`` are not counted. Column
    ``K`` holds the pixels without a prediction (``ignore_index`` or any id
    outside ``[0, K)``): they count against their ground-truth class in
    :func:`class_scores` (in its union, not its intersection), so a label
    map cannot score higher by abstaining.

    Args:
        pred (np.ndarray): Predicted class ids, any integer dtype.
        gt (np.ndarray): Ground-truth class ids of the same shape.
        num_classes (int): ``K``.
        ignore_index (int): Ground-truth id that is not scored.
            Default: 255.

    Returns:
        np.ndarray: ``(K, K + 1)`` int64 counts, rows ground truth.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f'prediction of size {pred.shape} against ground '
                         f'truth of size {gt.shape}')
    if isinstance(
            num_classes,
            bool) or not isinstance(num_classes,
                                    (int, np.integer)) or num_classes < 1:
        raise ValueError(f'num_classes must be an int >= 1, got '
                         f'{num_classes!r}')
    keep = gt != ignore_index
    g = gt[keep].astype(np.int64)
    if g.size and (g.max() >= num_classes or g.min() < 0):
        bad = int(g.max()) if g.max() >= num_classes else int(g.min())
        raise ValueError(f'ground truth has class id {bad} outside '
                         f'[0, {num_classes}) (num_classes={num_classes}, '
                         f'ignore_index={ignore_index})')
    p = pred[keep].astype(np.int64)
    p = np.where((p >= 0) & (p < num_classes), p, num_classes)
    return np.bincount(
        g * (num_classes + 1) + p,
        minlength=num_classes * (num_classes + 1)).reshape(
            num_classes, num_classes + 1)


def class_scores(conf: np.ndarray) -> dict:
    """Per-class scores of a :func:`confusion_matrix` (``(K, K)`` or
    ``(K, K + 1)``).

    Returns:
        dict[str, np.ndarray]: ``(K,)`` float64 arrays ``iou``, ``dice``,
        ``precision`` (of the pixels predicted as the class, the share that
        is), ``recall``, ``gt_area`` and ``pred_area`` (shares of all scored
        pixels). A score whose denominator is 0 is NaN (a class absent from
        both maps has no IoU).
    """
    conf = np.asarray(conf)
    k = conf.shape[0]
    if conf.ndim != 2 or conf.shape[1] not in (k, k + 1):
        raise ValueError(f'conf must be (K, K) or (K, K + 1), got '
                         f'{conf.shape}')
    tp = np.diag(conf[:, :k]).astype(np.float64)
    gt_total = conf.sum(1).astype(np.float64)
    pred_total = conf[:, :k].sum(0).astype(np.float64)
    total = float(conf.sum())
    with np.errstate(invalid='ignore', divide='ignore'):
        return dict(
            iou=tp / (gt_total + pred_total - tp),
            dice=2 * tp / (gt_total + pred_total),
            precision=tp / pred_total,
            recall=tp / gt_total,
            gt_area=gt_total / total,
            pred_area=pred_total / total)


def row_shares(conf: np.ndarray, cls: int) -> np.ndarray:
    """``(K,)``: the share of the ground-truth ``cls`` pixels of a
    :func:`confusion_matrix` predicted as each class (e.g. with ``cls``
    the background: where each structure leaks into it). Pixels without a
    prediction count in the denominator; an absent class gives zeros."""
    conf = np.asarray(conf)
    k = conf.shape[0]
    if not 0 <= cls < k:
        raise ValueError(f'class {cls} is not a row of a {k}-class '
                         'confusion matrix')
    row = conf[cls]
    return row[:k] / max(int(row.sum()), 1)
