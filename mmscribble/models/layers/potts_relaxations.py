# Copyright (c) mmscribble contributors. All rights reserved.
"""Potts relaxations and cross-entropies of soft self-labeling.

Zhang & Boykov's self-labeling loss, Eq. 8 of the paper, over network
predictions ``sigma`` and soft pseudo-labels ``y`` (both on the simplex,
``y_i`` fixed to the scribble's one-hot ``ybar_i`` on scribbled pixels
``i in S``)::

    -sum_{i in S} ln sigma_i^{ybar_i}
        + eta * sum_{i not in S} H(y_i, sigma_i)
        + lambda * sum_{{i, j} in N} w_ij P(y_i, y_j)            (Eq. 8)

This module holds its per-pixel and per-pair terms, in pure torch:

* the cross-entropy terms ``H`` (:func:`self_label_cross_entropy`:
  standard Eq. 9, reverse Eq. 10, collision Eq. 11, and the quadratic
  ``||y - sigma||^2`` of Sec. 3.1 that gives the closed form);
* the six Potts relaxations ``P`` of Tables 1-2
  (:func:`potts_relaxation`), all functions of ``p.q``, ``|p|^2``,
  ``|q|^2`` only (:func:`potts_from_products`), which is what lets the
  dense neighbourhood use one matrix product for every relaxation;
* their closed-form gradients (:func:`potts_product_grads`,
  :func:`self_label_cross_entropy_grad_y`), which the solver steps on.

The neighbourhoods ``N`` and the energy are in ``potts_neighbourhoods.py``,
the solvers in ``potts_solvers.py``.

Numerical guard of the logarithmic relaxations (collision cross-entropy,
collision divergence, log-quadratic) and of the collision / reverse
cross-entropies: their log argument (``p.q``, ``p.q / (|p||q|)``, ``1 -
|p - q|^2 / 2`` or ``y``) is 0 for orthogonal one-hot pairs, where ``-ln``
is infinite and its gradient NaN. The argument is clamped from below at
``eps`` (default: the smallest normal number of the dtype, ``1.18e-38``
for float32), so such a pair costs ``-ln(eps)`` (87.3 in float32) with a
zero gradient, and any argument above ``eps`` is exact.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from ...utils.validation import check_choice

RELAXATIONS = ('bilinear', 'quadratic', 'normalized_quadratic',
               'collision_cross_entropy', 'collision_divergence',
               'log_quadratic')
CROSS_ENTROPIES = ('standard', 'reverse', 'collision', 'quadratic')
LOG_RELAXATIONS = ('collision_cross_entropy', 'collision_divergence',
                   'log_quadratic')


def _eps(x: Tensor, eps: Optional[float]) -> float:
    return torch.finfo(x.dtype).tiny if eps is None else eps


def _neg_log(x: Tensor, eps: Optional[float]) -> Tensor:
    return -x.clamp_min(_eps(x, eps)).log()


# ---------------------------------------------------------------------------
# Potts relaxations (Tables 1-2).
# ---------------------------------------------------------------------------
def potts_from_products(dot: Tensor,
                        sq_p: Tensor,
                        sq_q: Tensor,
                        relaxation: str,
                        eps: Optional[float] = None) -> Tensor:
    """A Potts relaxation from ``p.q``, ``|p|^2`` and ``|q|^2``.

    With ``c = p.q / (|p| |q|)``::

        bilinear                 P_BL  = 1 - p.q                  (Tab. 1)
        quadratic                P_Q   = |p - q|^2 / 2
                                       = (|p|^2 + |q|^2) / 2 - p.q (Tab. 1)
        normalized_quadratic     P_NQ  = 1 - c                    (Tab. 1)
        collision_cross_entropy  P_CCE = -ln(p.q)                 (Tab. 2)
        collision_divergence     P_CD  = -ln(c)                   (Tab. 2)
        log_quadratic            P_LQ  = -ln(1 - P_Q)             (Tab. 2)

    The logarithms' arguments are clamped at ``eps`` (module docstring).

    Args:
        dot (Tensor): ``p.q``, any shape.
        sq_p (Tensor): ``|p|^2``, broadcastable to ``dot``.
        sq_q (Tensor): ``|q|^2``, broadcastable to ``dot``.
        relaxation (str): one of :data:`RELAXATIONS`.
        eps (float, optional): lower clamp of log arguments; None: the
            dtype's smallest normal number.

    Returns:
        Tensor: ``P``, ``dot``'s broadcast shape.
    """
    check_choice('relaxation', relaxation, RELAXATIONS)
    if relaxation == 'bilinear':
        return 1 - dot
    if relaxation == 'collision_cross_entropy':
        return _neg_log(dot, eps)
    if relaxation in ('quadratic', 'log_quadratic'):
        quad = 0.5 * (sq_p + sq_q) - dot
        return quad if relaxation == 'quadratic' else _neg_log(1 - quad, eps)
    # |p| >= 1 / sqrt(K) > 0 on the simplex: the division is safe.
    cos = dot / (sq_p * sq_q).sqrt()
    if relaxation == 'normalized_quadratic':
        return 1 - cos
    return _neg_log(cos, eps)


def potts_relaxation(p: Tensor,
                     q: Tensor,
                     relaxation: str,
                     dim: int = 1,
                     eps: Optional[float] = None) -> Tensor:
    """``P(p, q)`` of Tables 1-2 for distributions along ``dim``.

    Args:
        p (Tensor): distributions, e.g. ``(N, K, H, W)`` with ``K`` at
            ``dim``.
        q (Tensor): same shape as ``p``.
        relaxation (str): one of :data:`RELAXATIONS`
            (see :func:`potts_from_products`).
        dim (int): the class axis. Default: 1.
        eps (float, optional): log guard, see :func:`potts_from_products`.

    Returns:
        Tensor: ``P``, ``p``'s shape without ``dim``.
    """
    if p.shape != q.shape:
        raise ValueError(f'p and q must have the same shape, got '
                         f'{tuple(p.shape)} and {tuple(q.shape)}')
    return potts_from_products((p * q).sum(dim),
                               p.square().sum(dim),
                               q.square().sum(dim), relaxation, eps)


def potts_product_grads(
        dot: Tensor,
        sq_p: Tensor,
        sq_q: Tensor,
        relaxation: str,
        eps: Optional[float] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Closed-form gradient of :func:`potts_from_products`.

    Every relaxation is ``f(p.q, |p|^2, |q|^2)``, so ``dP/dp = a q + b_p
    p`` and ``dP/dq = a p + b_q q`` with ``a = df/d(p.q)``, ``b_p = 2
    df/d|p|^2``, ``b_q = 2 df/d|q|^2``::

        bilinear                 a = -1          b_p = b_q = 0
        quadratic                a = -1          b_p = b_q = 1
        normalized_quadratic     a = -1/(|p||q|) b_p = c/|p|^2, b_q = c/|q|^2
        collision_cross_entropy  a = -1/p.q      b_p = b_q = 0
        collision_divergence     a = -1/p.q      b_p = 1/|p|^2, b_q = 1/|q|^2
        log_quadratic            a = -1/t        b_p = b_q = 1/t

    (``c = p.q / (|p||q|)``, ``t = 1 - P_Q``). Where the log guard clamps
    the argument (below ``eps``) all three are 0, as autograd gives.

    Args:
        dot, sq_p, sq_q (Tensor): as :func:`potts_from_products`.
        relaxation (str): one of :data:`RELAXATIONS`.
        eps (float, optional): the log guard.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``a``, ``b_p``, ``b_q``, broadcast
        to ``dot``'s shape.
    """
    check_choice('relaxation', relaxation, RELAXATIONS)
    one = torch.ones_like(dot)
    zero = torch.zeros_like(dot)
    if relaxation == 'bilinear':
        return -one, zero, zero
    if relaxation == 'quadratic':
        return -one, one, one
    if relaxation == 'normalized_quadratic':
        inv = (sq_p * sq_q).rsqrt() * one
        cos = dot * inv
        return -inv, cos / sq_p, cos / sq_q
    eps = _eps(dot, eps)
    if relaxation == 'log_quadratic':
        t = 1 - (0.5 * (sq_p + sq_q) - dot)
        live = t >= eps
        inv = torch.where(live, 1 / t.clamp_min(eps), zero)
        return -inv, inv, inv
    if relaxation == 'collision_cross_entropy':
        live = dot >= eps
        return torch.where(live, -1 / dot.clamp_min(eps), zero), zero, zero
    live = dot * (sq_p * sq_q).rsqrt() >= eps
    a = torch.where(live, -1 / dot.clamp_min(eps), zero)
    return (a, torch.where(live, 1 / sq_p * one,
                           zero), torch.where(live, 1 / sq_q * one, zero))


