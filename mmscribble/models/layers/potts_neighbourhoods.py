# Copyright (c) mmscribble contributors. All rights reserved.
"""Neighbourhoods and energy of soft self-labeling (Zhang & Boykov).

The ``y`` part of Eq. 8 (see ``potts_relaxations.py`` for ``H`` and
``P``), ``sigma`` fixed::

    E(y) = eta * sum_{i not in S} H(y_i, sigma_i)
           + lambda * sum_{{i, j} in N} w_ij P(y_i, y_j).

This module holds, in pure torch (no registry, no config), the
neighbourhoods ``N`` with weights ``w_ij`` (:class:`GridNeighbourhood`:
4- or 8-connected grid; :class:`DenseNeighbourhood`: every pair of a
(reduced) grid), each with a dense ``(M, M)`` weight matrix for tests and
a matrix-free Laplacian (``laplacian``, ``degree``) for the
conjugate-gradient solver, and the energy :func:`self_labeling_energy`
with its closed-form gradient. The solvers are in ``potts_solvers.py``.

Colour affinity (the paper does not print it; we use the Gaussian of the
dense-CRF / rloss losses it builds on)::

    w_ij = exp(-||I_i - I_j||^2 / (2 s^2)),

``I`` the RGB image in [0, 255] and ``s`` the colour bandwidth (9 for
VOC, 3 for Cityscapes / ADE20k in the paper). The dense neighbourhood
multiplies it by ``exp(-||p_i - p_j||^2 / (2 s_xy^2))`` (``s_xy`` = 100
image pixels, the paper's "bandwidth 100").

The energy drops pairs whose both ends are scribbled
(``without_fixed_pairs``): they are constant in ``y``, and two adjacent
scribbles of different classes are exactly such a pair, infinite for the
logarithmic relaxations.
"""
import functools
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...utils.validation import check_choice
from .potts_relaxations import (CROSS_ENTROPIES, cross_entropy_grad_y,
                                potts_from_products, potts_product_grads,
                                self_label_cross_entropy)
from .window_affinity import window_offsets, window_pairwise_weights

# Forward offsets (dy, dx) of a grid: every unordered pair once.
_GRID_OFFSETS = {4: ((0, 1), (1, 0)), 8: ((0, 1), (1, -1), (1, 0), (1, 1))}


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
    xp = F.pad(
        flat if x.is_floating_point() else flat.float(), (1, 1, 1, 1),
        mode='replicate').to(x.dtype)
    return xp[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w].reshape(*lead, h, w)


def _shift_back(x: Tensor, dy: int, dx: int) -> Tensor:
    """``out[..., r, c] = x[..., r - dy, c - dx]``, zeros from outside: the
    adjoint of :func:`_shift` for values that are 0 on pairs leaving the
    map."""
    h, w = x.shape[-2:]
    xp = F.pad(x, (1, 1, 1, 1))
    return xp[..., 1 - dy:1 - dy + h, 1 - dx:1 - dx + w]


