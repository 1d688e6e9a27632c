# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft entropy loss of URSS (Pan et al., ICCV 2021, Sec. 3.1, Eq. 2-3)."""
from typing import Optional

import torch
from mmseg.registry import MODELS
from torch import Tensor

from .utils import BaseScribbleLoss, as_pixel_map, reduce_loss


def pixel_entropy(logits: Tensor) -> Tensor:
    """Per-pixel entropy ``-sum_c s_c log s_c`` of ``s = softmax(logits)``.

    Computed from ``log_softmax`` so that saturated predictions give exact
    zeros and finite gradients.

    Args:
        logits (Tensor): ``(N, K, H, W)`` class logits.

    Returns:
        Tensor: ``(N, H, W)`` entropies in ``[0, log K]``.
    """
    log_prob = logits.log_softmax(dim=1)
    return -(log_prob.exp() * log_prob).sum(dim=1)


def soft_entropy_loss(logits: Tensor,
                      boundary_map: Optional[Tensor] = None,
                      valid_mask: Optional[Tensor] = None,
                      weight: Optional[Tensor] = None,
                      reduction: str = 'mean',
                      avg_factor: Optional[float] = None) -> Tensor:
    """Soft entropy, URSS Eq. 3 (Eq. 2 when ``boundary_map`` is None).

    .. math::
        E_{\\Omega - B} = -\\frac{1}{|\\Omega - B|}
        \\sum_{p \\in \\Omega - B} \\sum_c s_{p,c} \\log s_{p,c}

    where ``s = softmax(logits)`` over classes and ``Omega - B`` is the
    set of pixels counted: interior pixels of the pseudo-boundary map
    (value 0; 1 = boundary and 255 = excluded, e.g. padding, are left out,
    as is any other value) that are also real image pixels
    (``valid_mask != 0``). The average runs over all counted pixels of
    the batch, as in the paper.

    Args:
        logits (Tensor): ``(N, K, H, W)`` class logits.
        boundary_map (Tensor, optional): ``(N, H, W)`` (or
            ``(N, 1, H, W)``) integer map, 0 = interior, 1 = SLIC
            pseudo-boundary, 255 = excluded. None counts every pixel
            (plain entropy, Eq. 2). Must match the logits' size: the
            caller resizes one of them.
        valid_mask (Tensor, optional): ``(N, H, W)`` (or
            ``(N, 1, H, W)``) mask, non-zero = real image pixel.
        weight (Tensor, optional): ``(N, H, W)`` per-pixel weights.
        reduction (str): ``'none'`` (the ``(N, H, W)`` weighted entropy
            map, zero at pixels not counted), ``'mean'`` or ``'sum'``.
            Default: ``'mean'``.
        avg_factor (float, optional): divisor for ``'mean'`` instead of
            the number of counted pixels: exactly ``sum / avg_factor``
            (see :mod:`.utils`).

    Returns:
        Tensor: the loss; a scalar unless ``reduction='none'``. With no
        counted pixel it is a zero that still has a ``grad_fn``.
    """
    if not isinstance(logits, Tensor) or logits.dim() != 4:
        raise ValueError('logits must have shape (N, K, H, W), got '
                         f'{tuple(getattr(logits, "shape", ()))}')
    n, _, h, w = logits.shape
    boundary_map = as_pixel_map(boundary_map, 'boundary_map', (n, h, w))
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', (n, h, w))
    weight = as_pixel_map(weight, 'weight', (n, h, w))

    # float32 at least: a float16 sum over a VOC batch overflows 65504.
    entropy = pixel_entropy(
        logits.to(torch.promote_types(logits.dtype, torch.float32)))
    counted = torch.ones_like(entropy, dtype=torch.bool)
    if boundary_map is not None:
        counted = counted & (boundary_map == 0)
    if valid_mask is not None:
        counted = counted & (valid_mask != 0)
    # Multiply rather than index: no host sync, and an empty selection
    # still yields a zero connected to the graph.
    loss = entropy * counted.to(entropy.dtype)
    if weight is not None:
        loss = loss * weight.to(entropy.dtype)
    return reduce_loss(loss, reduction, avg_factor, denominator=counted.sum())


@MODELS.register_module()
class SoftEntropyLoss(BaseScribbleLoss):
    """Soft entropy loss, URSS Eq. 3 (Pan et al., ICCV 2021).

    Minimises the mean prediction entropy over pixels that are not SLIC
    pseudo-boundaries, pushing interior pixels to confident predictions
    while leaving object boundaries free to stay uncertain. See
    :func:`soft_entropy_loss`.

    Args:
        loss_weight (float): weight of the loss (``omega_1`` in Eq. 11).
            Default: 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
            Default: ``'mean'``.
        use_boundary (bool): exclude pseudo-boundary pixels (Eq. 3);
            False counts them too and minimises Eq. 2 over every pixel
            not marked 255 (the ``entropy`` without ``boundary`` row of
            the paper's Tab. 1). Default: True.
        loss_name (str): name of the loss in the log; must contain
            ``'loss'``. Default: ``'loss_entropy'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 use_boundary: bool = True,
                 loss_name: str = 'loss_entropy') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        self.use_boundary = use_boundary

    def forward(self,
                pred: Tensor,
                boundary_map: Optional[Tensor] = None,
                valid_mask: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            pred (Tensor): ``(N, K, H, W)`` class logits.
            boundary_map (Tensor, optional): ``(N, H, W)`` pseudo-boundary
                map (0 interior, 1 boundary, 255 excluded).
            valid_mask (Tensor, optional): ``(N, H, W)`` real-pixel mask.
            weight (Tensor, optional): ``(N, H, W)`` per-pixel weights.
            avg_factor (float, optional): divisor for ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.
            **kwargs: ignored (e.g. ``ignore_index`` passed by mmseg's
                decode heads to every loss).

        Returns:
            Tensor: ``loss_weight`` times the reduced loss.
        """
        if not self.use_boundary and boundary_map is not None:
            # Count boundary pixels as interior, but keep 255 (padding)
            # excluded.
            boundary_map = boundary_map.masked_fill(boundary_map == 1, 0)
        return self.loss_weight * soft_entropy_loss(
            pred,
            boundary_map,
            valid_mask=valid_mask,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)
