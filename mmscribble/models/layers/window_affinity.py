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
  pass recomputes the affinities. :func:`dense_window_softmax` and
  :func:`dense_window_softmax_aggregate` build the same ``A`` as a full
  ``(hw, hw)`` matrix: the reference for tests and benchmarks.

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
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

Sigma = Union[float, Tensor]

# Radius of the default window in units of sigma: the truncated Gaussian
# weight exp(-3^2 / 2) = 1.1% of the centre weight.
WINDOW_SIGMAS = 3.0
# Narrowest tile used for the banded matrix products; narrower tiles waste
# less compute but make the batched GEMMs too small to be efficient.
_MIN_TILE = 16


# ---------------------------------------------------------------------------
# Input checks, window size and distance kernel.
# ---------------------------------------------------------------------------
def _check_4d(name: str, t: Tensor) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f'{name} must be a Tensor, got {type(t).__name__}')
    if t.dim() != 4:
        raise ValueError(f'{name} must be (N, C, h, w), got shape '
                         f'{tuple(t.shape)}')
    if not t.is_floating_point():
        raise TypeError(f'{name} must be floating point, got {t.dtype}')


def _check_valid_mask(valid_mask: Optional[Tensor], n: int, h: int,
                      w: int) -> None:
    if valid_mask is None:
        return
    if not isinstance(valid_mask, Tensor) or \
            tuple(valid_mask.shape) != (n, h, w):
        shape = tuple(getattr(valid_mask, 'shape', ()))
        raise ValueError(f'valid_mask must be (N, h, w) = {(n, h, w)}, '
                         f'got {shape}')


def _check_inputs(feat: Optional[Tensor],
                  values: Tensor,
                  sigma: Optional[Sigma],
                  valid_mask: Optional[Tensor],
                  values_name: str = 'values') -> None:
    _check_4d(values_name, values)
    n, _, h, w = values.shape
    if feat is not None:
        _check_4d('feat', feat)
        if feat.shape[0] != n or feat.shape[2:] != values.shape[2:]:
            raise ValueError(
                f'feat and {values_name} must share batch size and spatial '
                f'size, got feat {tuple(feat.shape)} and {values_name} '
                f'{tuple(values.shape)}')
        if feat.device != values.device:
            raise ValueError(f'feat and {values_name} must be on the same '
                             f'device, got {feat.device} and '
                             f'{values.device}')
    if feat is None and sigma is None:
        raise ValueError('feat and sigma cannot both be None: the affinity '
                         'would be uniform over the window')
    _check_sigma(sigma)
    _check_valid_mask(valid_mask, n, h, w)


def _check_sigma(sigma: Optional[Sigma], name: str = 'sigma') -> None:
    if sigma is None:
        return
    if isinstance(sigma, Tensor):
        if sigma.numel() != 1:
            raise ValueError(f'{name} must be a scalar, got shape '
                             f'{tuple(sigma.shape)}')
        if not bool(sigma.detach() > 0):
            raise ValueError(f'{name} must be > 0, got {sigma.item()}')
    elif not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f'{name} must be a positive number, got {sigma!r}')


def _sigma_value(sigma: Optional[Sigma]) -> Optional[float]:
    if isinstance(sigma, Tensor):
        return float(sigma.detach())
    return None if sigma is None else float(sigma)


def window_radii(sigma: Optional[Sigma], window: Optional[int], h: int,
                 w: int) -> Tuple[int, int]:
    """Vertical and horizontal window radii ``(ry, rx)``.

    Args:
        sigma (float | Tensor, optional): Width of the distance kernel.
        window (int, optional): Odd side length of the square window. Defaults
            to ``2 * ceil(3 * sigma) + 1``.
        h (int): Height of the feature map.
        w (int): Width of the feature map.

    Returns:
        tuple[int, int]: The radii, clipped to ``h - 1`` and ``w - 1`` since
        farther offsets never land inside the map.
    """
    if window is None:
        s = _sigma_value(sigma)
        if s is None:
            raise ValueError('window must be given when sigma is None '
                             '(no distance kernel to truncate)')
        r = math.ceil(WINDOW_SIGMAS * s)
    else:
        if isinstance(window, bool) or not isinstance(window, int) or \
                window < 1 or window % 2 == 0:
            raise ValueError('window must be a positive odd int (side length '
                             f'of the square window), got {window!r}')
        r = (window - 1) // 2
    return min(r, h - 1), min(r, w - 1)


