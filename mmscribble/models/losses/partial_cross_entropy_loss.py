# Copyright (c) mmscribble contributors. All rights reserved.
"""Partial cross-entropy: cross-entropy averaged over labeled pixels only."""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from . import utils
from .utils import (BaseScribbleLoss, ClassWeight, check_labels,
                    check_logits_label, class_weight_tensor, reduce_loss)

__all__ = ['PartialCrossEntropyLoss', 'partial_cross_entropy', 'check_labels']


def partial_cross_entropy(pred: Tensor,
                          label: Tensor,
                          weight: Optional[Tensor] = None,
                          class_weight: Optional[Union[Sequence[float],
                                                       Tensor]] = None,
                          reduction: str = 'mean',
                          avg_factor: Optional[float] = None,
                          ignore_index: int = 255,
                          check_labels: bool = True) -> Tensor:
    r"""Cross-entropy on labeled (scribbled) pixels.

    .. math::
        \mathcal{L}_{pCE} = -\frac{1}{|\Omega_L|}
        \sum_{i \in \Omega_L} \log p_i(y_i)

    where :math:`\Omega_L` is the set of pixels whose label is not
    ``ignore_index``. Unlike mmseg's ``CrossEntropyLoss`` with its default
    ``avg_non_ignore=False``, the mean is never taken over unlabeled pixels
    (97% of a scribble map). With ``class_weight`` the mean is over the sum
    of the weights of the labeled pixels, as ``F.cross_entropy``.

    Args:
        pred (Tensor): logits, (N, C, H, W).
        label (Tensor): integer class ids, (N, H, W); ``ignore_index`` =
            unlabeled.
        weight (Tensor, optional): per-pixel weight, (N, H, W).
        class_weight (list[float] | Tensor, optional): per-class weight,
            length C.
        reduction (str): 'mean', 'sum' or 'none' ('none' returns (N, H, W)
            with zeros on unlabeled pixels).
        avg_factor (float, optional): replaces the denominator of 'mean'
            (exact division, see :mod:`.utils`).
        ignore_index (int): unlabeled id.
        check_labels (bool): raise a ``ValueError`` for class ids outside
            ``[0, C)``; costs a host sync. Default: True.

    Returns:
        Tensor: the loss; 0 (with a gradient path) when no pixel is
        labeled.
    """
    check_logits_label(pred, label, 'pred', 'label')
    # float32 at least: under AMP a float16 count of a VOC batch's ~94k
    # scribbled pixels is inf (above 65504) and the loss silently 0.
    pred = pred.to(torch.promote_types(pred.dtype, torch.float32))
    num_classes = pred.shape[1]
    label = label.long()
    if check_labels:
        utils.check_labels(label, num_classes, ignore_index)
    cw = None if class_weight is None else class_weight_tensor(
        class_weight, num_classes, pred)
    loss = F.cross_entropy(
        pred, label, weight=cw, reduction='none', ignore_index=ignore_index)
    pix_w = (label != ignore_index).to(pred.dtype)
    if cw is not None:
        pix_w = pix_w * cw[label.clamp(0, num_classes - 1)]
    if weight is not None:
        loss = loss * weight
        pix_w = pix_w * weight
    return reduce_loss(loss, reduction, avg_factor, denominator=pix_w.sum())


@MODELS.register_module()
class PartialCrossEntropyLoss(BaseScribbleLoss):
    """Module form of :func:`partial_cross_entropy` (mmseg loss interface).

    Args:
        class_weight (list[float], optional): per-class weights.
        reduction (str): default reduction.
        loss_weight (float): multiplier.
        loss_name (str): key in the loss dict; must contain 'loss'.
        check_labels (bool): re-check at every step that the class ids are
            in range. The label maps are validated when loaded
            (``LoadScribbleAnnotations``); True costs a host sync per call.
            Default: False.
    """

    class_weight = ClassWeight()

    def __init__(self,
                 class_weight: Optional[Sequence[float]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_pce',
                 check_labels: bool = False):
        super().__init__(reduction, loss_weight, loss_name)
        self.class_weight = class_weight
        self.check_labels = check_labels

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            cls_score (Tensor): logits, (N, C, H, W).
            label (Tensor): class ids, (N, H, W).
            weight (Tensor, optional): per-pixel weight, (N, H, W).
            avg_factor (float, optional): denominator of 'mean'.
            reduction_override (str, optional): overrides ``reduction``.
            ignore_index (int): unlabeled id. Default: 255.
            **kwargs: ignored (e.g. ``scrib_logits``, passed by BLPSeg's
                head to every loss of its Table II ablation).

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        return self.loss_weight * partial_cross_entropy(
            cls_score,
            label,
            weight=weight,
            class_weight=ClassWeight.tensor(self),
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            check_labels=self.check_labels)