# ---------------------------------------------------------------------------
# Cross-entropy terms (Eq. 9-11).
# ---------------------------------------------------------------------------
def self_label_cross_entropy(y: Tensor,
                             logits: Tensor,
                             kind: str = 'collision',
                             dim: int = 1,
                             eps: Optional[float] = None) -> Tensor:
    """``H(y, sigma)`` between pseudo-labels and ``sigma = softmax(logits)``.

    ::

        standard   H_CE  = -sum_k y^k ln sigma^k                 (Eq. 9)
        reverse    H_RCE = -sum_k sigma^k ln y^k                 (Eq. 10)
        collision  H_CCE = -ln sum_k sigma^k y^k                 (Eq. 11)
        quadratic  H_Q   = sum_k (y^k - sigma^k)^2               (Sec. 3.1)

    ``ln sigma`` is ``log_softmax(logits)``; the collision term is
    ``-logsumexp_k(ln sigma^k + ln y^k)``, exact even where ``sigma^T y``
    underflows. ``y`` enters logs clamped at ``eps`` (module docstring):
    a zero ``y^k`` gives a zero gradient, never NaN.

    Args:
        y (Tensor): pseudo-labels on the simplex, ``(N, K, H, W)``.
        logits (Tensor): network logits, same shape.
        kind (str): one of :data:`CROSS_ENTROPIES`. Default: 'collision'.
        dim (int): the class axis. Default: 1.
        eps (float, optional): lower clamp of ``y`` in logs; None: the
            dtype's smallest normal number.

    Returns:
        Tensor: ``H`` per pixel, ``(N, H, W)``.
    """
    check_choice('kind', kind, CROSS_ENTROPIES)
    if y.shape != logits.shape:
        raise ValueError(f'y and logits must have the same shape, got '
                         f'{tuple(y.shape)} and {tuple(logits.shape)}')
    log_sigma = logits.log_softmax(dim)
    if kind == 'standard':
        return -(y * log_sigma).sum(dim)
    if kind == 'quadratic':
        return (y - log_sigma.exp()).square().sum(dim)
    log_y = y.clamp_min(_eps(y, eps)).log()
    if kind == 'reverse':
        return -(log_sigma.exp() * log_y).sum(dim)
    return -torch.logsumexp(log_sigma + log_y, dim)


