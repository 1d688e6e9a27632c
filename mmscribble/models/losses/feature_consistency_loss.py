# Copyright (c) mmscribble contributors. All rights reserved.
"""Feature-map self-supervision of URSS (Pan et al., ICCV 2021), Eq. 7."""
from typing import Optional, Union

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ..layers.transition_ops import (ViewTransform, apply_view, crop_view,
                                     overlap_size, view_valid_mask)
from .utils import BaseScribbleLoss, reduce_loss


def feature_consistency_loss(
        feat: Tensor,
        feat_view: Tensor,
        phi: ViewTransform,
        valid_mask: Optional[Tensor] = None,
        view_cropped: bool = False,
        reduction: str = 'mean',
        avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """Self-supervision on a feature map, URSS Eq. 7 with a squared error.

    .. math::
        ss(x, \\phi) = \\frac{1}{|V| C} \\sum_{p \\in V}
        \\| T_\\phi(f(x))_p - f(t_\\phi(x))_p \\|^2

    where ``T_phi`` moves ``f(x)`` into the frame of the view
    (:func:`apply_view` at feature resolution) and ``V`` holds the view
    positions that have a source position (all of them for a flip) and,
    with ``valid_mask``, are not padding. With every position valid this
    is the authors' ``MSELoss(reduction='mean')``.

    Args:
        feat (Tensor): ``f(x)``, ``(N, C, h, w)``.
        feat_view (Tensor): ``f(t_phi(x))``, ``(N, C, h, w)``.
        phi (ViewTransform): the view relating them.
        valid_mask (Tensor, optional): ``(N, h, w)`` bool, real image
            positions of ``x`` (in the frame of ``x``).
        view_cropped (bool): ``feat_view`` comes from a cropped view
            (:func:`crop_view`): ``(N, C, h', w')`` over the positions the
            translation keeps, compared with the same cells of ``feat``.
            Default: False.
        reduction (str): ``'mean'`` (over the compared positions, the
            equation), ``'sum'`` or ``'none'`` (the ``(N, h, w)`` or
            ``(N, h', w')`` per-position errors, 0 where not compared).
            Default: ``'mean'``.
        avg_factor (float | Tensor, optional): denominator of ``'mean'``
            instead of ``|V|``.

    Returns:
        Tensor: the loss; for ``'mean'`` a zero with a ``grad_fn`` when no
        position is compared.
    """
    if feat.dim() != 4:
        raise ValueError(
            f'feat must have shape (N, C, h, w), got {tuple(feat.shape)}')
    n, c, h, w = feat.shape
    crop = view_cropped and phi.kind == 'translate'
    size = overlap_size(h, w, phi) if crop else (h, w)
    if feat_view.shape != (n, c) + tuple(size):
        raise ValueError(f'feat_view must have shape {(n, c) + tuple(size)} '
                         f'(view_cropped={view_cropped}, {phi!r}), got '
                         f'{tuple(feat_view.shape)}')
    if valid_mask is not None and valid_mask.shape != (n, h, w):
        raise ValueError(f'valid_mask must have shape (N, h, w) = '
                         f'{(n, h, w)}, got {tuple(valid_mask.shape)}')
    if crop:
        # Every kept cell has a source; padding of x stays excluded.
        moved = crop_view(feat, phi)
        mask = torch.ones(
            (n, ) + tuple(size), dtype=torch.bool, device=feat.device)
        if valid_mask is not None:
            mask = crop_view(valid_mask != 0, phi)
    else:
        moved = apply_view(feat, phi, fill=0)
        mask = view_valid_mask(h, w, phi, device=feat.device).expand(n, h, w)
        if valid_mask is not None:
            mask = mask & apply_view(valid_mask != 0, phi, fill=False)
    sq = (moved - feat_view).square().mean(dim=1)
    weight = mask.to(sq.dtype)
    return reduce_loss(
        sq * weight,
        reduction,
        avg_factor=avg_factor,
        denominator=weight.sum())


@MODELS.register_module()
class FeatureConsistencyLoss(BaseScribbleLoss):
    """Feature-map self-supervision, URSS Eq. 7 (Tab. 2, ``f^(L-1)`` and
    ``f^L`` rows): see :func:`feature_consistency_loss`.

    The Eq. 9 alternative on the transition matrix is
    :class:`EigenspaceLoss`; ``URSSHead`` uses this one as ``loss_feat``
    when ``ss_on`` is ``'feat_before'`` or ``'feat_after'``.

    Args:
        loss_weight (float): weight of the loss (``omega_2`` in Eq. 11).
            Default: 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over the
            compared positions. Default: ``'mean'``.
        detach_target (bool): no gradient through the view's features;
            ``URSSHead`` then runs the view under ``torch.no_grad()``.
            Default: True.
        loss_name (str): name of the loss in the log. Default:
            ``'loss_ss_feat'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 detach_target: bool = True,
                 loss_name: str = 'loss_ss_feat') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        self.detach_target = detach_target

    def forward(self,
                pred: Tensor,
                target: Tensor,
                phi: ViewTransform,
                valid_mask: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                view_cropped: bool = False) -> Tensor:
        """Compute the weighted loss.

        Args:
            pred (Tensor): ``f(x)``, ``(N, C, h, w)``.
            target (Tensor): ``f(t_phi(x))``, ``(N, C, h, w)``, or
                ``(N, C, h', w')`` with ``view_cropped``.
            phi (ViewTransform): the view relating them.
            valid_mask (Tensor, optional): ``(N, h, w)`` real-pixel mask
                of ``x`` at feature resolution.
            avg_factor (float | Tensor, optional): divisor for ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.
            view_cropped (bool): ``target`` comes from a cropped view.
                Default: False.

        Returns:
            Tensor: ``loss_weight`` times the reduced loss.
        """
        if self.detach_target:
            target = target.detach()
        return self.loss_weight * feature_consistency_loss(
            pred,
            target,
            phi,
            valid_mask=valid_mask,
            view_cropped=view_cropped,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)
