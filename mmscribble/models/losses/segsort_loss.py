# Copyright (c) mmscribble contributors. All rights reserved.
"""SegSort+ pixel-to-segment contrastive loss of SPML (Ke et al., ICLR
2021), Eq. 1-3, one relation of Eq. 4 at a time."""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...utils.validation import check_choice
from .utils import BaseScribbleLoss, reduce_loss

FALLBACKS = ('own', 'ignore')


def segment_logits(embedding: Tensor, prototypes: Tensor,
                   kappa: float) -> Tensor:
    """``kappa * mu_t' e_i`` for every pixel and segment (Eq. 1 exponent).

    Computed in at least float32 with autocast off: the loss takes a
    log-sum-exp of these logits, never a raw ``exp``, so nothing overflows
    (``exp(16)`` already exceeds float16's 65504).

    Args:
        embedding (Tensor): ``(P, D)`` pixel embeddings ``e_i``.
        prototypes (Tensor): ``(S, D)`` segment features ``mu_t``.
        kappa (float): concentration.

    Returns:
        Tensor: ``(P, S)`` logits, float32 or float64.
    """
    if embedding.dim() != 2 or prototypes.dim() != 2 or \
            embedding.shape[1] != prototypes.shape[1]:
        raise ValueError('embedding must be (P, D) and prototypes (S, D) '
                         f'with the same D, got {tuple(embedding.shape)} and '
                         f'{tuple(prototypes.shape)}')
    dtype = torch.promote_types(embedding.dtype, torch.float32)
    with torch.autocast(device_type=embedding.device.type, enabled=False):
        return float(kappa) * (embedding.to(dtype) @ prototypes.to(dtype).t())


# Above this concentration the shared-shift sums of _masked_log_ratio could
# underflow float32 (exp(-2 kappa) < 1.2e-38 for kappa > 43).
_SHARED_SHIFT_MAX_KAPPA = 40.0


def _log1p_ratio(neg_sum: Tensor, pos_sum: Tensor) -> Tensor:
    """``log(1 + neg_sum / pos_sum)``, 0 where ``neg_sum`` is 0.

    Eq. 3's ``-log(pos / (pos + neg))`` as ``softplus(log neg - log pos)``:
    no log-sum of the denominator is formed, so a tiny ``neg / pos`` (one
    orthogonal negative at ``kappa`` 16: ``e^-16``) keeps its value
    instead of vanishing in ``log(1 + 1e-7)`` rounded to float32, and the
    common shift of both sums cancels before it is added back. Rows
    without negative give an exact 0 with a finite (zero) gradient.
    """
    has_neg = neg_sum > 0
    ratio = torch.where(has_neg, neg_sum, torch.ones_like(neg_sum)).log() \
        - pos_sum.log()
    return torch.where(has_neg, F.softplus(ratio), torch.zeros_like(ratio))


def _masked_log_ratio(logits: Tensor, pos: Tensor, neg: Tensor,
                      kappa: float) -> Tensor:
    """Eq. 3 per row: ``log(sum_{pos U neg} e^l / sum_pos e^l)``.

    For unit embeddings and prototypes the logits lie in ``[-kappa,
    kappa]``, so with the row maximum ``m`` subtracted every term is at
    least ``exp(-2 kappa)``, a normal float32 for ``kappa <= 40``: one
    ``exp`` and two masked sums then give both sums exactly, at a
    fraction of the cost of two masked ``logsumexp`` calls; their ratio
    does not depend on ``m`` (:func:`_log1p_ratio`). Above that
    concentration, the masked ``logsumexp`` itself. ``pos`` and ``neg``
    are disjoint.
    """
    if float(kappa) > _SHARED_SHIFT_MAX_KAPPA:
        ninf = torch.finfo(logits.dtype).min
        # A row without negative: softplus(finfo.min - lse_pos) = 0.
        return F.softplus(
            logits.masked_fill(~neg, ninf).logsumexp(1) -
            logits.masked_fill(~pos, ninf).logsumexp(1))
    m = logits.detach().amax(1, keepdim=True)
    e = torch.exp(logits - m)
    zero = e.new_zeros(())
    return _log1p_ratio(
        torch.where(neg, e, zero).sum(1),
        torch.where(pos, e, zero).sum(1))