def offset_log_kernel(sigma: Optional[Sigma], ry: int, rx: int,
                      dtype: torch.dtype,
                      device: torch.device) -> Optional[Tensor]:
    """Log of the Gaussian distance kernel at every window offset.

    Args:
        sigma (float | Tensor, optional): Kernel width in pixels; a tensor
            keeps the graph. None returns None (no distance kernel).
        ry (int): Vertical radius.
        rx (int): Horizontal radius.
        dtype (torch.dtype): Output dtype.
        device (torch.device): Output device.

    Returns:
        Tensor, optional: ``(2 ry + 1, 2 rx + 1)``, entry ``[ry + dy, rx +
        dx]`` is ``-(dy^2 + dx^2) / (2 sigma^2)``.
    """
    if sigma is None:
        return None
    dy = torch.arange(-ry, ry + 1, dtype=dtype, device=device)
    dx = torch.arange(-rx, rx + 1, dtype=dtype, device=device)
    d2 = dy[:, None]**2 + dx[None, :]**2
    if isinstance(sigma, Tensor):
        sigma = sigma.to(dtype=dtype, device=device).reshape(())
    return -d2 / (2 * sigma**2)


def _compute_dtype(*tensors: Optional[Tensor]) -> torch.dtype:
    # Half precision would overflow exp(f_i . f_j) bookkeeping and lose the
    # tiny Gaussian weights, so the affinity is always built in >= float32.
    dtype = torch.float32
    for t in tensors:
        if t is not None and t.dtype == torch.float64:
            dtype = torch.float64
    return dtype


