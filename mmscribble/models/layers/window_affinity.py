# Copyright (c) mmscribble contributors. All rights reserved.
"""Exact affinities over a local window of a feature map.

Pixels of an ``(h, w)`` map are indexed by ``i`` (keys) and ``j``
(queries) with positions ``s_i``; the window ``W(j)`` is the square of
``(2 ry + 1) x (2 rx + 1)`` pixels centred on ``j`` (see
:func:`window_radii`), cut by the map border. Two operators are built on
it, both pure torch, with no registry and no config:

* **Softmax aggregation** (:func:`window_softmax_aggregate`)::

      out_j = sum_{i in W(j)} A[i, j] v_i,
      A[i, j] = exp(l_ij) / sum_{k in W(j)} exp(l_kj),
      l_ij = f_i . f_j - ||s_i - s_j||^2 / (2 sigma^2),

  i.e. every column of ``A`` is a softmax over the keys of the window:
  attention whose logits are feature dot products plus a Gaussian of the
  distance. BLPSeg's LAM (``local_aggregation.py``, Eq. 3-5 of the paper)
  is this operator on segmentation logits. Time is ``O(hw (2r+1)^2 C)``;
  memory is a few padded copies of the features and of their gradient,
  ``O(hw C)``, plus ``O(hw r)`` temporaries per row offset, never the
  ``(2r+1)^2 x hw`` affinities: the window is swept row offset by row
  offset with an online softmax (as in flash attention) and the backward
  pass recomputes the affinities (the tiling of the map is
  ``window_tiling.py``). :func:`dense_window_softmax` and
  :func:`dense_window_softmax_aggregate` (``window_affinity_dense.py``,
  re-exported here) build the same ``A`` as a full ``(hw, hw)`` matrix:
  the reference for tests and benchmarks.

* **Pairwise weights** (:func:`window_pairwise_weights`)::

      w_ij = exp(-||g_i - g_j||^2 / (2 s^2)) exp(-||s_i - s_j||^2
             / (2 sigma^2)),   i in W(j),

  unnormalised and materialised per window offset, ``(N, K, h, w)`` with
  ``K = (2 ry + 1)(2 rx + 1)``: the edge weights of a CRF / Potts
  neighbourhood on a guide image ``g`` (the colour bandwidth ``s``; the
  spatial factor is optional). Meant for small windows, whose ``K`` maps
  are cheap; :func:`window_neighbours` gathers the values they weigh.

Window truncation. With the default window ``r = ceil(3 sigma)`` the
softmax aggregation is the untruncated (``W(j)`` = whole map) one up to a
bounded error. Let ``eps_j`` be the share of column ``j``'s untruncated
mass ``sum_k exp(l_kj)`` that lies outside ``W(j)``. The untruncated
output is ``(1 - eps_j) out_j + eps_j m_j`` with ``m_j`` a convex
combination of the values outside, so for every real pixel ``j`` and
every channel (max and min over the real pixels of the image)::

    |out_j - out_j(untruncated)| <= eps_j (max_i v_i - min_i v_i),
    eps_j <= B_j / (1 + B_j),
    B_j = exp(max_{i not in W(j)} (f_i - f_j) . f_j) * G,
    G = sum_{(dy, dx): |dy| > ry or |dx| > rx} exp(-(dy^2 + dx^2)
        / (2 sigma^2)),

since the window mass is at least the weight ``exp(f_j . f_j)`` of ``j``
itself. Without features ``B_j = G = 3.4e-3`` for ``sigma = 1``, ``r =
3``; for an interior pixel, whose window holds the whole ``3 sigma``
kernel, ``eps_j`` is then exactly the Gaussian mass beyond ``3 sigma``,
``5.4e-4``. Features that favour a pixel outside the window over ``j``
itself loosen the bound; a larger ``window`` tightens it.

Masks. Window positions outside the map are excluded from the
normalisation (they do not count as zero features), and an optional
``valid_mask`` also excludes padded pixels of a batch; a pixel always
keeps itself as a key so that every column has a non-empty support (a
padded pixel with no valid pixel in its window returns its own value).
Pairwise weights are 0 for every pair with an end outside the map or not
valid.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from ...utils.validation import check_positive_scalar
from .window_affinity_dense import (dense_window_softmax,
                                    dense_window_softmax_aggregate)
from .window_common import (WINDOW_SIGMAS, Sigma, check_4d,
                            check_aggregate_inputs, check_valid_mask,
                            compute_dtype, offset_log_kernel, window_radii)
from .window_tiling import WindowTiling


# ---------------------------------------------------------------------------
# Softmax aggregation: local form.
# ---------------------------------------------------------------------------
def _exp_floor(dtype: torch.dtype) -> float:
    """Smallest exponent whose ``exp`` is a normal number of ``dtype``.

    Exponents are clamped to it before ``exp``: below it the weight is
    under ``1e-37`` (float32) of the window maximum, i.e. nothing, yet
    producing the denormal results runs several times slower on CPU.
    Masked keys thus weigh ``~1e-38`` instead of 0, far below rounding.
    """
    return math.log(torch.finfo(dtype).tiny) + 1.0


def _window_logits(geo: WindowTiling, dy: int, keys: Optional[Tensor],
                   biases: Tensor, invalid_buf: Optional[Tensor]) -> Tensor:
    """Logits ``f_i . f_j - ||s_i - s_j||^2 / (2 sigma^2)`` at offset ``dy``.

    Args:
        geo (WindowTiling): The tiling.
        dy (int): Row offset of the keys.
        keys (Tensor, optional): Feature key buffer, None without
            features.
        biases (Tensor): :meth:`WindowTiling.biases`.
        invalid_buf (Tensor, optional):
            :meth:`WindowTiling.invalid_key_buffer`.

    Returns:
        Tensor: ``(B, tile, span)`` for the valid rows of ``dy`` (see
        :meth:`WindowTiling.key_windows`), ``-inf`` outside the window.
    """
    y0, y1 = geo.rows(dy)
    bias = biases[dy + geo.ry]
    if keys is not None:
        s = torch.matmul(
            geo.query_windows(keys, dy),
            geo.key_windows(keys, dy).transpose(1, 2))
        s.view(-1, geo.n_tiles, geo.tile, geo.span).add_(bias)
    else:
        s = bias.repeat((y1 - y0) * geo.n, 1, 1)
    mask = geo.masked_keys(invalid_buf, dy)
    return s.masked_fill_(mask, float('-inf')) if mask is not None else s


class _WindowSoftmaxAggregate(torch.autograd.Function):
    """Windowed softmax aggregation, online softmax, recomputing backward.

    Inputs are ``feat (N, C, h, w)`` or None, ``values (N, K, h, w)``,
    ``log_kernel (2 ry + 1, 2 rx + 1)`` or None and ``valid_mask
    (N, h, w)`` or None. Only the output and the per-pixel log-normaliser
    are saved, never the ``(2r+1)^2 x hw`` affinities.
    """

    @staticmethod
    def forward(ctx, feat: Optional[Tensor], values: Tensor,
                log_kernel: Optional[Tensor], valid_mask: Optional[Tensor],
                ry: int, rx: int) -> Tensor:
        n, k, h, w = values.shape
        dtype, device = values.dtype, values.device
        geo = WindowTiling(n, h, w, ry, rx)
        biases = geo.biases(log_kernel, dtype, device)
        invalid_buf = geo.invalid_key_buffer(valid_mask, device)
        keys = geo.keys(feat) if feat is not None else None
        x_keys = geo.keys(values)

        floor = _exp_floor(dtype)
        shape = (h, n, geo.n_tiles, geo.tile)
        row_max = torch.full(shape, float('-inf'), dtype=dtype, device=device)
        row_sum = torch.zeros(shape, dtype=dtype, device=device)
        acc = torch.zeros(shape + (k, ), dtype=dtype, device=device)
        for dy in geo.dys:
            y0, y1 = geo.rows(dy)
            s = _window_logits(geo, dy, keys, biases, invalid_buf)
            old_max = row_max[y0:y1].view(-1, geo.tile)
            new_max = torch.maximum(old_max, s.amax(-1))
            # exp(-inf - finite) = 0: the first step (dy = 0) makes every
            # running max finite, and fully masked rows then add nothing.
            scale = torch.exp(old_max - new_max)
            p = s.sub_(new_max[..., None]).clamp_(min=floor).exp_()
            sums = row_sum[y0:y1].view(-1, geo.tile)
            sums.mul_(scale).add_(p.sum(-1))
            accs = acc[y0:y1].view(-1, geo.tile, k)
            accs.mul_(scale[..., None]).baddbmm_(p,
                                                 geo.key_windows(x_keys, dy))
            old_max.copy_(new_max)
        out = acc.div_(row_sum[..., None])
        log_norm = row_max.add_(row_sum.log_())

        ctx.geo = geo
        ctx.save_for_backward(feat, values, log_kernel, valid_mask, out,
                              log_norm)
        return geo.from_query_tiles(out)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        feat, values, log_kernel, valid_mask, out, log_norm = \
            ctx.saved_tensors
        geo = ctx.geo
        need_feat, need_x, need_kernel = ctx.needs_input_grad[:3]
        dtype, device = values.dtype, values.device
        k = values.shape[1]
        biases = geo.biases(log_kernel, dtype, device)
        invalid_buf = geo.invalid_key_buffer(valid_mask, device)
        keys = geo.keys(feat) if feat is not None else None
        x_keys = geo.keys(values)

        floor = _exp_floor(dtype)
        g = geo.query_tiles(grad_out.to(dtype))
        # Softmax backward: dS = A * (dA - sum_i A dA), sum_i A dA = g . out.
        delta = (g * out).sum(-1)
        grad_x = torch.zeros_like(x_keys) if need_x else None
        # Both the query and the key role of a feature pixel accumulate
        # into one buffer laid out like ``keys``.
        grad_keys = torch.zeros_like(keys) if need_feat else None
        grad_bias = torch.zeros(
            2 * geo.ry + 1, geo.tile, geo.span, dtype=dtype,
            device=device) if need_kernel else None

        for dy in geo.dys:
            y0, y1 = geo.rows(dy)
            s = _window_logits(geo, dy, keys, biases, invalid_buf)
            norm = log_norm[y0:y1].view(-1, geo.tile, 1)
            a = s.sub_(norm).clamp_(min=floor).exp_()
            g_rows = g[y0:y1].view(-1, geo.tile, k)
            if need_x:
                # dL/dv_i = sum_j A[i, j] dL/dout_j (BLPSeg Eq. 6).
                geo.add_key_windows_(grad_x, a.transpose(1, 2), g_rows, dy)
            if not (need_feat or need_kernel):
                continue
            grad_s = torch.matmul(g_rows,
                                  geo.key_windows(x_keys, dy).transpose(1, 2))
            grad_s.sub_(delta[y0:y1].view(-1, geo.tile, 1)).mul_(a)
            if need_kernel:
                grad_bias[dy + geo.ry] += grad_s.sum(0)
            if need_feat:
                grad_queries = geo.query_windows(grad_keys, dy)
                grad_queries.baddbmm_(grad_s, geo.key_windows(keys, dy))
                geo.add_key_windows_(grad_keys, grad_s.transpose(1, 2),
                                     geo.query_windows(keys, dy), dy)

        grad_feat = geo.from_keys(grad_keys) if need_feat else None
        grad_kernel = None
        if need_kernel:
            # Product [t, q] carries kernel entry q - t: sum each band
            # diagonal (entries off the band have zero weight).
            grad_kernel = grad_bias.new_zeros(2 * geo.ry + 1, geo.kx)
            for t in range(geo.tile):
                grad_kernel += grad_bias[:, t, t:t + geo.kx]
        grad_x = geo.from_keys(grad_x) if need_x else None
        return grad_feat, grad_x, grad_kernel, None, None, None


def softmax_aggregate(feat: Optional[Tensor], values: Tensor,
                      sigma: Optional[Sigma], window: Optional[int],
                      valid_mask: Optional[Tensor],
                      values_name: str) -> Tensor:
    """:func:`window_softmax_aggregate` with ``values_name`` in the
    messages of the input checks."""
    check_aggregate_inputs(feat, values, sigma, valid_mask, values_name)
    _, _, h, w = values.shape
    ry, rx = window_radii(sigma, window, h, w)
    dtype = compute_dtype(feat, values)
    with torch.autocast(values.device.type, enabled=False):
        log_kernel = offset_log_kernel(sigma, ry, rx, dtype, values.device)
        return _WindowSoftmaxAggregate.apply(
            feat.to(dtype) if feat is not None else None, values.to(dtype),
            log_kernel, valid_mask, ry, rx)


def window_softmax_aggregate(feat: Optional[Tensor],
                             values: Tensor,
                             sigma: Optional[Sigma],
                             window: Optional[int] = None,
                             valid_mask: Optional[Tensor] = None) -> Tensor:
    """Aggregates values with a softmax affinity over a local window.

    ``out_j = sum_{i in W(j)} A[i, j] v_i`` with ``A[i, j] = softmax_i(f_i .
    f_j - ||s_i - s_j||^2 / (2 sigma^2))`` over the keys ``i`` in the square
    window ``W(j)`` of side ``window`` around ``j``: every column of ``A``
    sums to one, so each output is a convex combination of values. Equal to
    :func:`dense_window_softmax_aggregate` with the same ``window``; with
    the default window it differs from the untruncated form by at most the
    bound in the module docstring.

    Gradients flow to ``feat``, ``values`` and a tensor ``sigma``; none of
    them is detached.

    Args:
        feat (Tensor, optional): Similarity features ``f``, ``(N, C, h, w)``.
            None drops the feature term (distance kernel only).
        values (Tensor): Values ``v`` to aggregate, ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of the Gaussian distance
            kernel in pixels of the ``(h, w)`` map; a scalar tensor makes it
            differentiable. None drops the kernel (then ``window`` is
            required).
        window (int, optional): Odd side length of the square window.
            Defaults to ``2 * ceil(3 * sigma) + 1``; clipped to the map.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels. Other pixels are dropped as keys (a pixel still keeps
            itself).

    Returns:
        Tensor: Aggregated values ``(N, K, h, w)``, in float32 for half
        precision inputs (autocast is disabled inside).
    """
    return softmax_aggregate(feat, values, sigma, window, valid_mask, 'values')


# ---------------------------------------------------------------------------
# Pairwise weights of a neighbourhood.
# ---------------------------------------------------------------------------
def _check_radii(ry: int, rx: int) -> None:
    for name, r in (('ry', ry), ('rx', rx)):
        if isinstance(r, bool) or not isinstance(r, int) or r < 0:
            raise ValueError(f'{name} must be a non-negative int, got {r!r}')


def window_offsets(ry: int,
                   rx: int,
                   device: Optional[torch.device] = None) -> Tensor:
    """Offsets ``(dy, dx)`` of a window, in the order of the ``K`` axis.

    Args:
        ry (int): Vertical radius.
        rx (int): Horizontal radius.
        device (torch.device, optional): Output device.

    Returns:
        Tensor: ``(K, 2)`` int64, ``K = (2 ry + 1)(2 rx + 1)``, row-major
        (``dy`` outer, ``dx`` inner); ``(0, 0)`` is entry ``K // 2`` and
        the offset of entry ``K - 1 - o`` is minus that of entry ``o``.
    """
    _check_radii(ry, rx)
    dy, dx = torch.meshgrid(
        torch.arange(-ry, ry + 1, device=device),
        torch.arange(-rx, rx + 1, device=device),
        indexing='ij')
    return torch.stack([dy.reshape(-1), dx.reshape(-1)], dim=1)


def window_neighbours(x: Tensor,
                      ry: int,
                      rx: int,
                      fill: float = 0.0) -> Tensor:
    """Values of every window offset at every pixel.

    Args:
        x (Tensor): ``(N, C, h, w)``.
        ry (int): Vertical radius.
        rx (int): Horizontal radius.
        fill (float): Value of offsets that leave the map. Default: 0.

    Returns:
        Tensor: ``(N, C, K, h, w)`` with ``out[n, c, o, y, x] = x[n, c, y +
        dy_o, x + dx_o]`` for the offsets of :func:`window_offsets`, or
        ``fill`` outside the map. Memory is ``K`` times that of ``x``.
    """
    if not isinstance(x, Tensor) or x.dim() != 4:
        raise ValueError('x must be (N, C, h, w), got shape '
                         f'{tuple(getattr(x, "shape", ()))}')
    _check_radii(ry, rx)
    h, w = x.shape[-2:]
    padded = F.pad(x, (rx, rx, ry, ry), value=fill)
    return torch.stack([
        padded[..., ry + dy:ry + dy + h, rx + dx:rx + dx + w]
        for dy in range(-ry, ry + 1) for dx in range(-rx, rx + 1)
    ],
                       dim=2)


def window_pairwise_weights(guide: Tensor,
                            bandwidth: Sigma,
                            window: Optional[int] = None,
                            sigma: Optional[Sigma] = None,
                            valid_mask: Optional[Tensor] = None) -> Tensor:
    """Gaussian edge weights between each pixel and its window neighbours.

    ``w[n, o, y, x] = exp(-||g_p - g_q||^2 / (2 s^2)) * exp(-||p - q||^2 /
    (2 sigma^2))`` for the pixel ``p = (y, x)`` and its neighbour ``q = p +
    (dy_o, dx_o)`` (offsets of :func:`window_offsets`): the pairwise
    weights of a CRF / Potts neighbourhood (dense CRF kernels restricted
    to a window). The weights are symmetric: ``w[n, o, p] = w[n, K - 1 -
    o, q]``. Offset ``K // 2`` is the pixel itself, weight 1.

    Args:
        guide (Tensor): Guide image ``g`` (e.g. RGB in [0, 255]),
            ``(N, C, h, w)``, floating point.
        bandwidth (float | Tensor): Colour bandwidth ``s`` > 0, in units of
            the guide.
        window (int, optional): Odd side of the window (3: the 8
            neighbours). Defaults to ``2 * ceil(3 * sigma) + 1``; required
            when ``sigma`` is None.
        sigma (float | Tensor, optional): Width of the spatial factor in
            pixels; None (default) drops it.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real
            pixels; a pair with an invalid end weighs 0.

    Returns:
        Tensor: ``(N, K, h, w)`` weights in [0, 1], 0 where the neighbour
        leaves the map; float32 (float64 for a float64 guide), with the
        graph to ``guide`` and tensor ``bandwidth`` / ``sigma``.
    """
    check_4d('guide', guide)
    n, _, h, w = guide.shape
    if bandwidth is None:
        raise ValueError('bandwidth must be a positive number, got None')
    check_positive_scalar('bandwidth', bandwidth)
    check_positive_scalar('sigma', sigma)
    check_valid_mask(valid_mask, n, h, w)
    ry, rx = window_radii(sigma, window, h, w)
    dtype = compute_dtype(guide)
    device = guide.device
    with torch.autocast(device.type, enabled=False):
        g = guide.to(dtype)
        if isinstance(bandwidth, Tensor):
            bandwidth = bandwidth.to(dtype=dtype, device=device).reshape(())
        offsets = window_offsets(ry, rx, device)
        # Neighbours outside the map read zero padding: finite, so that
        # where() below gives them weight 0 and a zero (not NaN) gradient.
        padded = F.pad(g, (rx, rx, ry, ry))
        d2 = []
        for dy in range(-ry, ry + 1):
            for dx in range(-rx, rx + 1):
                q = padded[..., ry + dy:ry + dy + h, rx + dx:rx + dx + w]
                d2.append((q - g).square().sum(1))
        d2 = torch.stack(d2, dim=1)
        logw = d2 / (-2 * bandwidth**2)
        log_kernel = offset_log_kernel(sigma, ry, rx, dtype, device)
        if log_kernel is not None:
            logw = logw + log_kernel.reshape(1, -1, 1, 1)
        ys = torch.arange(h, device=device)
        xs = torch.arange(w, device=device)
        qy = ys[None, :] + offsets[:, :1]
        qx = xs[None, :] + offsets[:, 1:]
        inside = (((qy >= 0) & (qy < h))[:, :, None]
                  & ((qx >= 0) & (qx < w))[:, None, :])[None]
        if valid_mask is not None:
            valid = (valid_mask != 0)[:, None].to(device)
            valid_nb = window_neighbours(
                valid.to(torch.uint8), ry, rx, fill=0)[:, 0].bool()
            inside = inside & valid & valid_nb
        return torch.where(inside, logw.exp(), logw.new_zeros(()))


__all__ = [
    'Sigma', 'WINDOW_SIGMAS', 'window_radii', 'offset_log_kernel',
    'softmax_aggregate', 'window_softmax_aggregate', 'dense_window_softmax',
    'dense_window_softmax_aggregate', 'window_offsets', 'window_neighbours',
    'window_pairwise_weights'
]