def segsort_plus_loss(embedding: Tensor,
                      prototypes: Tensor,
                      positive: Tensor,
                      negative: Tensor,
                      own_segment: Tensor,
                      kappa: float,
                      fallback: str = 'own',
                      weight: Optional[Tensor] = None,
                      reduction: str = 'mean',
                      avg_factor: Optional[Union[float, Tensor]] = None,
                      logits: Optional[Tensor] = None) -> Tensor:
    """SegSort+ loss of one pixel-to-segment relation (SPML Eq. 3).

    .. math::
        L(i, C^+, C^-) = -\\log
        \\frac{\\sum_{t \\in C^+} \\exp(\\kappa \\mu_t' e_i)}
             {\\sum_{t \\in C^+ \\cup C^-} \\exp(\\kappa \\mu_t' e_i)}

    with ``p(z_i = t | e_i, mu)`` the von Mises-Fisher posterior of Eq. 1.
    As in Eq. 3, ``C^+`` and ``C^-`` exclude ``s``, the segment pixel
    ``i`` belongs to: ``own_segment`` is removed from ``positive`` and
    ``negative`` whatever they say. Both sums are log-sum-exps of float32
    (or float64) logits, exact where a raw ``exp`` overflows.

    A pixel whose relation leaves no positive besides ``s`` (a
    superpixel covered by one segment, the only segment of a class)
    has no Eq. 3 term. ``fallback='own'`` then uses Eq. 2 on the
    relation's segments: ``C^+ = {s}`` and the denominator
    ``{s} U C^-`` (SegSort's loss, which pulls ``i`` to its own segment);
    ``'ignore'`` drops the pixel. A pixel with no negative has a zero
    loss (``log 1``), a pixel with neither, or with ``own_segment < 0``
    and no positive, is not counted.

    Args:
        embedding (Tensor): ``(P, D)`` unit pixel embeddings ``e_i``.
        prototypes (Tensor): ``(S, D)`` unit segment features ``mu_t``.
        positive (Tensor): ``(P, S)`` bool, ``t in C^+`` of pixel ``i``
            (before removing ``s``).
        negative (Tensor): ``(P, S)`` bool, ``t in C^-``; disjoint from
            ``positive``.
        own_segment (Tensor): ``(P, )`` long, index of ``s`` in
            ``prototypes``; ``-1`` for a pixel of no segment.
        kappa (float): concentration ``kappa`` (Eq. 1).
        fallback (str): ``'own'`` or ``'ignore'``, see above.
            Default: ``'own'``.
        weight (Tensor, optional): ``(P, )`` per-pixel weights (0 drops a
            pixel); they also weight the mean's denominator.
        reduction (str): ``'mean'`` over the counted pixels, ``'sum'`` or
            ``'none'`` (the ``(P, )`` losses, 0 where not counted).
            Default: ``'mean'``.
        avg_factor (float | Tensor, optional): denominator of ``'mean'``.
        logits (Tensor, optional): ``(P, S)`` precomputed
            :func:`segment_logits` with this ``kappa``, shared between
            calls.

    Returns:
        Tensor: the loss; a zero with a ``grad_fn`` when no pixel counts.
    """
    check_choice('fallback', fallback, FALLBACKS)
    if logits is None:
        logits = segment_logits(embedding, prototypes, kappa)
    p, s = logits.shape
    for name, mask in (('positive', positive), ('negative', negative)):
        if mask.shape != (p, s) or mask.dtype != torch.bool:
            raise ValueError(f'{name} must be a bool (P, S) = {(p, s)} '
                             f'mask, got {mask.dtype} {tuple(mask.shape)}')
    if own_segment.shape != (p, ):
        raise ValueError(f'own_segment must have shape (P, ) = {(p, )}, '
                         f'got {tuple(own_segment.shape)}')
    cols = torch.arange(s, device=logits.device)
    own = own_segment[:, None] == cols[None]
    pos = positive & ~own
    neg = negative & ~own
    has_pos = pos.any(1)
    has_own = own_segment >= 0
    if fallback == 'own':
        use_own = ~has_pos & has_own
        pos = pos | (own & use_own[:, None])
        counted = has_pos | use_own
    else:
        counted = has_pos
    # Rows with no positive get every column as positive and none as
    # negative, so their sums stay finite (no nan gradient); weight 0.
    pos = pos | ~counted[:, None]
    neg = neg & ~pos
    w = counted.to(logits.dtype)
    if weight is not None:
        if weight.shape != (p, ):
            raise ValueError(f'weight must have shape (P, ) = {(p, )}, got '
                             f'{tuple(weight.shape)}')
        w = w * weight.to(logits.dtype)
    per_pixel = _masked_log_ratio(logits, pos, neg, kappa) * w
    return reduce_loss(
        per_pixel, reduction, avg_factor=avg_factor, denominator=w.sum())


