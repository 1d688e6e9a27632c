# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft self-labeling with Potts relaxations (Zhang & Boykov): the pieces.

The self-labeling loss, Eq. 8 of the paper, over network predictions
``sigma`` and soft pseudo-labels ``y`` (both on the simplex, ``y_i`` fixed
to the scribble's one-hot ``ybar_i`` on scribbled pixels ``i in S``)::

    -sum_{i in S} ln sigma_i^{ybar_i}
        + eta * sum_{i not in S} H(y_i, sigma_i)
        + lambda * sum_{{i, j} in N} w_ij P(y_i, y_j)            (Eq. 8)

This module holds, in pure torch (no registry, no config):

* the cross-entropy terms ``H`` (:func:`self_label_cross_entropy`:
  standard Eq. 9, reverse Eq. 10, collision Eq. 11, and the quadratic
  ``||y - sigma||^2`` of Sec. 3.1 that gives the closed form);
* the six Potts relaxations ``P`` of Tables 1-2
  (:func:`potts_relaxation`), all functions of ``p.q``, ``|p|^2``,
  ``|q|^2`` only (:func:`potts_from_products`), which is what lets the
  dense neighbourhood use one matrix product for every relaxation;
* the neighbourhoods ``N`` with weights ``w_ij``
  (:class:`GridNeighbourhood`: 4- or 8-connected grid;
  :class:`DenseNeighbourhood`: every pair of a (reduced) grid), each with a
  dense ``(M, M)`` weight matrix for tests and a matrix-free Laplacian
  (``laplacian``, ``degree``) for the conjugate-gradient solver;
* the energy of Eq. 8 over ``y`` with ``sigma`` fixed
  (:func:`self_labeling_energy`) and its solver
  (:func:`solve_pseudo_labels`) in two settings, the paper's
  (:data:`REFERENCE_SOLVER`, Appendix A) and a faster one
  (:data:`FAST_SOLVER`: fewer Adam steps, or conjugate gradient on the
  linear system of the quadratic pair), with the closed-form optimum of
  the quadratic pair as their oracle (:func:`quadratic_pseudo_labels`).

Colour affinity (the paper does not print it; we use the Gaussian of the
dense-CRF / rloss losses it builds on)::

    w_ij = exp(-||I_i - I_j||^2 / (2 s^2)),

``I`` the RGB image in [0, 255] and ``s`` the colour bandwidth (9 for
VOC, 3 for Cityscapes / ADE20k in the paper). The dense neighbourhood
multiplies it by ``exp(-||p_i - p_j||^2 / (2 s_xy^2))`` (``s_xy`` = 100
image pixels, the paper's "bandwidth 100").

Numerical guard of the logarithmic relaxations (collision cross-entropy,
collision divergence, log-quadratic) and of the collision / reverse
cross-entropies: their log argument (``p.q``, ``p.q / (|p||q|)``, ``1 -
|p - q|^2 / 2`` or ``y``) is 0 for orthogonal one-hot pairs, where ``-ln``
is infinite and its gradient NaN. The argument is clamped from below at
``eps`` (default: the smallest normal number of the dtype, ``1.18e-38``
for float32), so such a pair costs ``-ln(eps)`` (87.3 in float32) with a
zero gradient, and any argument above ``eps`` is exact. The energy also
drops pairs whose both ends are scribbled: they are constant in ``y`` and
two adjacent scribbles of different classes are exactly such a pair.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..utils.numeric import safe_div
from .window_affinity import window_offsets, window_pairwise_weights

RELAXATIONS = ('bilinear', 'quadratic', 'normalized_quadratic',
               'collision_cross_entropy', 'collision_divergence',
               'log_quadratic')
CROSS_ENTROPIES = ('standard', 'reverse', 'collision', 'quadratic')
LOG_RELAXATIONS = ('collision_cross_entropy', 'collision_divergence',
                   'log_quadratic')

# Forward offsets (dy, dx) of a grid: every unordered pair once.
_GRID_OFFSETS = {4: ((0, 1), (1, 0)), 8: ((0, 1), (1, -1), (1, 0), (1, 1))}


def _choice(name: str, value, choices: Sequence) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got '
                         f'{value!r}')


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
    _choice('relaxation', relaxation, RELAXATIONS)
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
    return potts_from_products((p * q).sum(dim), p.square().sum(dim),
                               q.square().sum(dim), relaxation, eps)


def potts_product_grads(dot: Tensor,
                        sq_p: Tensor,
                        sq_q: Tensor,
                        relaxation: str,
                        eps: Optional[float] = None
                        ) -> Tuple[Tensor, Tensor, Tensor]:
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
    _choice('relaxation', relaxation, RELAXATIONS)
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
    return (a, torch.where(live, 1 / sq_p * one, zero),
            torch.where(live, 1 / sq_q * one, zero))


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
    _choice('kind', kind, CROSS_ENTROPIES)
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
    _choice('kind', kind, CROSS_ENTROPIES)
    return _cross_entropy_grad_y(y, logits.log_softmax(1), kind, eps)


def _cross_entropy_grad_y(y: Tensor, log_sigma: Tensor, kind: str,
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


# ---------------------------------------------------------------------------
# Neighbourhoods.
# ---------------------------------------------------------------------------
def _shift(x: Tensor, dy: int, dx: int) -> Tensor:
    """``out[..., r, c] = x[..., r + dy, c + dx]``, replicated at borders.

    Replication (not zeros) keeps distributions on the simplex outside the
    map, so the normalised relaxations stay finite there (their pairs
    weigh 0).
    """
    h, w = x.shape[-2:]
    lead = x.shape[:-2]
    # replicate padding is defined for floating tensors only.
    flat = x.reshape(-1, 1, h, w)
    xp = F.pad(flat if x.is_floating_point() else flat.float(), (1, 1, 1, 1),
               mode='replicate').to(x.dtype)
    return xp[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w].reshape(*lead, h, w)


def _shift_back(x: Tensor, dy: int, dx: int) -> Tensor:
    """``out[..., r, c] = x[..., r - dy, c - dx]``, zeros from outside: the
    adjoint of :func:`_shift` for values that are 0 on pairs leaving the
    map."""
    h, w = x.shape[-2:]
    xp = F.pad(x, (1, 1, 1, 1))
    return xp[..., 1 - dy:1 - dy + h, 1 - dx:1 - dx + w]


def rgb_guide(img: Tensor, mean: Sequence[float],
              std: Sequence[float]) -> Tensor:
    """Undo the preprocessor's normalisation: ``img * std + mean``.

    Args:
        img (Tensor): normalised image, ``(N, 3, H, W)``.
        mean (Sequence[float]): per-channel mean (RGB, [0, 255]).
        std (Sequence[float]): per-channel std.

    Returns:
        Tensor: the image in [0, 255] units, ``(N, 3, H, W)``, float32.
    """
    m = img.new_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    s = img.new_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return img.float() * s + m


class GridNeighbourhood:
    """4- or 8-connected grid with colour-affinity weights.

    ``weights[n, e, r, c]`` is ``w_ij`` of the pair ``i = (r, c)``, ``j =
    (r + dy_e, c + dx_e)`` for the forward offsets ``(0, 1), (1, 0)``
    (4-connected) or ``(0, 1), (1, -1), (1, 0), (1, 1)`` (8-connected), so
    every unordered pair is counted once; pairs leaving the map weigh 0.

    Args:
        weights (Tensor): ``(N, E, H, W)``.
        offsets (Sequence[tuple[int, int]]): the ``E`` forward offsets.
    """

    def __init__(self, weights: Tensor,
                 offsets: Sequence[Tuple[int, int]]) -> None:
        if weights.dim() != 4 or weights.shape[1] != len(offsets):
            raise ValueError(
                f'weights must be (N, E, H, W) with E = {len(offsets)} '
                f'offsets, got {tuple(weights.shape)}')
        self.weights = weights
        self.offsets = tuple(tuple(o) for o in offsets)

    @classmethod
    def from_image(cls,
                   guide: Tensor,
                   bandwidth: float,
                   connectivity: int = 4,
                   valid_mask: Optional[Tensor] = None
                   ) -> 'GridNeighbourhood':
        """Colour-affinity grid: ``w_ij = exp(-|I_i - I_j|^2 / (2 s^2))``.

        Built on :func:`window_pairwise_weights` (window 3, no spatial
        factor), keeping the forward half of the 3x3 window.

        Args:
            guide (Tensor): RGB image in [0, 255], ``(N, 3, H, W)``.
            bandwidth (float): colour bandwidth ``s``.
            connectivity (int): 4 or 8. Default: 4.
            valid_mask (Tensor, optional): ``(N, H, W)``, nonzero on real
                pixels; pairs touching padding weigh 0.
        """
        _choice('connectivity', connectivity, tuple(_GRID_OFFSETS))
        offsets = _GRID_OFFSETS[connectivity]
        all_w = window_pairwise_weights(
            guide, bandwidth, window=3, valid_mask=valid_mask)
        table = window_offsets(1, 1).tolist()
        index = [table.index(list(o)) for o in offsets]
        return cls(all_w[:, index], offsets)

    @property
    def shape(self) -> Tuple[int, int]:
        return tuple(self.weights.shape[-2:])

    def without_fixed_pairs(self, fixed: Tensor) -> 'GridNeighbourhood':
        """Drop pairs whose both ends are fixed (``fixed``: ``(N, H, W)``
        bool): constant in ``y``, and infinite for the log relaxations
        between scribbles of different classes."""
        both = torch.stack(
            [fixed & _shift(fixed, dy, dx) for dy, dx in self.offsets], 1)
        return GridNeighbourhood(
            self.weights.masked_fill(both, 0), self.offsets)

    def pair_energy(self,
                    y: Tensor,
                    relaxation: str,
                    eps: Optional[float] = None) -> Tensor:
        """``sum_{{i, j} in N} w_ij P(y_i, y_j)`` per image.

        Args:
            y (Tensor): ``(N, K, H, W)`` distributions.
            relaxation (str): one of :data:`RELAXATIONS`.
            eps (float, optional): log guard.

        Returns:
            Tensor: ``(N, )``.
        """
        sq = y.square().sum(1)
        total = y.new_zeros(y.shape[0])
        for e, (dy, dx) in enumerate(self.offsets):
            q = _shift(y, dy, dx)
            p_val = potts_from_products((y * q).sum(1), sq, _shift(sq, dy, dx),
                                        relaxation, eps)
            total = total + (self.weights[:, e].to(y.dtype) *
                             p_val).flatten(1).sum(1)
        return total

    def pair_energy_grad(self,
                         y: Tensor,
                         relaxation: str,
                         eps: Optional[float] = None) -> Tensor:
        """Closed-form ``d pair_energy / dy``, ``(N, K, H, W)``: each pair
        sends ``w (a q + b_p p)`` to its first pixel and ``w (a p + b_q
        q)`` to its second (:func:`potts_product_grads`)."""
        sq = y.square().sum(1)
        grad = torch.zeros_like(y)
        for e, (dy, dx) in enumerate(self.offsets):
            q = _shift(y, dy, dx)
            a, b_p, b_q = potts_product_grads((y * q).sum(1), sq,
                                              _shift(sq, dy, dx), relaxation,
                                              eps)
            w = self.weights[:, e].to(y.dtype)
            wa = (w * a)[:, None]
            grad = grad + wa * q + (w * b_p)[:, None] * y
            to_q = wa * y + (w * b_q)[:, None] * q
            grad = grad + _shift_back(to_q, dy, dx)
        return grad

    def _pairs(self):
        """Per offset: the weights and the slices of the pairs' first and
        second pixels that stay inside the map."""
        h, w = self.weights.shape[-2:]
        for e, (dy, dx) in enumerate(self.offsets):
            r0, r1 = max(0, -dy), min(h, h - dy)
            c0, c1 = max(0, -dx), min(w, w - dx)
            yield (self.weights[:, e, r0:r1, c0:c1], (slice(r0, r1),
                                                      slice(c0, c1)),
                   (slice(r0 + dy, r1 + dy), slice(c0 + dx, c1 + dx)))

    def laplacian(self, y: Tensor) -> Tensor:
        """``L y`` with the graph Laplacian ``L = D - W``: ``(L y)_i =
        sum_j w_ij (y_i - y_j)``, the gradient of ``sum w P_Q``, as a
        stencil on the map (no products, no padding).

        Args:
            y (Tensor): ``(N, K, H, W)``, any values.

        Returns:
            Tensor: ``(N, K, H, W)``.
        """
        out = torch.zeros_like(y)
        for wt, first, second in self._pairs():
            d = wt[:, None].to(y.dtype) * (
                y[(..., ) + first] - y[(..., ) + second])
            out[(..., ) + first] += d
            out[(..., ) + second] -= d
        return out

    def degree(self) -> Tensor:
        """``D_ii = sum_j w_ij``, ``(N, H, W)``."""
        out = torch.zeros_like(self.weights[:, 0])
        for wt, first, second in self._pairs():
            out[(..., ) + first] += wt
            out[(..., ) + second] += wt
        return out

    def dense_weights(self) -> Tensor:
        """The symmetric ``(N, M, M)`` weight matrix (``M = H W``,
        row-major), for tests and the closed-form oracle."""
        n, _, h, w = self.weights.shape
        dense = self.weights.new_zeros(n, h * w, h * w)
        idx = torch.arange(h * w, device=dense.device).view(h, w)
        for wt, first, second in self._pairs():
            i, j = idx[first].reshape(-1), idx[second].reshape(-1)
            val = wt.reshape(n, -1)
            dense[:, i, j] = val
            dense[:, j, i] = val
        return dense


class DenseNeighbourhood:
    """Every pair of a (reduced) grid: Table 4's dense neighbourhood.

    Args:
        weights (Tensor): ``(N, M, M)`` symmetric, zero diagonal, ``M = H
            W`` in row-major order.
        shape (tuple[int, int]): ``(H, W)`` of the grid.
    """

    def __init__(self, weights: Tensor, shape: Tuple[int, int]) -> None:
        h, w = shape
        if weights.dim() != 3 or weights.shape[1:] != (h * w, h * w):
            raise ValueError(f'weights must be (N, {h * w}, {h * w}) for '
                             f'shape {tuple(shape)}, got '
                             f'{tuple(weights.shape)}')
        self.weights = weights
        self._shape = (h, w)

    @classmethod
    def from_image(cls,
                   guide: Tensor,
                   bandwidth: float,
                   spatial_sigma: float,
                   valid_mask: Optional[Tensor] = None
                   ) -> 'DenseNeighbourhood':
        """``w_ij = exp(-|I_i - I_j|^2 / (2 s^2) - |p_i - p_j|^2 / (2
        s_xy^2))`` for every pair ``i != j`` of the guide's grid.

        Args:
            guide (Tensor): RGB image, ``(N, 3, H, W)``, already reduced to
                the grid the pseudo-labels are solved on.
            bandwidth (float): colour bandwidth ``s``.
            spatial_sigma (float): ``s_xy`` in pixels of this grid.
            valid_mask (Tensor, optional): ``(N, H, W)`` real pixels.
        """
        n, _, h, w = guide.shape
        g = guide.flatten(2).transpose(1, 2).double()
        d2 = torch.cdist(g, g).square()
        ys, xs = torch.meshgrid(
            torch.arange(h, device=guide.device, dtype=torch.float64),
            torch.arange(w, device=guide.device, dtype=torch.float64),
            indexing='ij')
        pos = torch.stack([ys.reshape(-1), xs.reshape(-1)], 1)
        s2 = torch.cdist(pos, pos).square()
        weights = torch.exp(-d2 / (2 * bandwidth**2) - s2 /
                            (2 * spatial_sigma**2))
        weights = weights * (1 - torch.eye(h * w, device=guide.device,
                                           dtype=weights.dtype))
        if valid_mask is not None:
            v = (valid_mask != 0).flatten(1).to(weights.dtype)
            weights = weights * v[:, :, None] * v[:, None, :]
        return cls(weights.to(guide.dtype), (h, w))

    @property
    def shape(self) -> Tuple[int, int]:
        return self._shape

    def without_fixed_pairs(self, fixed: Tensor) -> 'DenseNeighbourhood':
        """Drop pairs whose both ends are fixed (see the grid's)."""
        f = fixed.flatten(1)
        return DenseNeighbourhood(
            self.weights.masked_fill(f[:, :, None] & f[:, None, :], 0),
            self._shape)

    def pair_energy(self,
                    y: Tensor,
                    relaxation: str,
                    eps: Optional[float] = None) -> Tensor:
        """``sum_{i < j} w_ij P(y_i, y_j)`` per image: one ``(M, M)``
        product of the pseudo-labels, since every relaxation is a function
        of ``p.q``, ``|p|^2`` and ``|q|^2``.

        Args:
            y (Tensor): ``(N, K, H, W)``.
            relaxation (str): one of :data:`RELAXATIONS`.
            eps (float, optional): log guard.

        Returns:
            Tensor: ``(N, )``.
        """
        flat = y.flatten(2)
        gram = flat.transpose(1, 2) @ flat
        sq = gram.diagonal(dim1=1, dim2=2)
        p_val = potts_from_products(gram, sq[:, :, None], sq[:, None, :],
                                    relaxation, eps)
        return 0.5 * (self.weights.to(y.dtype) * p_val).flatten(1).sum(1)

    def pair_energy_grad(self,
                         y: Tensor,
                         relaxation: str,
                         eps: Optional[float] = None) -> Tensor:
        """Closed-form ``d pair_energy / dy``: ``sum_j w_ij (a_ij y_j +
        b_ij y_i)`` (``w`` and ``P`` symmetric), two ``(M, M)`` products."""
        flat = y.flatten(2)
        gram = flat.transpose(1, 2) @ flat
        sq = gram.diagonal(dim1=1, dim2=2)
        a, b_p, _ = potts_product_grads(gram, sq[:, :, None],
                                        sq[:, None, :], relaxation, eps)
        w = self.weights.to(y.dtype)
        grad = flat @ (w * a) + flat * (w * b_p).sum(2)[:, None]
        return grad.view_as(y)

    def laplacian(self, y: Tensor) -> Tensor:
        """``L y = D y - W y`` (see the grid's), one ``(M, M)`` product."""
        flat = y.flatten(2)
        w = self.weights.to(y.dtype)
        return (flat * w.sum(2)[:, None] - flat @ w).view_as(y)

    def degree(self) -> Tensor:
        """``D_ii = sum_j w_ij``, ``(N, H, W)``."""
        return self.weights.sum(2).view(-1, *self._shape)

    def dense_weights(self) -> Tensor:
        return self.weights


# ---------------------------------------------------------------------------
# The pseudo-label sub-problem.
# ---------------------------------------------------------------------------
def _fixed(scribble: Tensor, num_classes: int,
           ignore_index: int) -> Tuple[Tensor, Tensor]:
    fixed = scribble != ignore_index
    ids = scribble.long()
    ids = torch.where(fixed, ids, torch.zeros_like(ids))
    onehot = F.one_hot(ids, num_classes).permute(0, 3, 1, 2)
    return fixed, onehot


def self_labeling_energy(y: Tensor,
                         logits: Tensor,
                         scribble: Tensor,
                         neighbourhood,
                         cross_entropy: str = 'collision',
                         relaxation: str = 'collision_divergence',
                         eta: float = 0.3,
                         lam: float = 6.0,
                         valid_mask: Optional[Tensor] = None,
                         ignore_index: int = 255,
                         eps: Optional[float] = None) -> Tensor:
    """The ``y`` part of Eq. 8, ``sigma`` fixed, per image::

        E(y) = eta * sum_{i not in S, valid} H(y_i, sigma_i)
               + lambda * sum_{{i, j} in N} w_ij P(y_i, y_j).

    Sums, not means: a pixel's gradient then depends on its own terms only,
    whatever the image size, which is what a fixed solver step needs.
    ``y`` is taken as given (the caller fixes its scribbled pixels).

    Args:
        y (Tensor): pseudo-labels, ``(N, K, H, W)``.
        logits (Tensor): network logits, ``(N, K, H, W)``.
        scribble (Tensor): ``(N, H, W)`` class ids, ``ignore_index`` off
            the scribbles.
        neighbourhood (GridNeighbourhood | DenseNeighbourhood): on the
            ``(H, W)`` grid.
        cross_entropy (str): one of :data:`CROSS_ENTROPIES`.
        relaxation (str): one of :data:`RELAXATIONS`.
        eta (float): weight of ``H``. Default: 0.3.
        lam (float): weight ``lambda`` of the Potts term. Default: 6.
        valid_mask (Tensor, optional): ``(N, H, W)`` real pixels.
        ignore_index (int): unlabeled id. Default: 255.
        eps (float, optional): log guard.

    Returns:
        Tensor: ``(N, )``.
    """
    free = scribble == ignore_index
    if valid_mask is not None:
        free = free & (valid_mask != 0)
    unary = self_label_cross_entropy(y, logits, cross_entropy, eps=eps)
    unary = torch.where(free, unary, unary.new_zeros(())).flatten(1).sum(1)
    return eta * unary + lam * neighbourhood.pair_energy(y, relaxation, eps)


def self_labeling_energy_grad(y: Tensor,
                              logits: Tensor,
                              scribble: Tensor,
                              neighbourhood,
                              cross_entropy: str = 'collision',
                              relaxation: str = 'collision_divergence',
                              eta: float = 0.3,
                              lam: float = 6.0,
                              valid_mask: Optional[Tensor] = None,
                              ignore_index: int = 255,
                              eps: Optional[float] = None) -> Tensor:
    """Closed-form ``dE/dy`` of :func:`self_labeling_energy` (same
    arguments), ``(N, K, H, W)``: what the solver steps on, without an
    autograd graph (tested against autograd for every ``H`` and ``P``)."""
    _choice('cross_entropy', cross_entropy, CROSS_ENTROPIES)
    free = scribble == ignore_index
    if valid_mask is not None:
        free = free & (valid_mask != 0)
    return _energy_grad(y, logits.log_softmax(1), free[:, None], neighbourhood,
                        cross_entropy, relaxation, eta, lam, eps)


def _energy_grad(y: Tensor, log_sigma: Tensor, free: Tensor, neighbourhood,
                 cross_entropy: str, relaxation: str, eta: float, lam: float,
                 eps: Optional[float]) -> Tensor:
    unary = _cross_entropy_grad_y(y, log_sigma, cross_entropy, eps)
    unary = torch.where(free, unary, unary.new_zeros(()))
    return eta * unary + lam * neighbourhood.pair_energy_grad(
        y, relaxation, eps)


def _check_solver_inputs(logits: Tensor, scribble: Tensor,
                         neighbourhood) -> None:
    if not isinstance(logits, Tensor) or logits.dim() != 4:
        raise ValueError('logits must be (N, K, H, W), got shape '
                         f'{tuple(getattr(logits, "shape", ()))}')
    n, _, h, w = logits.shape
    if not isinstance(scribble, Tensor) or tuple(scribble.shape) != (n, h, w):
        raise ValueError(f'scribble must be (N, H, W) = {(n, h, w)}, got '
                         f'{tuple(getattr(scribble, "shape", ()))}')
    if tuple(neighbourhood.shape) != (h, w):
        raise ValueError(f'neighbourhood is on a {neighbourhood.shape} grid, '
                         f'the logits on {(h, w)}')


SOLVER_OPTIMIZERS = ('adam', 'sgd', 'cg', 'auto')
_QUADRATIC_PAIR = ('quadratic', 'quadratic')


def _solve_quadratic_cg(logits: Tensor, fixed: Tensor, onehot: Tensor,
                        free: Tensor, neighbourhood, eta: float, lam: float,
                        steps: int) -> Tensor:
    """Jacobi-preconditioned conjugate gradient for ``H_Q + P_Q``.

    The energy of :func:`self_labeling_energy` for the quadratic pair is
    ``eta sum_{i in F} |y_i - sigma_i|^2 + lam sum_{i~j} w_ij |y_i -
    y_j|^2 / 2`` (``F``: unscribbled real pixels; ``P_Q = |p - q|^2 /
    2``), quadratic in the unscribbled ``y_U``; its gradient vanishes at::

        (2 eta I_F + lam L_UU) Y_U = 2 eta Sigma_F + lam W_US Y_S,

    ``I_F`` the diagonal indicator of ``F`` (the system of
    :func:`quadratic_pseudo_labels` when every pixel is real). The matrix
    is symmetric positive semi-definite, and definite on every connected
    part of ``U`` that holds a real pixel or touches a scribble. Padding
    pixels without pairs have a zero row and a zero residual: CG leaves
    them at their start, as the gradient solvers do.

    The ``K`` columns share the matrix; they are solved as one vector per
    image (the step sizes are per image, not per class), so every iterate
    is ``y_0 + poly(M^-1 A) M^-1 r_0`` with the same polynomial for every
    class. Started on the simplex (``softmax(logits)``), ``sum_k r_0^k =
    2 eta F (1 - 1) - lam L 1 = 0``, hence every iterate's classes sum to 1
    up to rounding; the final clamp at 0 and renormalisation only removes
    the small negative values of an unconverged iterate (the optimum
    itself is non-negative). ``steps`` iterations, no host sync.

    Args:
        logits (Tensor): ``(N, K, H, W)``, detached.
        fixed (Tensor): ``(N, 1, H, W)`` bool, scribbled pixels.
        onehot (Tensor): ``(N, K, H, W)`` scribble one-hots, logits' dtype.
        free (Tensor): ``(N, 1, H, W)`` bool, unscribbled real pixels.
        neighbourhood (GridNeighbourhood | DenseNeighbourhood): with
            ``laplacian`` and ``degree``.
        eta (float), lam (float): of the energy.
        steps (int): CG iterations.

    Returns:
        Tensor: ``(N, K, H, W)``.
    """
    sigma = logits.softmax(1)
    unknown = ~fixed
    unary = 2 * eta * free.to(logits.dtype)
    diag = unary + lam * neighbourhood.degree()[:, None].to(logits.dtype)
    inv_diag = torch.where(unknown & (diag != 0), 1 / diag.where(
        diag != 0, torch.ones_like(diag)), torch.zeros_like(diag))
    dims = (1, 2, 3)

    def apply(p):
        return unary * p + lam * neighbourhood.laplacian(p)

    y = torch.where(fixed, onehot, sigma)
    # The residual b - A y_U is minus the energy's gradient at y on U.
    r = torch.where(unknown, unary * (sigma - y) - lam *
                    neighbourhood.laplacian(y), torch.zeros_like(y))
    z = inv_diag * r
    p = z
    rz = (r * z).sum(dims, keepdim=True)
    for _ in range(steps):
        ap = torch.where(unknown, apply(p), torch.zeros_like(p))
        alpha = safe_div(rz, (p * ap).sum(dims, keepdim=True))
        y = y + alpha * p
        r = r - alpha * ap
        z = inv_diag * r
        rz_new = (r * z).sum(dims, keepdim=True)
        p = z + safe_div(rz_new, rz) * p
        rz = rz_new
    y = y.clamp_min(0)
    return y / y.sum(1, keepdim=True)


def solve_pseudo_labels(logits: Tensor,
                        scribble: Tensor,
                        neighbourhood,
                        cross_entropy: str = 'collision',
                        relaxation: str = 'collision_divergence',
                        eta: float = 0.3,
                        lam: float = 6.0,
                        steps: int = 200,
                        lr: float = 0.075,
                        optimizer: str = 'adam',
                        valid_mask: Optional[Tensor] = None,
                        ignore_index: int = 255,
                        eps: Optional[float] = None) -> Tensor:
    """Minimise :func:`self_labeling_energy` over ``y`` (Appendix A).

    ``y = softmax(l)`` with ``l`` initialised to the network logits; at
    every step the scribbled ``y_i`` are reset to their one-hot labels and
    ``l`` takes one step of ``optimizer`` on ``dE/dl`` (the closed-form
    :func:`self_labeling_energy_grad`, no autograd graph). Pairs between two
    scribbled pixels are dropped (constant). The defaults are the paper's
    solver (200 steps, lr 0.075); :data:`FAST_SOLVER` is the faster
    setting (see ``configs/softsl/README.md`` for the measured energies).

    ``optimizer``: the paper says "standard gradient descent in PyTorch"
    and reports 99.2% soft Jaccard to the closed-form optimum of the
    quadratic pair after 200 steps at lr 0.075. Adam reaches that (99.7%
    on the oracle test's graphs); plain gradient descent reaches 78%
    there (its step on ``l`` is damped by ``y (1 - y)``), so 'adam' is
    our default reading and 'sgd' the literal one. 'cg' is for the
    quadratic pair (``H_Q + P_Q``) only, whose energy is quadratic in
    ``y``: ``steps`` iterations of conjugate gradient on its linear
    system, warm-started from ``softmax(logits)`` (``lr`` unused; see
    :func:`_solve_quadratic_cg`); any other pair raises a ValueError.
    'auto' (:data:`FAST_SOLVER`) is 'cg' for the quadratic pair and
    'adam' otherwise.

    Args:
        logits (Tensor): network logits ``(N, K, H, W)`` (detached here).
        scribble (Tensor): ``(N, H, W)`` class ids, ``ignore_index`` off
            the scribbles.
        neighbourhood (GridNeighbourhood | DenseNeighbourhood): on the
            ``(H, W)`` grid.
        cross_entropy, relaxation, eta, lam, eps: of the energy
            (:func:`self_labeling_energy`).
        steps (int): optimizer steps (CG iterations for 'cg'). Default:
            200.
        lr (float): step size of 'adam' / 'sgd'. Default: 0.075.
        optimizer (str): 'adam', 'sgd' (plain gradient descent), 'cg'
            (quadratic pair only) or 'auto'. Default: 'adam'.
        valid_mask (Tensor, optional): ``(N, H, W)`` real pixels.
        ignore_index (int): unlabeled id. Default: 255.

    Returns:
        Tensor: pseudo-labels ``(N, K, H, W)``, no graph.
    """
    _check_solver_inputs(logits, scribble, neighbourhood)
    _choice('optimizer', optimizer, SOLVER_OPTIMIZERS)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f'steps must be an int >= 0, got {steps!r}')
    if not lr > 0:
        raise ValueError(f'lr must be > 0, got {lr!r}')
    _choice('cross_entropy', cross_entropy, CROSS_ENTROPIES)
    _choice('relaxation', relaxation, RELAXATIONS)
    quadratic = (cross_entropy, relaxation) == _QUADRATIC_PAIR
    if optimizer == 'cg' and not quadratic:
        raise ValueError(
            "optimizer='cg' solves the quadratic pair only (cross_entropy="
            "'quadratic', relaxation='quadratic'), got cross_entropy="
            f'{cross_entropy!r}, relaxation={relaxation!r}')
    if optimizer == 'auto':
        optimizer = 'cg' if quadratic else 'adam'
    fixed, onehot = _fixed(scribble, logits.shape[1], ignore_index)
    logits = logits.detach()
    onehot = onehot.to(logits.dtype)
    fixed4 = fixed[:, None]
    free = ~fixed4
    if valid_mask is not None:
        free = free & (valid_mask != 0)[:, None]
    if optimizer == 'cg':
        with torch.no_grad():
            return _solve_quadratic_cg(logits, fixed4, onehot, free,
                                       neighbourhood, eta, lam, steps)
    neighbourhood = neighbourhood.without_fixed_pairs(fixed)
    var = logits.clone()
    opt = (torch.optim.Adam if optimizer == 'adam' else torch.optim.SGD)(
        [var], lr=lr)
    with torch.no_grad():
        log_sigma = logits.log_softmax(1)
        for _ in range(steps):
            soft = var.softmax(1)
            y = torch.where(fixed4, onehot, soft)
            grad_y = _energy_grad(y, log_sigma, free, neighbourhood,
                                  cross_entropy, relaxation, eta, lam, eps)
            # Chain rule through the softmax; the reset scribbled pixels
            # do not depend on l.
            grad_l = soft * (grad_y - (soft * grad_y).sum(1, keepdim=True))
            var.grad = torch.where(fixed4, grad_l.new_zeros(()), grad_l)
            opt.step()
        return torch.where(fixed4, onehot, var.softmax(1))


#: The paper's solver (Appendix A) and the faster setting of
#: :func:`solve_pseudo_labels`: 50 Adam steps at lr 0.2, or 50 conjugate
#: gradient iterations for the quadratic pair ('auto').
REFERENCE_SOLVER = dict(steps=200, lr=0.075, optimizer='adam')
FAST_SOLVER = dict(steps=50, lr=0.2, optimizer='auto')


def quadratic_pseudo_labels(logits: Tensor,
                            scribble: Tensor,
                            weights: Tensor,
                            eta: float,
                            lam: float,
                            ignore_index: int = 255) -> Tensor:
    """Closed-form optimum of Eq. 8's ``y`` part for ``H_Q`` and ``P_Q``.

    ``E(y) = eta sum_{i in U} |y_i - sigma_i|^2 + lam / 2 sum_{i<j} w_ij
    |y_i - y_j|^2`` with ``y_S`` fixed. Setting ``dE/dy_U = 0`` with the
    Laplacian ``L = D - W``::

        (2 eta I + lam L_UU) Y_U = 2 eta Sigma_U + lam W_US Y_S.

    The matrix is an M-matrix and the right side is non-negative, so
    ``Y_U >= 0``; ``L 1 = 0`` makes its rows sum to 1: the unconstrained
    optimum is on the simplex, hence the constrained one. ``eta -> 0`` is
    Grady's random walker. Dense solve: small graphs only (the oracle of
    the solvers' tests).

    Args:
        logits (Tensor): ``(N, K, H, W)``.
        scribble (Tensor): ``(N, H, W)``.
        weights (Tensor): dense ``(N, M, M)`` symmetric weights.
        eta (float): weight of ``H_Q`` (> 0).
        lam (float): weight of ``P_Q``.
        ignore_index (int): unlabeled id. Default: 255.

    Returns:
        Tensor: ``(N, K, H, W)``.
    """
    n, k, h, w = logits.shape
    fixed, onehot = _fixed(scribble, k, ignore_index)
    sigma = logits.softmax(1).flatten(2).transpose(1, 2)
    y_s = onehot.to(logits.dtype).flatten(2).transpose(1, 2)
    out = []
    for b in range(n):
        f = fixed[b].flatten()
        u = ~f
        wb = weights[b].to(logits.dtype)
        lap = torch.diag(wb.sum(1)) - wb
        a = 2 * eta * torch.eye(int(u.sum()), dtype=logits.dtype,
                                device=logits.device) + lam * lap[u][:, u]
        rhs = 2 * eta * sigma[b][u] + lam * wb[u][:, f] @ y_s[b][f]
        y = y_s[b].clone()
        y[u] = torch.linalg.solve(a, rhs)
        out.append(y.transpose(0, 1).reshape(k, h, w))
    return torch.stack(out)


def soft_jaccard(a: Tensor,
                 b: Tensor,
                 mask: Optional[Tensor] = None) -> Tensor:
    """``sum min(a, b) / sum max(a, b)`` over classes and (masked) pixels.

    Args:
        a (Tensor): ``(N, K, H, W)``.
        b (Tensor): same shape.
        mask (Tensor, optional): ``(N, H, W)`` pixels to count.

    Returns:
        Tensor: scalar in [0, 1].
    """
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    if mask is not None:
        m = mask[:, None].to(a.dtype)
        lo, hi = lo * m, hi * m
    return lo.sum() / hi.sum()


__all__ = [
    'RELAXATIONS', 'CROSS_ENTROPIES', 'LOG_RELAXATIONS',
    'potts_from_products', 'potts_relaxation', 'self_label_cross_entropy',
    'rgb_guide', 'GridNeighbourhood', 'DenseNeighbourhood',
    'self_labeling_energy', 'self_labeling_energy_grad',
    'potts_product_grads', 'self_label_cross_entropy_grad_y',
    'solve_pseudo_labels', 'REFERENCE_SOLVER',
    'FAST_SOLVER', 'SOLVER_OPTIMIZERS', 'quadratic_pseudo_labels',
    'soft_jaccard'
]
