# Copyright (c) mmscribble contributors. All rights reserved.
"""Distance entropy loss of CDSP (Zhang et al., AAAI 2024, Eq. 15, 17, 18).
"""
from typing import Optional

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_choice
from .utils import BaseScribbleLoss, as_pixel_map, reduce_loss

NORMALIZATIONS = ('nonzero', 'all')


def distance_entropy_loss(pred: Tensor,
                          distance_map: Tensor,
                          valid_mask: Optional[Tensor] = None,
                          normalize: str = 'nonzero',
                          scale: float = 255.0,
                          reduction: str = 'mean',
                          avg_factor: Optional[float] = None) -> Tensor:
    r"""Distance-weighted entropy, CDSP Eq. 15 / 17 (one of the two terms).

    .. math::
        \mathcal{L}_{d} = \frac{1}{N_d} \sum_{i} d(i)\,
        \Big( -\sum_{k=1}^{K} p_{i,k} \log p_{i,k} \Big),
        \qquad d = \text{distance\_map} / \text{scale}

    with ``p = softmax(pred)``: ``d = d_s`` (Eq. 16) gives ``L_ds``
    (Eq. 17), ``d = d_c`` (Eq. 14) gives ``L_dc`` (Eq. 15), and
    ``L_de = L_ds + L_dc`` (Eq. 18). The paper prints
    :math:`d\,p \log p`, i.e. minus the entropy, whose minimisation would
    *raise* the uncertainty the section sets out to reduce; the loss here
    is the weighted entropy itself, which is minimised.

    Normalisation ``N_d``:

    * ``'nonzero'`` (the paper, default): the number of pixels with a
      non-zero weight ``d(i)`` (real pixels only);
    * ``'all'``: the number of real pixels, i.e. the plain mean of the
      weighted entropy map, as a ``(d * entropy).mean()`` implementation
      computes it. It is smaller than ``'nonzero'`` by the fraction of
      zero-weight pixels (for ``d_s`` most of the image beyond 255 /
      e^(lambda_s / 2) pixels from a scribble).

    Args:
        pred (Tensor): ``(N, K, H, W)`` logits.
        distance_map (Tensor): ``(N, H, W)`` (or ``(N, 1, H, W)``) stored
            distance map, ``scale * d`` (``gt_distance_map`` = 255 d_s,
            ``gt_distance_pseudo`` = 255 d_c); 0 on padding.
        valid_mask (Tensor, optional): ``(N, H, W)``, non-zero = real
            image pixel; other pixels count in neither sum nor ``N_d``.
        normalize (str): ``'nonzero'`` or ``'all'``. Default:
            ``'nonzero'``.
        scale (float): stored value of weight 1. Default: 255.
        reduction (str): ``'none'`` (``(N, H, W)`` weighted entropies),
            ``'mean'`` (divided by ``N_d`` over the batch) or ``'sum'``.
        avg_factor (float, optional): replaces ``N_d``.

    Returns:
        Tensor: the loss; a zero with a ``grad_fn`` when no pixel has a
        weight (e.g. an image without a foreground scribble for ``d_s``).
    """
    if not isinstance(pred, Tensor) or pred.dim() != 4:
        raise ValueError('pred must have shape (N, K, H, W), got '
                         f'{tuple(getattr(pred, "shape", ()))}')
    check_choice('normalize', normalize, NORMALIZATIONS)
    if not scale > 0:
        raise ValueError(f'scale must be > 0, got {scale!r}')
    n, _, h, w = pred.shape
    distance_map = as_pixel_map(distance_map, 'distance_map', (n, h, w))
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', (n, h, w))
    # float32 at least: a float16 sum over a VOC batch overflows 65504.
    pred = pred.to(torch.promote_types(pred.dtype, torch.float32))
    log_p = pred.log_softmax(dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=1)
    weight = distance_map.to(pred.dtype) / scale
    if valid_mask is not None:
        weight = weight * (valid_mask != 0).to(pred.dtype)
    if normalize == 'nonzero':
        count = (weight != 0).sum()
    elif valid_mask is not None:
        count = (valid_mask != 0).sum()
    else:
        count = torch.tensor(float(n * h * w), device=pred.device)
    return reduce_loss(
        entropy * weight, reduction, avg_factor, denominator=count)


@MODELS.register_module()
class DistanceEntropyLoss(BaseScribbleLoss):
    """CDSP distance entropy, one term of Eq. 18 (Eq. 15 or Eq. 17).

    A head holds two: ``loss_ds`` on ``gt_distance_map`` (``d_s``) and
    ``loss_dc`` on ``gt_distance_pseudo`` (``d_c``). See
    :func:`distance_entropy_loss`.

    Args:
        normalize (str): ``'nonzero'`` (paper) or ``'all'``. Default:
            ``'nonzero'``.
        scale (float): stored value of weight 1. Default: 255.
        reduction (str): default reduction. Default: ``'mean'``.
        loss_weight (float): multiplier. Default: 1.0.
        loss_name (str): key in the loss dict. Default: ``'loss_de'``.
    """

    def __init__(self,
                 normalize: str = 'nonzero',
                 scale: float = 255.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_de') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('normalize', normalize, NORMALIZATIONS)
        if not scale > 0:
            raise ValueError(f'scale must be > 0, got {scale!r}')
        self.normalize = normalize
        self.scale = float(scale)

    def forward(self,
                pred: Tensor,
                distance_map: Tensor,
                valid_mask: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(N, K, H, W)`` logits.
            distance_map (Tensor): ``(N, H, W)`` stored map (``scale d``).
            valid_mask (Tensor, optional): ``(N, H, W)`` real pixels.
            avg_factor (float, optional): replaces ``N_d``.
            reduction_override (str, optional): overrides ``reduction``.
            **kwargs: ignored.

        Returns:
            Tensor: ``loss_weight`` times the loss.
        """
        return self.loss_weight * distance_entropy_loss(
            pred,
            distance_map,
            valid_mask=valid_mask,
            normalize=self.normalize,
            scale=self.scale,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)