@MODELS.register_module()
class SegSortLoss(BaseScribbleLoss):
    """SegSort+ loss of one relation of SPML Eq. 4 (Eq. 3): see
    :func:`segsort_plus_loss`.

    ``SPMLHead`` holds four of them, one per relation: semantic
    annotation (``C``), low-level image similarity (``V``), semantic
    co-occurrence (``O``) and feature affinity (``C-hat``), with
    ``loss_weight`` = ``lambda`` and ``kappa`` of Table 5.

    Args:
        kappa (float): concentration. Default: 6.0 (``kappa_C``).
        fallback (str): ``'own'`` or ``'ignore'``. Default: ``'own'``.
        loss_weight (float): ``lambda`` of Eq. 4. Default: 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over the
            counted pixels. Default: ``'mean'``.
        loss_name (str): name in the log. Default: ``'loss_segsort'``.
    """

    def __init__(self,
                 kappa: float = 6.0,
                 fallback: str = 'own',
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 loss_name: str = 'loss_segsort') -> None:
        super().__init__(reduction, loss_weight, loss_name)
        check_choice('fallback', fallback, FALLBACKS)
        if not float(kappa) > 0:
            raise ValueError(f'kappa must be > 0, got {kappa!r}')
        self.kappa = float(kappa)
        self.fallback = fallback

    def forward(self,
                embedding: Tensor,
                prototypes: Tensor,
                positive: Tensor,
                negative: Tensor,
                own_segment: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[Union[float, Tensor]] = None,
                reduction_override: Optional[str] = None,
                cosine: Optional[Tensor] = None) -> Tensor:
        """Compute the weighted loss.

        Args:
            embedding (Tensor): ``(P, D)`` pixel embeddings.
            prototypes (Tensor): ``(S, D)`` segment features.
            positive (Tensor): ``(P, S)`` bool positive segments.
            negative (Tensor): ``(P, S)`` bool negative segments.
            own_segment (Tensor): ``(P, )`` long own segment (-1: none).
            weight (Tensor, optional): ``(P, )`` pixel weights.
            avg_factor (float | Tensor, optional): divisor for ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.
            cosine (Tensor, optional): ``(P, S)`` precomputed
                ``mu_t' e_i`` (float32+), shared by the relations.

        Returns:
            Tensor: ``loss_weight`` times the reduced loss.
        """
        logits = None if cosine is None else self.kappa * cosine
        return self.loss_weight * segsort_plus_loss(
            embedding,
            prototypes,
            positive,
            negative,
            own_segment,
            self.kappa,
            fallback=self.fallback,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            logits=logits)

    def forward_grouped(self,
                        cosine: Tensor,
                        seg_group: Tensor,
                        pos_groups: Tensor,
                        cand_groups: Tensor,
                        own_segment: Tensor,
                        weight: Optional[Tensor] = None,
                        avg_factor: Optional[Union[float, Tensor]] = None,
                        reduction_override: Optional[str] = None) -> Tensor:
        """The loss with the relation as segment groups: see
        :func:`grouped_segsort_plus_loss`.

        Args:
            cosine (Tensor): ``(P, S)`` ``mu_t' e_i`` (float32+).
            seg_group (Tensor): ``(S, )`` group of each segment.
            pos_groups (Tensor): ``(P, G)`` bool positive groups.
            cand_groups (Tensor): ``(P, G)`` bool positive or negative.
            own_segment (Tensor): ``(P, )`` own segment (-1: none).
            weight (Tensor, optional): ``(P, )`` pixel weights.
            avg_factor (float | Tensor, optional): divisor for ``'mean'``.
            reduction_override (str, optional): overrides ``reduction``.

        Returns:
            Tensor: ``loss_weight`` times the reduced loss.
        """
        return self.loss_weight * grouped_segsort_plus_loss(
            self.kappa * cosine,
            seg_group,
            pos_groups,
            cand_groups,
            own_segment,
            self.kappa,
            fallback=self.fallback,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return (f'kappa={self.kappa}, fallback={self.fallback!r}, '
                f'loss_weight={self.loss_weight}')


def grouped_segsort_plus_loss(
        logits: Tensor,
        seg_group: Tensor,
        pos_groups: Tensor,
        cand_groups: Tensor,
        own_segment: Tensor,
        kappa: float,
        fallback: str = 'own',
        weight: Optional[Tensor] = None,
        reduction: str = 'mean',
        avg_factor: Optional[Union[float, Tensor]] = None) -> Tensor:
    """:func:`segsort_plus_loss` for relations defined on segment groups.

    Every relation of SPML is a property of a segment's group (its label,
    its image and superpixel, its image's tags): ``t in C^+`` of pixel
    ``i`` iff ``pos_groups[i, seg_group[t]]``, ``t in C^+ U C^-`` iff
    ``cand_groups[i, seg_group[t]]``. The same Eq. 3 is then computed with
    one ``exp`` of the ``(P, S)`` logits (shifted by the row maximum), the
    pixel's own segment zeroed in it (removed exactly, not subtracted), and
    per-group sums by one ``index_add`` over the columns, instead of two
    ``(P, S)`` masks; the group counts decide which pixels have another
    positive. For ``kappa > 40`` (see :func:`_masked_log_ratio`) the masks are
    built and :func:`segsort_plus_loss` is called.

    Args:
        logits (Tensor): ``(P, S)`` ``kappa * mu_t' e_i`` (float32+), for
            unit embeddings and prototypes.
        seg_group (Tensor): ``(S, )`` long group of each segment in
            ``[0, G)``.
        pos_groups (Tensor): ``(P, G)`` bool, positive groups per pixel.
        cand_groups (Tensor): ``(P, G)`` bool, positive or negative groups
            (a superset of ``pos_groups``).
        own_segment (Tensor): ``(P, )`` long, ``-1`` for none.
        kappa (float): the concentration in ``logits``.
        fallback, weight, reduction, avg_factor: as
            :func:`segsort_plus_loss`.

    Returns:
        Tensor: the loss.
    """
    check_choice('fallback', fallback, FALLBACKS)
    p, s = logits.shape
    g = pos_groups.shape[1]
    if seg_group.shape != (s, ) or pos_groups.shape != (p, g) or \
            cand_groups.shape != (p, g) or own_segment.shape != (p, ):
        raise ValueError(
            'need logits (P, S), seg_group (S, ), pos_groups and '
            'cand_groups (P, G), own_segment (P, ); got '
            f'{tuple(logits.shape)}, {tuple(seg_group.shape)}, '
            f'{tuple(pos_groups.shape)}, {tuple(cand_groups.shape)}, '
            f'{tuple(own_segment.shape)}')
    if float(kappa) > _SHARED_SHIFT_MAX_KAPPA:
        pos = pos_groups[:, seg_group]
        neg = cand_groups[:, seg_group] & ~pos
        return segsort_plus_loss(
            None,
            None,
            pos,
            neg,
            own_segment,
            kappa,
            fallback=fallback,
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor,
            logits=logits)
    if s == 0:  # no segment at all (an all-padding batch)
        return reduce_loss(
            logits.sum(1) * 0,
            reduction,
            avg_factor=avg_factor,
            denominator=0.)
    has_own = own_segment >= 0
    own_idx = own_segment.clamp(min=0)[:, None]
    m = logits.detach().amax(1, keepdim=True)
    e = torch.exp(logits - m)
    own_e = e.gather(1, own_idx)[:, 0]
    # Zero the own segment (a pixel of none writes its column 0 back).
    e = e.scatter(
        1, own_idx,
        torch.where(has_own, torch.zeros_like(own_e), own_e)[:, None])
    sums = e.new_zeros(p, g).index_add(1, seg_group, e)
    pos_f = pos_groups.to(e.dtype)
    pos_sum = (sums * pos_f).sum(1)
    neg_sum = (sums * (cand_groups & ~pos_groups).to(e.dtype)).sum(1)
    counts = torch.bincount(seg_group, minlength=g).to(e.dtype)
    own_group = seg_group[own_segment.clamp(min=0)]
    own_in_pos = pos_groups.gather(1, own_group[:, None])[:, 0] & has_own
    pos_count = (pos_f * counts).sum(1) - own_in_pos.to(e.dtype)
    has_pos = pos_count > 0
    if fallback == 'own':
        use_own = ~has_pos & has_own
        counted = has_pos | use_own
        # No other positive: the positive groups' sums are 0 here.
        pos_sum = torch.where(use_own, own_e, pos_sum)
    else:
        counted = has_pos
    pos_sum = torch.where(counted, pos_sum, torch.ones_like(pos_sum))
    neg_sum = torch.where(counted, neg_sum, torch.zeros_like(neg_sum))
    w = counted.to(e.dtype)
    if weight is not None:
        if weight.shape != (p, ):
            raise ValueError(f'weight must have shape (P, ) = {(p, )}, got '
                             f'{tuple(weight.shape)}')
        w = w * weight.to(e.dtype)
    per_pixel = _log1p_ratio(neg_sum, pos_sum) * w
    return reduce_loss(
        per_pixel, reduction, avg_factor=avg_factor, denominator=w.sum())