def self_label_cross_entropy_grad_y(y: Tensor,
                                    logits: Tensor,
                                    kind: str = 'collision',
                                    eps: Optional[float] = None) -> Tensor:
    """Closed-form ``dH/dy`` of :func:`self_label_cross_entropy` (class
    axis 1)::

        standard   -ln sigma
        reverse    -sigma / y                     (0 where y < eps)
        collision  -sigma / sum_k sigma^k y^k     (0 where y < eps)
        quadratic  2 (y - sigma)

    Args:
        y (Tensor): ``(N, K, H, W)``.
        logits (Tensor): ``(N, K, H, W)``.
        kind (str): one of :data:`CROSS_ENTROPIES`.
        eps (float, optional): the clamp of ``y`` in logs.

    Returns:
        Tensor: ``(N, K, H, W)``.
    """
    check_choice('kind', kind, CROSS_ENTROPIES)
    return cross_entropy_grad_y(y, logits.log_softmax(1), kind, eps)


def cross_entropy_grad_y(y: Tensor, log_sigma: Tensor, kind: str,
                         eps: Optional[float]) -> Tensor:
    if kind == 'standard':
        return -log_sigma
    sigma = log_sigma.exp()
    if kind == 'quadratic':
        return 2 * (y - sigma)
    eps = _eps(y, eps)
    live = y >= eps
    if kind == 'reverse':
        return torch.where(live, -sigma / y.clamp_min(eps),
                           torch.zeros_like(y))
    total = (sigma * y.clamp_min(eps)).sum(1, keepdim=True)
    return torch.where(live, -sigma / total, torch.zeros_like(y))


__all__ = [
    'RELAXATIONS', 'CROSS_ENTROPIES', 'LOG_RELAXATIONS', 'potts_from_products',
    'potts_relaxation', 'potts_product_grads', 'self_label_cross_entropy',
    'self_label_cross_entropy_grad_y', 'cross_entropy_grad_y'
]
