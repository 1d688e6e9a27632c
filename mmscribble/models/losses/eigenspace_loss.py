# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft eigenspace self-supervision of URSS (Pan et al., ICCV 2021).

Sec. 3.2, Eq. 9-10.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_choice, check_size
from ..layers.transition_ops import (ViewTransform, apply_view, crop_view,
                                     overlap_block, overlap_size,
                                     transform_transition_dense,
                                     view_valid_mask)
from .utils import BaseScribbleLoss, as_pixel_map, reduce_loss, safe_div

TRACE_LOSSES = ('l2', 'l1')
KL_REDUCTIONS = ('row', 'element')
IMPLS = ('index', 'dense')


def _pred_log_probs(block: Tensor, cols: Optional[Tensor],
                    from_logits: bool) -> Tuple[Tensor, Tensor]:
    """Log of the rows of ``block`` renormalised over the kept columns.

    Written to keep few ``(N, m, m)`` tensors alive for backward: the
    trace only needs the diagonal, so the probabilities themselves are
    not materialised.

    Args:
        block (Tensor): ``(N, m, m)`` probabilities or logits.
        cols (Tensor, optional): ``(N, m, m)`` bool, the entries to keep;
            every row keeps at least one entry. None keeps all.
        from_logits (bool): whether ``block`` holds logits.

    Returns:
        tuple[Tensor]: ``(N, m, m)`` log-probabilities, finite everywhere
        (dropped entries hold 0 or ``log(tiny)``: their target
        probability is 0), and the ``(N, m)`` diagonal probabilities.
    """
    if from_logits:
        if cols is not None:
            block = block.masked_fill(~cols, float('-inf'))
        log_prob = block.log_softmax(dim=-1)
        if cols is not None:
            # -inf at dropped entries would turn 0 * log into NaN.
            log_prob = log_prob.masked_fill(~cols, 0.)
        return log_prob, log_prob.diagonal(dim1=-2, dim2=-1).exp()
    tiny = torch.finfo(block.dtype).tiny
    if cols is not None:
        block = block * cols.to(block.dtype)
    # A translated row can lose all of its mass: clamp the row sums.
    row_sum = block.sum(dim=-1, keepdim=True).clamp_min(tiny)
    diag = block.diagonal(dim1=-2, dim2=-1) / row_sum[..., 0]
    # Softmax outputs underflow to exact zeros for peaked rows; clamping
    # keeps the logs (and the KL) finite.
    return block.clamp_min(tiny).log() - row_sum.log(), diag


def _target_probs(block: Tensor, cols: Optional[Tensor],
                  from_logits: bool) -> Tuple[Tensor, Tensor]:
    """Target rows renormalised over the kept columns, with their entropy.

    Args:
        block (Tensor): ``(N, m, m)`` probabilities or logits.
        cols (Tensor, optional): ``(N, m, m)`` bool, the entries to keep.
        from_logits (bool): whether ``block`` holds logits.

    Returns:
        tuple[Tensor]: ``(N, m, m)`` probabilities (0 at dropped
        entries) and the ``(N, m)`` row sums ``sum_j t_j log t_j``.
    """
    if from_logits:
        if cols is not None:
            block = block.masked_fill(~cols, float('-inf'))
        log_prob = block.log_softmax(dim=-1)
        prob = log_prob.exp()
        if cols is not None:
            log_prob = log_prob.masked_fill(~cols, 0.)
        return prob, torch.einsum('nij,nij->ni', prob, log_prob)
    tiny = torch.finfo(block.dtype).tiny
    if cols is not None:
        block = block * cols.to(block.dtype)
    prob = block / block.sum(dim=-1, keepdim=True).clamp_min(tiny)
    return prob, torch.einsum('nij,nij->ni', prob, prob.clamp_min(tiny).log())


