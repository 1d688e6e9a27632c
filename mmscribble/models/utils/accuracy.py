# Copyright (c) mmscribble contributors. All rights reserved.
"""``acc_seg`` of the scribble heads: accuracy on the labelled pixels."""
from typing import Dict

from torch import Tensor


def log_accuracy(losses: Dict[str, Tensor],
                 seg_logits: Tensor,
                 seg_label: Tensor,
                 ignore_index: int,
                 name: str = 'acc_seg') -> Dict[str, Tensor]:
    """Add ``100 * #correct / #labelled`` under ``name``, unless no pixel
    of the batch is labelled.

    mmseg's ``accuracy`` divides ``0 + eps`` by ``0 + eps`` on a batch
    whose pixels are all ``ignore_index`` and logs 100.0 for a batch
    without labels (an MSCMR slice without scribble); 0 would be as
    false. Such a batch has no accuracy, so ``name`` is left out of the
    dict: mmengine then averages ``acc_seg`` over the batches that had
    labels (log keys may differ between steps; they are not reduced
    across ranks). Deciding costs one host sync, where mmseg's boolean
    indexing cost two.

    Args:
        losses (dict[str, Tensor]): the head's loss dict, updated in place.
        seg_logits (Tensor): ``(N, K, H, W)``.
        seg_label (Tensor): ``(N, H, W)`` class ids.
        ignore_index (int): the unlabelled id.
        name (str): the log key; must not contain 'loss'. Default:
            'acc_seg'.

    Returns:
        dict[str, Tensor]: ``losses``.
    """
    labelled = seg_label != ignore_index
    count = labelled.sum()
    if bool(count > 0):
        correct = (seg_logits.argmax(1) == seg_label) & labelled
        losses[name] = (100.0 * correct.sum() / count).float().detach()
    return losses


__all__ = ['log_accuracy']
