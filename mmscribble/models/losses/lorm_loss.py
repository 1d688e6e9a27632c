# Copyright (c) mmscribble contributors. All rights reserved.
"""LoRM's feature loss, CDSP Eq. 13 (Zhang et al., AAAI 2024)."""
from typing import Optional

from mmseg.registry import MODELS
from torch import Tensor

from .utils import BaseScribbleLoss, as_pixel_map, reduce_loss


def lorm_mse_loss(feat: Tensor,
                  rectified: Tensor,
                  valid_mask: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[float] = None) -> Tensor:
    r"""``L_lorm = MSE(F, F-hat)``, CDSP Eq. 13.

    .. math::
        \mathcal{L}_{lorm} = \frac{1}{C |V|} \sum_{i \in V}
        \| F_i - \hat F_i \|_2^2

    over the feature cells ``V`` centred on real image pixels (all cells
    without ``valid_mask``): padding cells carry no feature of the image.
    Both arguments keep their gradient, as Eq. 13 does.

    Args:
        feat (Tensor): ``(N, C, h, w)`` features ``F``.
        rectified (Tensor): ``(N, C, h, w)`` ``F-hat`` of the LoRM.
        valid_mask (Tensor, optional): ``(N, h, w)``, non-zero = real cell.
        reduction (str): ``'none'`` (``(N, h, w)`` summed squared errors),
            ``'mean'`` or ``'sum'``. Default: ``'mean'``.
        avg_factor (float, optional): replaces ``C |V|``.

    Returns:
        Tensor: the loss (a zero with a ``grad_fn`` when no cell counts).
    """
    if not isinstance(feat, Tensor) or feat.dim() != 4 or \
            not isinstance(rectified, Tensor) or \
            rectified.shape != feat.shape:
        raise ValueError(
            'feat and rectified must both be (N, C, h, w) of one shape, got '
            f'{tuple(getattr(feat, "shape", ()))} and '
            f'{tuple(getattr(rectified, "shape", ()))}')
    n, c, h, w = feat.shape
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', (n, h, w),
                              'the features')
    err = (feat - rectified).pow(2).sum(dim=1)
    if valid_mask is None:
        return reduce_loss(
            err, reduction, avg_factor, denominator=err.numel() * c)
    keep = (valid_mask != 0).to(err.dtype)
    return reduce_loss(
        err * keep, reduction, avg_factor, denominator=keep.sum() * c)


@MODELS.register_module()
class LoRMLoss(BaseScribbleLoss):
    """CDSP Eq. 13, see :func:`lorm_mse_loss`.

    Args:
        reduction (str): default reduction. Default: ``'mean'``.
        loss_weight (float): multiplier. Default: 1.0.
        loss_name (str): key in the loss dict. Default: ``'loss_lorm'``.
    """

    def __init__(self,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_lorm') -> None:
        super().__init__(reduction, loss_weight, loss_name)

    def forward(self,
                feat: Tensor,
                rectified: Tensor,
                valid_mask: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """``loss_weight`` times Eq. 13 of ``feat`` and ``rectified``
        (both ``(N, C, h, w)``), over the ``(N, h, w)`` valid cells."""
        return self.loss_weight * lorm_mse_loss(
            feat,
            rectified,
            valid_mask,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)
