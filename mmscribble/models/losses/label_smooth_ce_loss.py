# Copyright (c) mmscribble contributors. All rights reserved.
"""Label-smoothed cross-entropy on pseudo-labels (CDSP ``L_segc``, Eq. 9).
"""
from typing import Optional

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_probability
from . import utils
from .utils import (BaseScribbleLoss, as_pixel_map, check_logits_label,
                    reduce_loss)


def label_smooth_cross_entropy(pred: Tensor,
                               label: Tensor,
                               valid_mask: Optional[Tensor] = None,
                               weight: Optional[Tensor] = None,
                               epsilon: float = 0.1,
                               reduction: str = 'mean',
                               avg_factor: Optional[float] = None,
                               ignore_index: int = 255,
                               check_labels: bool = True) -> Tensor:
    r"""Label-smoothed cross-entropy, CDSP Eq. 9 (Zhang et al., AAAI 2024).

    .. math::
        \mathcal{L}_{segc} = \frac{1}{|\tilde\Omega|}
        \sum_{i \in \tilde\Omega} \Big[ -(1 - \epsilon) \log p_{i, y_i}
        - \frac{\epsilon}{K} \sum_{k=1}^{K} \log p_{i, k} \Big]

    with ``p = softmax(pred)`` over the ``K`` classes and
    :math:`\tilde\Omega` the pixels that carry a pseudo-label (``label !=
    ignore_index``) and are real image pixels (``valid_mask != 0``). The
    authors set the ignored pixels to background in place before this
    loss, so padding and rotated-in corners (255 after augmentation) are
    trained as background; here they are left out. Equal to
    ``F.cross_entropy(label_smoothing=epsilon)`` on the counted pixels.

    Args:
        pred (Tensor): ``(N, K, H, W)`` logits.
        label (Tensor): ``(N, H, W)`` integer pseudo-label,
            ``ignore_index`` = no label.
        valid_mask (Tensor, optional): ``(N, H, W)`` (or
            ``(N, 1, H, W)``), non-zero = real image pixel.
        weight (Tensor, optional): ``(N, H, W)`` per-pixel weight; it
            weights the sum and the denominator.
        epsilon (float): smoothing in ``[0, 1]``. Default: 0.1 (paper).
        reduction (str): ``'none'`` (``(N, H, W)``, 0 where not counted),
            ``'mean'`` or ``'sum'``. Default: ``'mean'``.
        avg_factor (float, optional): denominator of ``'mean'``.
        ignore_index (int): no-label id. Default: 255.
        check_labels (bool): raise for class ids outside ``[0, K)``
            (a host sync). Default: True.

    Returns:
        Tensor: the loss; a zero with a ``grad_fn`` when nothing is
        counted.
    """
    check_logits_label(pred, label, 'pred', 'label')
    epsilon = check_probability('epsilon', epsilon)
    n, k, h, w = pred.shape
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', (n, h, w))
    weight = as_pixel_map(weight, 'weight', (n, h, w))
    label = label.long()
    if check_labels:
        utils.check_labels(label, k, ignore_index)
    # float32 at least: a float16 count above 65504 pixels is inf.
    pred = pred.to(torch.promote_types(pred.dtype, torch.float32))
    log_p = pred.log_softmax(dim=1)
    counted = label != ignore_index
    if valid_mask is not None:
        counted = counted & (valid_mask != 0)
    # gather needs an in-range index on every pixel; the uncounted ones
    # are multiplied by 0 below (no boolean indexing: no host sync).
    safe = label.masked_fill(~counted, 0)
    nll = -log_p.gather(1, safe[:, None])[:, 0]
    smooth = -log_p.mean(dim=1)
    loss = ((1 - epsilon) * nll + epsilon * smooth) * counted.to(pred.dtype)
    pix_w = counted.to(pred.dtype)
    if weight is not None:
        loss = loss * weight.to(pred.dtype)
        pix_w = pix_w * weight.to(pred.dtype)
    return reduce_loss(loss, reduction, avg_factor, denominator=pix_w.sum())


@MODELS.register_module()
class LabelSmoothCrossEntropyLoss(BaseScribbleLoss):
    """CDSP ``L_segc`` (Eq. 9): see :func:`label_smooth_cross_entropy`.

    Args:
        epsilon (float): label smoothing. Default: 0.1.
        reduction (str): default reduction. Default: ``'mean'``.
        loss_weight (float): multiplier. Default: 1.0.
        loss_name (str): key in the loss dict. Default: ``'loss_segc'``.
        check_labels (bool): re-check class ids every call (host sync).
            Default: False.
    """

    def __init__(self,
                 epsilon: float = 0.1,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_segc',
                 check_labels: bool = False) -> None:
        super().__init__(reduction, loss_weight, loss_name)
        self.epsilon = check_probability('epsilon', epsilon)
        self.check_labels = check_labels

    def forward(self,
                pred: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                valid_mask: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(N, K, H, W)`` logits.
            label (Tensor): ``(N, H, W)`` pseudo-label.
            weight (Tensor, optional): ``(N, H, W)`` per-pixel weight.
            avg_factor (float, optional): denominator of ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.
            ignore_index (int): no-label id. Default: 255.
            valid_mask (Tensor, optional): ``(N, H, W)`` real pixels.
            **kwargs: ignored.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        return self.loss_weight * label_smooth_cross_entropy(
            pred,
            label,
            valid_mask=valid_mask,
            weight=weight,
            epsilon=self.epsilon,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            check_labels=self.check_labels)