# ---------------------------------------------------------------------------
# Softmax aggregation: local form.
# ---------------------------------------------------------------------------
class _Geometry:
    """Tiling of an ``(h, w)`` map for the banded matrix products.

    Each image row is cut into ``n_tiles`` tiles of ``tile`` query pixels.
    For a row offset ``dy`` the keys of a tile are the ``span = tile + 2 rx``
    pixels of row ``y + dy`` around it, so one small GEMM per tile gives all
    the (query, key) products of that row offset. Product ``[t, q]`` pairs
    query ``t`` of the tile with the key at horizontal offset ``q - t - rx``;
    only the band ``0 <= q - t <= 2 rx`` lies in the window.

    Tensors are stored rows-first, ``(h, N, ...)``, so that the valid query
    rows of a row offset are one contiguous slice. Keys live in a flat,
    zero-padded, channel-last buffer in which pixel ``(y, x)`` of image
    ``n`` is row ``((y + ry) * N + n) * width_keys + x + rx`` and
    ``width_keys = n_tiles * tile``: the key window of every tile is then a
    fixed-stride (overlapping) view of the buffer, which a batched GEMM
    reads without copying. A window that runs past ``width_keys`` reads the
    start of the next buffer row; those columns are outside the image and
    get ``-inf`` logits, hence no weight (``~1e-38`` after the clamp of
    :func:`_exp_floor`) and no gradient.
    """

    def __init__(self, n: int, h: int, w: int, ry: int, rx: int) -> None:
        self.n, self.h, self.w, self.ry, self.rx = n, h, w, ry, rx
        self.kx = 2 * rx + 1
        # width_keys >= w + rx keeps every in-image key of a window inside
        # its own buffer row; the tile is chosen near max(kx, _MIN_TILE).
        reach = w + rx
        self.n_tiles = max(1, reach // max(self.kx, _MIN_TILE))
        self.tile = -(-reach // self.n_tiles)
        self.width_keys = self.n_tiles * self.tile
        self.span = self.tile + 2 * rx
        # A window covers n_chunks consecutive tiles of the key buffer.
        self.n_chunks = -(-self.span // self.tile)
        self.key_tiles_total = (h + 2 * ry) * n * self.n_tiles + \
            self.n_chunks
        # dy = 0 first: every query's own key is valid, so the running max
        # of the online softmax is finite from the first step on.
        self.dys = [0] + [d for d in range(-ry, ry + 1) if d != 0]

    def rows(self, dy: int) -> Tuple[int, int]:
        """Query rows ``[y0, y1)`` whose row ``y + dy`` is in the map."""
        return max(0, -dy), min(self.h, self.h - dy)

    def query_tiles(self, t: Tensor) -> Tensor:
        """``(N, C, h, w)`` -> ``(h, N, n_tiles, tile, C)``, zero padded.

        Used for the gradient and the output; the features' own queries are
        read from the key buffer (:meth:`query_windows`).
        """
        c = t.shape[1]
        q = t.new_zeros(self.h, self.n, self.width_keys, c)
        q[:, :, :self.w] = t.permute(2, 0, 3, 1)
        return q.view(self.h, self.n, self.n_tiles, self.tile, c)

    def from_query_tiles(self, q: Tensor) -> Tensor:
        """Inverse of :meth:`query_tiles`: ``(N, C, h, w)``."""
        c = q.shape[-1]
        q = q.reshape(self.h, self.n, self.width_keys, c)[:, :, :self.w]
        return q.permute(1, 3, 0, 2).contiguous()

    def query_windows(self, buf: Tensor, dy: int) -> Tensor:
        """Query tiles of the valid rows at ``dy`` in a key buffer.

        A ``(B, tile, C)`` view that does not overlap itself, ordered as
        :meth:`key_windows`. Queries past ``w`` read padding or the left
        margin of the next buffer row: finite values whose outputs are
        cropped and whose gradients are zero.
        """
        y0, y1 = self.rows(dy)
        c = buf.shape[-1]
        count = (y1 - y0) * self.n * self.n_tiles
        first = (self.ry + y0) * self.n * self.width_keys + self.rx
        return buf.as_strided((count, self.tile, c), (self.tile * c, c, 1),
                              buf.storage_offset() + first * c)

    def keys(self, t: Tensor) -> Tensor:
        """``(N, C, h, w)`` -> flat key buffer ``(tiles * tile, C)``."""
        c = t.shape[1]
        buf = t.new_zeros(self.key_tiles_total * self.tile, c)
        grid = buf[:(self.h + 2 * self.ry) * self.n * self.width_keys].view(
            self.h + 2 * self.ry, self.n, self.width_keys, c)
        grid[self.ry:self.ry + self.h, :,
             self.rx:self.rx + self.w] = t.permute(2, 0, 3, 1)
        return buf

    def from_keys(self, buf: Tensor) -> Tensor:
        """Crop of a key buffer back to ``(N, C, h, w)``."""
        c = buf.shape[-1]
        grid = buf[:(self.h + 2 * self.ry) * self.n * self.width_keys].view(
            self.h + 2 * self.ry, self.n, self.width_keys, c)
        grid = grid[self.ry:self.ry + self.h, :, self.rx:self.rx + self.w]
        return grid.permute(1, 3, 0, 2).contiguous()

    def _first_tile(self, dy: int, y0: int) -> int:
        return (self.ry + dy + y0) * self.n * self.n_tiles

    def key_windows(self, buf: Tensor, dy: int) -> Tensor:
        """Key windows of the valid rows at ``dy``: ``(B, span, C)`` view.

        ``B = (y1 - y0) * N * n_tiles``, ordered as
        ``query_tiles(...)[y0:y1]``.
        """
        y0, y1 = self.rows(dy)
        c = buf.shape[-1]
        count = (y1 - y0) * self.n * self.n_tiles
        return buf.as_strided(
            (count, self.span, c), (self.tile * c, c, 1),
            buf.storage_offset() + self._first_tile(dy, y0) * self.tile * c)

    def add_key_windows_(self, buf: Tensor, lhs: Tensor, rhs: Tensor,
                         dy: int) -> None:
        """Adds the windows ``lhs @ rhs`` into a key buffer (overlap-add).

        The adjoint of :meth:`key_windows`, fused with the product so that
        the ``(B, span, C)`` windows are never materialised: each window is
        added ``tile`` rows at a time, and the chunks with the same index of
        consecutive windows do not overlap.

        Args:
            buf (Tensor): Key buffer ``(tiles * tile, C)``, updated in place.
            lhs (Tensor): ``(B, span, M)``.
            rhs (Tensor): ``(B, M, C)``.
            dy (int): Row offset of the windows.
        """
        y0, _ = self.rows(dy)
        count, c = lhs.shape[0], buf.shape[-1]
        tiles = buf.view(self.key_tiles_total, self.tile, c)
        first = self._first_tile(dy, y0)
        # Zero rows complete the last chunk: an in-place batched product
        # into a partial (non-contiguous) tile falls back to one GEMM per
        # matrix in PyTorch, ~100x slower. They add zeros to the next tile,
        # which the buffer holds (key_tiles_total counts n_chunks extra).
        lhs = F.pad(lhs, (0, 0, 0, self.n_chunks * self.tile - self.span))
        for j in range(self.n_chunks):
            tiles[first + j:first + j + count].baddbmm_(
                lhs[:, j * self.tile:(j + 1) * self.tile], rhs)

    def biases(self, log_kernel: Optional[Tensor], dtype: torch.dtype,
               device: torch.device) -> Tensor:
        """Additive logit bias of every product, per row offset.

        Returns:
            Tensor: ``(2 ry + 1, n_tiles, tile, span)``: the log distance
            kernel on the window band, ``-inf`` off the band and for key
            columns outside the image, except each query's own key (always
            kept, so padded queries never see an empty window).
        """
        t = torch.arange(self.tile, device=device)
        q = torch.arange(self.span, device=device)
        b = torch.arange(self.n_tiles, device=device)
        k = q[None, :] - t[:, None]
        in_band = (k >= 0) & (k < self.kx)
        key_x = b[:, None] * self.tile + q[None, :] - self.rx
        in_image = (key_x >= 0) & (key_x < self.w)
        keep = in_band[None] & in_image[:, None, :]
        keep = keep.expand(2 * self.ry + 1, -1, -1, -1).clone()
        keep[self.ry] |= (k == self.rx)[None]
        if log_kernel is None:
            bias = torch.zeros(keep.shape, dtype=dtype, device=device)
        else:
            bias = log_kernel[:, k.clamp(0, self.kx - 1)][:, None].expand(
                -1, self.n_tiles, -1, -1).to(dtype)
        return bias.masked_fill(~keep, float('-inf'))

    def invalid_key_buffer(self, valid_mask: Optional[Tensor],
                           device: torch.device) -> Optional[Tensor]:
        """Flat key buffer of ``valid_mask == 0``, ``(tiles * tile, 1)``."""
        if valid_mask is None:
            return None
        invalid = (valid_mask == 0).to(device=device, dtype=torch.uint8)
        return self.keys(invalid[:, None]).bool()

    def masked_keys(self, invalid_buf: Optional[Tensor],
                    dy: int) -> Optional[Tensor]:
        """Bool ``(B, 1 or tile, span)``: True for keys cut by valid_mask."""
        if invalid_buf is None:
            return None
        mask = self.key_windows(invalid_buf, dy).transpose(1, 2)
        if dy == 0:
            t = torch.arange(self.tile, device=mask.device)
            q = torch.arange(self.span, device=mask.device)
            mask = mask & (q[None, :] != t[:, None] + self.rx)
        return mask


def _exp_floor(dtype: torch.dtype) -> float:
    """Smallest exponent whose ``exp`` is a normal number of ``dtype``.

    Exponents are clamped to it before ``exp``: below it the weight is
    under ``1e-37`` (float32) of the window maximum, i.e. nothing, yet
    producing the denormal results runs several times slower on CPU.
    Masked keys thus weigh ``~1e-38`` instead of 0, far below rounding.
    """
    return math.log(torch.finfo(dtype).tiny) + 1.0


def _window_logits(geo: _Geometry, dy: int, keys: Optional[Tensor],
                   biases: Tensor, invalid_buf: Optional[Tensor]) -> Tensor:
    """Logits ``f_i . f_j - ||s_i - s_j||^2 / (2 sigma^2)`` at offset ``dy``.

    Args:
        geo (_Geometry): The tiling.
        dy (int): Row offset of the keys.
        keys (Tensor, optional): Feature key buffer, None without
            features.
        biases (Tensor): :meth:`_Geometry.biases`.
        invalid_buf (Tensor, optional): :meth:`_Geometry.invalid_key_buffer`.

    Returns:
        Tensor: ``(B, tile, span)`` for the valid rows of ``dy`` (see
        :meth:`_Geometry.key_windows`), ``-inf`` outside the window.
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
        geo = _Geometry(n, h, w, ry, rx)
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


def _softmax_aggregate(feat: Optional[Tensor], values: Tensor,
                       sigma: Optional[Sigma], window: Optional[int],
                       valid_mask: Optional[Tensor],
                       values_name: str) -> Tensor:
    _check_inputs(feat, values, sigma, valid_mask, values_name)
    _, _, h, w = values.shape
    ry, rx = window_radii(sigma, window, h, w)
    dtype = _compute_dtype(feat, values)
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
    return _softmax_aggregate(feat, values, sigma, window, valid_mask,
                              'values')


# ---------------------------------------------------------------------------
# Softmax aggregation: dense reference.
# ---------------------------------------------------------------------------
def dense_window_softmax(feat: Tensor,
                         sigma: Optional[Sigma],
                         window: Optional[int] = None,
                         valid_mask: Optional[Tensor] = None) -> Tensor:
    """Builds the full affinity matrix ``A`` of the softmax aggregation.

    ``O(h^2 w^2)`` memory: the reference of :func:`window_softmax_aggregate`
    for tests and benchmarks.

    Args:
        feat (Tensor): Similarity features ``f``, ``(N, C, h, w)``; ``C`` may
            be 0 to drop the feature term.
        sigma (float | Tensor, optional): Width of the distance kernel. None
            drops it.
        window (int, optional): Odd side length of a square window outside
            which ``A`` is zero, to match :func:`window_softmax_aggregate`.
            None (default) keeps every pair: the untruncated form.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels; other pixels get zero weight as keys, except for
            themselves.

    Returns:
        Tensor: ``A`` of shape ``(N, hw, hw)``, ``A[n, i, j]`` the weight of
        input pixel ``i`` in output pixel ``j`` (row-major pixel order);
        ``A[n].sum(0)`` is all ones.
    """
    _check_4d('feat', feat)
    n, _, h, w = feat.shape
    _check_sigma(sigma)
    if valid_mask is not None and tuple(valid_mask.shape) != (n, h, w):
        raise ValueError(f'valid_mask must be (N, h, w) = {(n, h, w)}, got '
                         f'{tuple(valid_mask.shape)}')
    if sigma is None and window is None and feat.shape[1] == 0:
        raise ValueError('feat has no channels and sigma is None: the '
                         'affinity would be uniform')
    dtype = _compute_dtype(feat)
    device = feat.device
    with torch.autocast(device.type, enabled=False):
        f = feat.to(dtype).flatten(2)
        # logit[n, i, j] = f_i . f_j (- ||s_i - s_j||^2 / (2 sigma^2)).
        # Built in place (bmm does not keep its output for backward) so
        # that the reference holds two (hw, hw) buffers at a time, not four.
        logit = torch.bmm(f.transpose(1, 2), f)
        ys, xs = torch.meshgrid(
            torch.arange(h, dtype=dtype, device=device),
            torch.arange(w, dtype=dtype, device=device),
            indexing='ij')
        ys, xs = ys.reshape(-1), xs.reshape(-1)
        if sigma is not None:
            d2 = (ys[:, None] - ys[None, :]).square_()
            d2 += (xs[:, None] - xs[None, :]).square_()
            if isinstance(sigma, Tensor) and sigma.requires_grad:
                sigma = sigma.to(dtype=dtype, device=device).reshape(())
                logit = logit - d2 / (2 * sigma**2)
            else:
                logit.add_(d2, alpha=-1 / (2 * float(sigma)**2))
            del d2
        if window is not None:
            ry, rx = window_radii(sigma, window, h, w)
            outside = (ys[:, None] - ys[None, :]).abs_() > ry
            outside |= (xs[:, None] - xs[None, :]).abs_() > rx
            logit.masked_fill_(outside, float('-inf'))
        if valid_mask is not None:
            invalid_key = ~valid_mask.to(torch.bool).reshape(n, h * w, 1)
            not_self = ~torch.eye(h * w, dtype=torch.bool, device=device)
            logit.masked_fill_(invalid_key & not_self, float('-inf'))
        return logit.softmax(dim=1)


def _dense_softmax_aggregate(feat: Optional[Tensor], values: Tensor,
                             sigma: Optional[Sigma], window: Optional[int],
                             valid_mask: Optional[Tensor],
                             values_name: str) -> Tensor:
    _check_inputs(feat, values, sigma, valid_mask, values_name)
    n, k, h, w = values.shape
    if feat is None:
        feat = values.new_zeros(n, 0, h, w)
    affinity = dense_window_softmax(feat, sigma, window, valid_mask)
    with torch.autocast(values.device.type, enabled=False):
        x = values.to(affinity.dtype).flatten(2)
        return torch.bmm(x, affinity).view(n, k, h, w)


def dense_window_softmax_aggregate(
        feat: Optional[Tensor],
        values: Tensor,
        sigma: Optional[Sigma],
        window: Optional[int] = None,
        valid_mask: Optional[Tensor] = None) -> Tensor:
    """Dense reference of :func:`window_softmax_aggregate`: ``V A``.

    Builds the ``(N, hw, hw)`` matrix of :func:`dense_window_softmax` and
    applies it to the values. Memory is ``O(h^2 w^2)``.

    Args:
        feat (Tensor, optional): Similarity features ``(N, C, h, w)``; None
            drops the feature term.
        values (Tensor): Values ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of the distance kernel;
            None drops it.
        window (int, optional): Odd window side; None (default) is the
            untruncated form.
        valid_mask (Tensor, optional): ``(N, h, w)`` real-pixel mask.

    Returns:
        Tensor: Aggregated values ``(N, K, h, w)`` (float32 for half inputs).
    """
    return _dense_softmax_aggregate(feat, values, sigma, window, valid_mask,
                                    'values')


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
    _check_4d('guide', guide)
    n, _, h, w = guide.shape
    if bandwidth is None:
        raise ValueError('bandwidth must be a positive number, got None')
    _check_sigma(bandwidth, 'bandwidth')
    _check_sigma(sigma)
    _check_valid_mask(valid_mask, n, h, w)
    ry, rx = window_radii(sigma, window, h, w)
    dtype = _compute_dtype(guide)
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