def eigenspace_loss(trans: Tensor,
                    trans_view: Tensor,
                    phi: ViewTransform,
                    size: Sequence[int],
                    gamma: float = 0.01,
                    trace_loss: str = 'l2',
                    kl_reduction: str = 'row',
                    detach_target: bool = True,
                    from_logits: bool = False,
                    valid_mask: Optional[Tensor] = None,
                    weight: Optional[Tensor] = None,
                    reduction: str = 'mean',
                    avg_factor: Optional[float] = None,
                    impl: str = 'index',
                    view_cropped: bool = False) -> Tensor:
    """Soft eigenspace self-supervision, URSS Eq. 9.

    .. math::
        ss_P(x, \\phi) = KL(P(t_\\phi(x)) \\,\\|\\, T_\\phi(P(x)))
        + \\gamma \\, l_b(tr(T_\\phi(P(x))), tr(P(t_\\phi(x))))

    ``P(x)`` is the transition matrix of the image (gradients flow through
    it), ``P(t_phi(x))`` the one of its view, and ``T_phi`` moves ``P(x)``
    into the view's frame (Eq. 10, by index operations; see
    :mod:`mmscribble.models.layers.transition_ops`).

    KL direction: the rows of the view's matrix are the target
    distribution and those of ``T_phi(P(x))`` the model, i.e.
    ``sum_j t_j (log t_j - log p_j)`` per row, as in the authors' code
    (``KLDivLoss(log P(x), T(P(t_phi(x))))``, which compares in the image's
    frame; for a flip the two frames give the same value).

    Only positions present in both frames are compared: for a translation
    the rows and columns of view positions with no source, and with
    ``valid_mask`` those of padding in either image, are dropped, and the
    remaining rows of both matrices are renormalised to sum to one over
    the kept columns (the authors do the same with a softmax over the
    cropped similarity logits). Each row's KL is averaged over the kept
    rows of its image, the traces are sums over the kept diagonal, and the
    per-image losses are reduced over the batch.

    Args:
        trans (Tensor): ``P(x)``, ``(N, h*w, h*w)`` row-stochastic
            matrices, or their logits when ``from_logits``.
        trans_view (Tensor): ``P(t_phi(x))``, same shape and kind.
        phi (ViewTransform): the view relating them, one for the batch.
        size (Sequence[int]): feature map size ``(h, w)``.
        gamma (float): weight of the trace term. Default: 0.01 (the
            authors' value, used with ``trace_loss='l1'``).
        trace_loss (str): ``l_b`` of Eq. 9: ``'l2'`` (squared difference,
            the paper) or ``'l1'`` (absolute difference, the authors'
            code). Default: ``'l2'``.
        kl_reduction (str): ``'row'`` averages the per-row KL over the
            kept rows (a mean KL between distributions, independent of
            the map size); ``'element'`` divides the KL sum by the number
            of kept entries ``m^2`` as the authors' ``KLDivLoss``
            (``reduction='mean'``), i.e. the ``'row'`` value over ``m``.
            Default: ``'row'``.
        detach_target (bool): stop gradients through ``trans_view``, as
            the authors (who compute the view under ``no_grad``).
            Default: True.
        from_logits (bool): ``trans`` and ``trans_view`` hold the logits
            of ``P`` (pre-softmax similarities), which makes the
            renormalisation exact and avoids clamping underflowed
            probabilities. Default: False.
        valid_mask (Tensor, optional): ``(N, h, w)`` mask at feature
            resolution in the frame of ``x``, non-zero = real image
            (padding otherwise). Its view is taken with ``apply_view``.
        weight (Tensor, optional): ``(N, )`` per-image weights.
        reduction (str): ``'none'`` (``(N, )`` per image), ``'mean'`` or
            ``'sum'``. Default: ``'mean'``.
        avg_factor (float, optional): divisor for ``'mean'`` instead of
            ``N``: exactly ``sum / avg_factor`` (see :mod:`.utils`).
        impl (str): ``'index'`` (index operations) or ``'dense'`` (Eq. 10
            with dense computing matrices, O((hw)^3); for tests and
            benchmarks). Default: ``'index'``.
        view_cropped (bool): ``trans_view`` is the matrix of a *cropped*
            view (:func:`~mmscribble.models.layers.crop_view`, the
            authors' translation): ``(N, m, m)`` over exactly the ``m``
            positions that the translation keeps in frame, in their raster
            order, instead of ``(N, h*w, h*w)`` over a same-size shifted
            frame. For a flip it changes nothing. Default: False.

    Returns:
        Tensor: the loss, a scalar unless ``reduction='none'``; a zero
        with a ``grad_fn`` when no position is compared.
    """
    h, w = _check_matrices(trans, trans_view, phi, size, view_cropped)
    check_choice('trace_loss', trace_loss, TRACE_LOSSES)
    check_choice('kl_reduction', kl_reduction, KL_REDUCTIONS)
    check_choice('impl', impl, IMPLS)
    n = trans.shape[0]
    valid_mask = as_pixel_map(valid_mask, 'valid_mask', (n, h, w),
                              f'the features (size={(h, w)})')
    if weight is not None and (not isinstance(weight, Tensor)
                               or tuple(weight.shape) != (n, )):
        raise ValueError(f'weight must have shape (N, ) = ({n}, ), got '
                         f'{tuple(getattr(weight, "shape", ()))}')
    if detach_target:
        trans_view = trans_view.detach()

    pred, target = _overlap_blocks(trans, trans_view, phi, h, w, impl,
                                   view_cropped)
    if pred.shape[-1] == 0:
        per_image = trans.sum(dim=(1, 2)) * 0
        return reduce_loss(per_image, reduction, avg_factor, weight)
    rows = cols = None
    if valid_mask is not None:
        rows, cols = _kept_positions(valid_mask, phi)
    kl, pred_tr, tgt_tr = _row_kl_and_traces(pred, target, rows, cols,
                                             from_logits, kl_reduction)
    diff = pred_tr - tgt_tr
    trace_term = diff.square() if trace_loss == 'l2' else diff.abs()
    per_image = kl + gamma * trace_term
    return reduce_loss(per_image, reduction, avg_factor, weight)