def in_float32(method):
    """Run a neighbourhood method on ``y`` in float32 with autocast off.

    Under autocast the ``(M, M)`` products of the dense neighbourhood ran
    in half precision, and a half ``y`` drops the relaxations' log guard
    to half's smallest normal (6e-5 in float16): energies off by a third,
    gradients by all of their value. float64 stays float64; the result
    is float32 (or float64), and gradients flow back to a half ``y``.
    """

    @functools.wraps(method)
    def wrapper(self, y: Tensor, *args, **kwargs):
        with torch.autocast(device_type=y.device.type, enabled=False):
            return method(self,
                          y.to(torch.promote_types(y.dtype, torch.float32)),
                          *args, **kwargs)

    return wrapper


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

    def __init__(self, weights: Tensor, offsets: Sequence[Tuple[int,
                                                                int]]) -> None:
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
                   valid_mask: Optional[Tensor] = None) -> 'GridNeighbourhood':
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
        check_choice('connectivity', connectivity, tuple(_GRID_OFFSETS))
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

    @in_float32
    def pair_energy(self,
                    y: Tensor,
                    relaxation: str,
                    eps: Optional[float] = None) -> Tensor:
        """``sum_{{i, j} in N} w_ij P(y_i, y_j)`` per image (float32 at
        least, autocast off: :func:`in_float32`).

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
            yield (self.weights[:, e, r0:r1,
                                c0:c1], (slice(r0, r1), slice(c0, c1)),
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
    def from_image(
            cls,
            guide: Tensor,
            bandwidth: float,
            spatial_sigma: float,
            valid_mask: Optional[Tensor] = None) -> 'DenseNeighbourhood':
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
        weights = weights * (
            1 - torch.eye(h * w, device=guide.device, dtype=weights.dtype))
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

    @in_float32
    def pair_energy(self,
                    y: Tensor,
                    relaxation: str,
                    eps: Optional[float] = None) -> Tensor:
        """``sum_{i < j} w_ij P(y_i, y_j)`` per image: one ``(M, M)``
        product of the pseudo-labels, since every relaxation is a function
        of ``p.q``, ``|p|^2`` and ``|q|^2``. Like every method of this
        class taking ``y``, in float32 at least with autocast off
        (:func:`in_float32`).

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

    @in_float32
    def pair_energy_grad(self,
                         y: Tensor,
                         relaxation: str,
                         eps: Optional[float] = None) -> Tensor:
        """Closed-form ``d pair_energy / dy``: ``sum_j w_ij (a_ij y_j +
        b_ij y_i)`` (``w`` and ``P`` symmetric), two ``(M, M)`` products."""
        flat = y.flatten(2)
        gram = flat.transpose(1, 2) @ flat
        sq = gram.diagonal(dim1=1, dim2=2)
        a, b_p, _ = potts_product_grads(gram, sq[:, :, None], sq[:, None, :],
                                        relaxation, eps)
        w = self.weights.to(y.dtype)
        grad = flat @ (w * a) + flat * (w * b_p).sum(2)[:, None]
        return grad.view_as(y)

    @in_float32
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


def scribble_onehot(scribble: Tensor, num_classes: int,
                    ignore_index: int) -> Tuple[Tensor, Tensor]:
    """Scribbled pixels and their one-hot labels.

    Args:
        scribble (Tensor): ``(N, H, W)`` class ids, ``ignore_index`` off
            the scribbles.
        num_classes (int): ``K``.
        ignore_index (int): unlabeled id.

    Returns:
        tuple[Tensor, Tensor]: ``(N, H, W)`` bool, True on scribbles, and
        ``(N, K, H, W)`` int64 one-hots (class 0 off the scribbles).
    """
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
    check_choice('cross_entropy', cross_entropy, CROSS_ENTROPIES)
    free = scribble == ignore_index
    if valid_mask is not None:
        free = free & (valid_mask != 0)
    return energy_grad(y, logits.log_softmax(1), free[:, None], neighbourhood,
                       cross_entropy, relaxation, eta, lam, eps)


def energy_grad(y: Tensor, log_sigma: Tensor, free: Tensor, neighbourhood,
                cross_entropy: str, relaxation: str, eta: float, lam: float,
                eps: Optional[float]) -> Tensor:
    """:func:`self_labeling_energy_grad` from ``ln sigma`` and the
    ``(N, 1, H, W)`` mask ``free`` of the unscribbled real pixels, for a
    solver that computes both once."""
    unary = cross_entropy_grad_y(y, log_sigma, cross_entropy, eps)
    unary = torch.where(free, unary, unary.new_zeros(()))
    return eta * unary + lam * neighbourhood.pair_energy_grad(
        y, relaxation, eps)


__all__ = [
    'rgb_guide', 'GridNeighbourhood', 'DenseNeighbourhood', 'scribble_onehot',
    'self_labeling_energy', 'self_labeling_energy_grad', 'energy_grad'
]
