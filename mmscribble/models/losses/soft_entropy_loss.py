# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft entropy loss of URSS (Pan et al., ICCV 2021, Sec. 3.1, Eq. 2-3)."""
from typing import Optional

import torch
import torch.nn as nn
from mmseg.registry import MODELS
from torch import Tensor

REDUCTIONS = ('none', 'mean', 'sum')


def _as_pixel_map(x: Optional[Tensor], logits: Tensor,
                  name: str) -> Optional[Tensor]:
    """Check an ``(N, H, W)`` or ``(N, 1, H, W)`` map against ``logits``."""
    if x is None:
        return None
    if not torch.is_tensor(x):
        raise TypeError(f'{name} must be a tensor, got {type(x)}')
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    n, _, h, w = logits.shape
    if x.shape != (n, h, w):
        raise ValueError(
            f'{name} must have shape (N, H, W) = {(n, h, w)} matching '
            f'logits {tuple(logits.shape)}, got {tuple(x.shape)}; resize '
            'it to the logits (nearest) or the logits to it first')
    return x


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
            the number of counted pixels.

    Returns:
        Tensor: the loss; a scalar unless ``reduction='none'``. With no
        counted pixel it is a zero that still has a ``grad_fn``.
    """
    if not torch.is_tensor(logits) or logits.dim() != 4:
        raise ValueError('logits must have shape (N, K, H, W), got '
                         f'{tuple(getattr(logits, "shape", ()))}')
    if reduction not in REDUCTIONS:
        raise ValueError(
            f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
    boundary_map = _as_pixel_map(boundary_map, logits, 'boundary_map')
    valid_mask = _as_pixel_map(valid_mask, logits, 'valid_mask')
    weight = _as_pixel_map(weight, logits, 'weight')

    entropy = pixel_entropy(logits)
    counted = torch.ones_like(entropy, dtype=torch.bool)
    if boundary_map is not None:
        counted = counted & (boundary_map == 0)
    if valid_mask is not None:
        counted = counted & (valid_mask != 0)
    # Multiply rather than index so that an empty selection still yields a
    # zero connected to the graph.
    loss = entropy * counted.to(entropy.dtype)
    if weight is not None:
        loss = loss * weight.to(entropy.dtype)

    if reduction == 'none':
        return loss
    if reduction == 'sum':
        return loss.sum()
    if avg_factor is None:
        return loss.sum() / counted.sum().clamp_min(1).to(loss.dtype)
    # Same guard as mmseg's weight_reduce_loss for avg_factor == 0.
    return loss.sum() / (avg_factor + torch.finfo(loss.dtype).eps)


@MODELS.register_module()
class SoftEntropyLoss(nn.Module):
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
        loss_name (str): name of the loss in the log. Default:
            ``'loss_entropy'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 use_boundary: bool = True,
                 loss_name: str = 'loss_entropy') -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(
                f'reduction must be one of {REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.use_boundary = use_boundary
        self._loss_name = loss_name

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
        reduction = reduction_override or self.reduction
        if not self.use_boundary and boundary_map is not None:
            # Count boundary pixels as interior, but keep 255 (padding)
            # excluded.
            boundary_map = boundary_map.masked_fill(boundary_map == 1, 0)
        return self.loss_weight * soft_entropy_loss(
            pred,
            boundary_map,
            valid_mask=valid_mask,
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor)

    @property
    def loss_name(self) -> str:
        """Name of the loss in the log; must start with ``loss_``."""
        return self._loss_name