def _check_matrices(trans: Tensor, trans_view: Tensor, phi: ViewTransform,
                    size: Sequence[int],
                    view_cropped: bool) -> Tuple[int, int]:
    """``(h, w)`` of ``size``, with the shapes of both matrices checked."""
    h, w = check_size('size', size)
    hw = h * w
    if not torch.is_tensor(trans) or trans.dim() != 3 or trans.shape[1:] != (
            hw, hw):
        raise ValueError(
            f'trans must have shape (N, h*w, h*w) = (N, {hw}, {hw}) for '
            f'size={(h, w)}, got {tuple(getattr(trans, "shape", ()))}')
    m_view = hw
    if view_cropped:
        oh, ow = overlap_size(h, w, phi)
        m_view = oh * ow
    expect = (trans.shape[0], m_view, m_view)
    if not torch.is_tensor(trans_view) or tuple(trans_view.shape) != expect:
        what = (f'the {oh}x{ow} positions that {phi!r} keeps in frame '
                '(view_cropped=True)' if view_cropped else 'trans')
        raise ValueError(f'trans_view must have shape {expect} ({what}), got '
                         f'{tuple(getattr(trans_view, "shape", ()))}')
    return h, w


def _overlap_blocks(trans: Tensor, trans_view: Tensor, phi: ViewTransform,
                    h: int, w: int, impl: str,
                    view_cropped: bool) -> Tuple[Tensor, Tensor]:
    """``T_phi(P(x))`` and ``P(t_phi(x))`` on the ``m`` view positions
    present in both frames, ``(N, m, m)`` each."""
    if impl == 'index':
        pred = overlap_block(trans, h, w, phi, frame='source')
        target = trans_view if view_cropped else overlap_block(
            trans_view, h, w, phi, frame='view')
        return pred, target
    # The dense reference (tests, benchmarks) may sync.
    in_view = view_valid_mask(h, w, phi, device=trans.device).flatten()
    keep = torch.nonzero(in_view).flatten()
    pred = transform_transition_dense(trans, h, w, phi)
    pred = pred[:, keep][:, :, keep]
    target = trans_view if view_cropped else trans_view[:, keep][:, :, keep]
    return pred, target


def _kept_positions(valid_mask: Tensor,
                    phi: ViewTransform) -> Tuple[Tensor, Tensor]:
    """Rows ``(N, m)`` and entries ``(N, m, m)`` (bool) that are compared.

    Valid in the view = inside the frame and not padding in x. The view
    positions in frame hold the source cells that a crop keeps, in the
    same raster order (the overlap block's): slicing, where indexing by a
    boolean mask would sync with the host.
    """
    src_valid = valid_mask != 0
    if phi[0] == 'flip':
        rows = apply_view(src_valid, phi).flatten(1)
    else:
        rows = crop_view(src_valid, phi).flatten(1)
    # A dropped row keeps all of its columns so that it stays a
    # well-defined distribution; its KL is then weighted by zero.
    cols = rows[:, None, :] | ~rows[:, :, None]
    return rows, cols


def _row_kl_and_traces(pred: Tensor, target: Tensor, rows: Optional[Tensor],
                       cols: Optional[Tensor], from_logits: bool,
                       kl_reduction: str) -> Tuple[Tensor, Tensor, Tensor]:
    """Per image: the row KL (reduced as ``kl_reduction``) and the traces
    of the prediction and of the target over the kept rows, ``(N, )``."""
    m = pred.shape[-1]
    pred_log, pred_diag = _pred_log_probs(pred, cols, from_logits)
    tgt_prob, tgt_neg_ent = _target_probs(target, cols, from_logits)
    tgt_diag = tgt_prob.diagonal(dim1=-2, dim2=-1)
    # sum_j t_j (log t_j - log p_j), without an (N, m, m) temporary.
    kl_rows = tgt_neg_ent - torch.einsum('nij,nij->ni', tgt_prob, pred_log)
    if rows is None:
        kl = kl_rows.mean(dim=-1)
        num_kept = torch.full_like(kl, m)
        pred_tr, tgt_tr = pred_diag.sum(dim=-1), tgt_diag.sum(dim=-1)
    else:
        row_w = rows.to(kl_rows.dtype)
        num_kept = row_w.sum(dim=-1)
        kl = safe_div((kl_rows * row_w).sum(dim=-1), num_kept)
        pred_tr = (pred_diag * row_w).sum(dim=-1)
        tgt_tr = (tgt_diag * row_w).sum(dim=-1)
    if kl_reduction == 'element':
        kl = safe_div(kl, num_kept)
    return kl, pred_tr, tgt_tr


@MODELS.register_module()
class EigenspaceLoss(BaseScribbleLoss):
    """Soft eigenspace self-supervision loss, URSS Eq. 9-10.

    Makes the transition matrix of the random walk (Eq. 6) of an image,
    moved into the frame of a flipped or translated view (Eq. 10), match
    the transition matrix of that view: a row-wise KL divergence, which
    aligns the eigenvectors, plus ``gamma`` times a loss on the traces,
    i.e. the sums of the eigenvalues. See :func:`eigenspace_loss`.

    Args:
        loss_weight (float): weight of the loss (``omega_2`` in Eq. 11).
            Default: 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over images.
            Default: ``'mean'``.
        gamma (float): weight of the trace term. Default: 0.01.
        trace_loss (str): ``'l2'`` (paper) or ``'l1'`` (authors' code).
            Default: ``'l2'``.
        kl_reduction (str): ``'row'`` or ``'element'`` (authors' scale).
            Default: ``'row'``.
        detach_target (bool): no gradient through the view's matrix.
            Default: True.
        from_logits (bool): inputs are the logits of ``P``.
            Default: False.
        loss_name (str): name of the loss in the log. Default:
            ``'loss_eigen'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 gamma: float = 0.01,
                 trace_loss: str = 'l2',
                 kl_reduction: str = 'row',
                 detach_target: bool = True,
                 from_logits: bool = False,
                 loss_name: str = 'loss_eigen') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('trace_loss', trace_loss, TRACE_LOSSES)
        check_choice('kl_reduction', kl_reduction, KL_REDUCTIONS)
        self.gamma = gamma
        self.trace_loss = trace_loss
        self.kl_reduction = kl_reduction
        self.detach_target = detach_target
        self.from_logits = from_logits

    def forward(self,
                pred: Tensor,
                target: Tensor,
                phi: ViewTransform,
                size: Sequence[int],
                valid_mask: Optional[Tensor] = None,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                impl: str = 'index',
                view_cropped: bool = False,
                **kwargs) -> Tensor:
        """Compute the weighted loss.

        Args:
            pred (Tensor): ``P(x)``, ``(N, h*w, h*w)``.
            target (Tensor): ``P(t_phi(x))``, ``(N, h*w, h*w)``.
            phi (ViewTransform): the view relating them.
            size (Sequence[int]): feature map size ``(h, w)``.
            valid_mask (Tensor, optional): ``(N, h, w)`` real-pixel mask
                of ``x`` at feature resolution.
            weight (Tensor, optional): ``(N, )`` per-image weights.
            avg_factor (float, optional): divisor for ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.
            impl (str): ``'index'`` or ``'dense'`` (reference).
                Default: ``'index'``.
            view_cropped (bool): ``target`` comes from a cropped view
                (see :func:`eigenspace_loss`). Default: False.
            **kwargs: ignored (e.g. ``ignore_index``).

        Returns:
            Tensor: ``loss_weight`` times the reduced loss.
        """
        return self.loss_weight * eigenspace_loss(
            pred,
            target,
            phi,
            size,
            gamma=self.gamma,
            trace_loss=self.trace_loss,
            kl_reduction=self.kl_reduction,
            detach_target=self.detach_target,
            from_logits=self.from_logits,
            valid_mask=valid_mask,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            impl=impl,
            view_cropped=view_cropped)
