"""Local Aggregation Module (LAM) of BLPSeg.

Wang et al., "BLPSeg: Balance the Label Preference in Scribble-Supervised
Semantic Segmentation", TIP 2023, Sec. III-B, Eq. 3-8.

Notation (Eq. 3-5). ``X_in`` (D x N) holds the input of N pixels as columns
and ``X_out = X_in A`` (Eq. 3), so output pixel ``j`` is

    out_j = sum_i A[i, j] * x_i,
    A[i, j] = P_low(i, j) P_dis(i, j) / sum_k P_low(k, j) P_dis(k, j),
    P_low(i, j) = exp(f_i . f_j) / sum_k exp(f_k . f_j),
    P_dis(i, j) = exp(-||s_i - s_j||^2 / (2 sigma^2)).

The normalisation of Eq. 4 runs over the FIRST index ``i`` with ``j``
fixed, i.e. every COLUMN of ``A`` sums to one and each output is a convex
combination of inputs. The softmax denominator of ``P_low`` depends on
``j`` only, so it cancels in Eq. 4 and

    A[i, j] = softmax_i(f_i . f_j - ||s_i - s_j||^2 / (2 sigma^2)),

which is what this module computes (a log-sum-exp over ``i``, hence stable
for the large dot products of un-normalised 256-channel embeddings). The
authors' code agrees: ``lib/net/blpseg.py``, ``BLPSeg.local_aggregation``
normalises ``sim`` over ``dim=1`` (the ``i`` axis of its ``(n, i, j)``
matrix) and contracts ``einsum('nca,nab->ncb')``.

By Eq. 8 the LAM is applied to the logits of the segmentation head rather
than to the D-dimensional features (K << D).

Two forms are provided:

* :func:`local_affinity_aggregate`: ``P_dis`` is truncated to a square
  window of ``2 r + 1`` pixels (``r = ceil(3 sigma)`` by default), which is
  exact up to the Gaussian tail ``exp(-r^2 / (2 sigma^2))``. Time is
  ``O(hw (2r+1)^2 C)``; memory is a few padded copies of the features and
  of their gradient, ``O(hw C)``, plus ``O(hw r)`` temporaries per row
  offset, never the ``(2r+1)^2 x hw`` affinities: the window is swept row
  offset by row offset with an online softmax (as in flash attention) and
  the backward pass recomputes the affinities.
* :func:`dense_affinity` / :func:`dense_affinity_aggregate`: the full
  ``(hw, hw)`` matrix, ``O(h^2 w^2)`` memory. Kept as the reference for
  tests and benchmarks (``tools/benchmark/bench_lam.py``); it is the form of
  the authors' code.

Differences from the authors' code: they build ``P_dis`` once for a
96 x 96 map (``build_distance_buffer``, i.e. 384 x 384 crops only) and add
``1e-7`` to the denominator of Eq. 4; here any map size works and the
normalisation is an exact log-sum-exp. Their ``P_dis`` is untruncated.

Window positions outside the feature map are excluded from the
normalisation (they do not contribute as zero features), and an optional
``valid_mask`` also excludes padded pixels of a batch; a pixel always
keeps itself as a key so that every column has a non-empty support.
"""
import math
from typing import List, Optional, Tuple, Union

import torch
import torch.nn as nn
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
# Input checks and kernels shared by the local and dense forms.
# ---------------------------------------------------------------------------
def _check_4d(name: str, t: Tensor) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f'{name} must be a Tensor, got {type(t).__name__}')
    if t.dim() != 4:
        raise ValueError(f'{name} must be (N, C, h, w), got shape '
                         f'{tuple(t.shape)}')
    if not t.is_floating_point():
        raise TypeError(f'{name} must be floating point, got {t.dtype}')


def _check_inputs(feat: Optional[Tensor], logits: Tensor,
                  sigma: Optional[Sigma],
                  valid_mask: Optional[Tensor]) -> None:
    _check_4d('logits', logits)
    n, _, h, w = logits.shape
    if feat is not None:
        _check_4d('feat', feat)
        if feat.shape[0] != n or feat.shape[2:] != logits.shape[2:]:
            raise ValueError(
                'feat and logits must share batch size and spatial size, '
                f'got feat {tuple(feat.shape)} and logits '
                f'{tuple(logits.shape)}')
        if feat.device != logits.device:
            raise ValueError('feat and logits must be on the same device, '
                             f'got {feat.device} and {logits.device}')
    if feat is None and sigma is None:
        raise ValueError('feat and sigma cannot both be None: the affinity '
                         'would be uniform over the window')
    _check_sigma(sigma)
    if valid_mask is not None:
        if not isinstance(valid_mask, Tensor) or \
                tuple(valid_mask.shape) != (n, h, w):
            shape = tuple(getattr(valid_mask, 'shape', ()))
            raise ValueError(f'valid_mask must be (N, h, w) = {(n, h, w)}, '
                             f'got {shape}')


def _check_sigma(sigma: Optional[Sigma]) -> None:
    if sigma is None:
        return
    if isinstance(sigma, Tensor):
        if sigma.numel() != 1:
            raise ValueError('sigma must be a scalar, got shape '
                             f'{tuple(sigma.shape)}')
        if not bool(sigma.detach() > 0):
            raise ValueError(f'sigma must be > 0, got {sigma.item()}')
    elif not isinstance(sigma, (int, float)) or not sigma > 0:
        raise ValueError(f'sigma must be a positive number, got {sigma!r}')


def _sigma_value(sigma: Optional[Sigma]) -> Optional[float]:
    if isinstance(sigma, Tensor):
        return float(sigma.detach())
    return None if sigma is None else float(sigma)


def window_radii(sigma: Optional[Sigma], window: Optional[int], h: int,
                 w: int) -> Tuple[int, int]:
    """Vertical and horizontal window radii ``(ry, rx)``.

    Args:
        sigma (float | Tensor, optional): Distance-kernel width (Eq. 5).
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


def _offset_log_kernel(sigma: Optional[Sigma], ry: int, rx: int,
                       dtype: torch.dtype,
                       device: torch.device) -> Optional[Tensor]:
    """``log P_dis`` for every window offset: ``(2ry + 1, 2rx + 1)``."""
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
# Local form.
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
            Tensor: ``(2 ry + 1, n_tiles, tile, span)``: ``log P_dis`` on the
            window band, ``-inf`` off the band and for key columns outside
            the image, except each query's own key (always kept, so padded
            queries never see an empty window).
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
    """Logits ``f_j . f_i + log P_dis(i, j)`` at row offset ``dy``.

    Args:
        geo (_Geometry): The tiling.
        dy (int): Row offset of the keys.
        keys (Tensor, optional): Feature key buffer, None without ``P_low``.
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


class _LocalAggregation(torch.autograd.Function):
    """Windowed Eq. 3-5 with an online softmax and a recomputing backward.

    Inputs are ``feat (N, C, h, w)`` or None, ``logits (N, K, h, w)``,
    ``log_kernel (2 ry + 1, 2 rx + 1)`` or None and ``valid_mask
    (N, h, w)`` or None. Only the output and the per-pixel log-normaliser
    are saved, never the ``(2r+1)^2 x hw`` affinities.
    """

    @staticmethod
    def forward(ctx, feat: Optional[Tensor], logits: Tensor,
                log_kernel: Optional[Tensor], valid_mask: Optional[Tensor],
                ry: int, rx: int) -> Tensor:
        n, k, h, w = logits.shape
        dtype, device = logits.dtype, logits.device
        geo = _Geometry(n, h, w, ry, rx)
        biases = geo.biases(log_kernel, dtype, device)
        invalid_buf = geo.invalid_key_buffer(valid_mask, device)
        keys = geo.keys(feat) if feat is not None else None
        x_keys = geo.keys(logits)

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
        ctx.save_for_backward(feat, logits, log_kernel, valid_mask, out,
                              log_norm)
        return geo.from_query_tiles(out)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor):
        feat, logits, log_kernel, valid_mask, out, log_norm = \
            ctx.saved_tensors
        geo = ctx.geo
        need_feat, need_x, need_kernel = ctx.needs_input_grad[:3]
        dtype, device = logits.dtype, logits.device
        k = logits.shape[1]
        biases = geo.biases(log_kernel, dtype, device)
        invalid_buf = geo.invalid_key_buffer(valid_mask, device)
        keys = geo.keys(feat) if feat is not None else None
        x_keys = geo.keys(logits)

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
                # Eq. 6: dL/dX_in = dL/dX_out A^T.
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


def local_affinity_aggregate(feat: Optional[Tensor],
                             logits: Tensor,
                             sigma: Optional[Sigma],
                             window: Optional[int] = None,
                             valid_mask: Optional[Tensor] = None) -> Tensor:
    """Applies the LAM affinity to logits in a local window (Eq. 3-5, 8).

    ``out_j = sum_i A[i, j] x_i`` with ``A[i, j] = softmax_i(f_i . f_j -
    ||s_i - s_j||^2 / (2 sigma^2))`` over the keys ``i`` in the square window
    of side ``window`` around ``j`` (columns of ``A`` sum to one, Eq. 4).
    Equal to :func:`dense_affinity_aggregate` with the same ``window``; with
    the default window it differs from the untruncated Eq. 4 only by the
    Gaussian tail beyond ``3 sigma``.

    Gradients flow to ``feat``, ``logits`` and a tensor ``sigma``; none of
    them is detached, as in the authors' ``BLPSeg.local_aggregation``.

    Args:
        feat (Tensor, optional): Similarity features ``f`` (Eq. 5),
            ``(N, C, h, w)``. None drops ``P_low`` (the "distance only" row
            of Table III).
        logits (Tensor): Segmentation logits ``Z = W_FC^T X_in`` (Eq. 8),
            ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of ``P_dis`` (Eq. 5) in
            pixels of the ``(h, w)`` map; a scalar tensor makes it
            differentiable. None drops ``P_dis`` (then ``window`` is
            required).
        window (int, optional): Odd side length of the square window.
            Defaults to ``2 * ceil(3 * sigma) + 1``; clipped to the map.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels. Other pixels are dropped as keys (a pixel still keeps
            itself).

    Returns:
        Tensor: Aggregated logits ``(N, K, h, w)``, in float32 for half
        precision inputs (autocast is disabled inside).
    """
    _check_inputs(feat, logits, sigma, valid_mask)
    _, _, h, w = logits.shape
    ry, rx = window_radii(sigma, window, h, w)
    dtype = _compute_dtype(feat, logits)
    with torch.autocast(logits.device.type, enabled=False):
        log_kernel = _offset_log_kernel(sigma, ry, rx, dtype, logits.device)
        return _LocalAggregation.apply(
            feat.to(dtype) if feat is not None else None, logits.to(dtype),
            log_kernel, valid_mask, ry, rx)


# ---------------------------------------------------------------------------
# Dense reference.
# ---------------------------------------------------------------------------
def dense_affinity(feat: Tensor,
                   sigma: Optional[Sigma],
                   window: Optional[int] = None,
                   valid_mask: Optional[Tensor] = None) -> Tensor:
    """Builds the full LAM affinity matrix ``A`` of Eq. 4.

    Args:
        feat (Tensor): Similarity features ``f``, ``(N, C, h, w)``; ``C`` may
            be 0 to drop ``P_low``.
        sigma (float | Tensor, optional): Width of ``P_dis`` (Eq. 5). None
            drops ``P_dis``.
        window (int, optional): Odd side length of a square window outside
            which ``A`` is zero, to match :func:`local_affinity_aggregate`.
            None (default) keeps every pair: the untruncated Eq. 4.
        valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real image
            pixels; other pixels get zero weight as keys, except for
            themselves.

    Returns:
        Tensor: ``A`` of shape ``(N, hw, hw)``, ``A[n, i, j]`` the weight of
        input pixel ``i`` in output pixel ``j`` (row-major pixel order);
        ``A[n].sum(0)`` is all ones (Eq. 4).
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
        # logit[n, i, j] = f_i . f_j (+ log P_dis(i, j)). Built in place
        # (bmm does not keep its output for backward) so that the reference
        # holds two (hw, hw) buffers at a time, not four.
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


def dense_affinity_aggregate(feat: Optional[Tensor],
                             logits: Tensor,
                             sigma: Optional[Sigma],
                             window: Optional[int] = None,
                             valid_mask: Optional[Tensor] = None) -> Tensor:
    """Dense reference of :func:`local_affinity_aggregate`: ``X_in A``.

    Builds the ``(N, hw, hw)`` matrix of :func:`dense_affinity` (Eq. 4) and
    applies it to the logits (Eq. 3, 8). Memory is ``O(h^2 w^2)``.

    Args:
        feat (Tensor, optional): Similarity features ``(N, C, h, w)``; None
            drops ``P_low``.
        logits (Tensor): Logits ``(N, K, h, w)``.
        sigma (float | Tensor, optional): Width of ``P_dis``; None drops it.
        window (int, optional): Odd window side; None (default) is the
            untruncated Eq. 4.
        valid_mask (Tensor, optional): ``(N, h, w)`` real-pixel mask.

    Returns:
        Tensor: Aggregated logits ``(N, K, h, w)`` (float32 for half inputs).
    """
    _check_inputs(feat, logits, sigma, valid_mask)
    n, k, h, w = logits.shape
    if feat is None:
        feat = logits.new_zeros(n, 0, h, w)
    affinity = dense_affinity(feat, sigma, window, valid_mask)
    with torch.autocast(logits.device.type, enabled=False):
        x = logits.to(affinity.dtype).flatten(2)
        return torch.bmm(x, affinity).view(n, k, h, w)


# ---------------------------------------------------------------------------
# Modules.
# ---------------------------------------------------------------------------
class LowLevelEmbedding(nn.Module):
    """Low-level image embedding ``f`` of the LAM (Sec. IV-B).

    A ``patch_size x patch_size`` convolution with stride ``patch_size``
    (down-sampling to the 1/4 resolution of the segmentation logits),
    LayerNorm over channels, then, as in the authors' ``PatchEmbed``
    (``lib/net/blpseg.py``), a 1x1 convolution. The paper only mentions the
    first two.

    Args:
        in_channels (int): Image channels. Default: 3.
        embed_dims (int): Channels of the patch convolution. Default: 256
            (``MODEL_PPM_DIM`` of the authors' config).
        patch_size (int): Kernel size and stride. Default: 4.
        proj_channels (int, optional): Output channels of the 1x1
            projection; None drops it. Default: 256.
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 patch_size: int = 4,
                 proj_channels: Optional[int] = 256) -> None:
        super().__init__()
        named = dict(
            in_channels=in_channels,
            embed_dims=embed_dims,
            patch_size=patch_size)
        for name, value in named.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive int, got '
                                 f'{value!r}')
        if proj_channels is not None and (not isinstance(proj_channels, int)
                                          or proj_channels < 1):
            raise ValueError('proj_channels must be a positive int or None, '
                             f'got {proj_channels!r}')
        self.patch_size = patch_size
        self.patch_conv = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dims)
        self.proj = nn.Conv2d(embed_dims, proj_channels, 1) \
            if proj_channels is not None else None
        self.out_channels = proj_channels or embed_dims

    def forward(self, img: Tensor) -> Tensor:
        """Embeds the normalised image.

        Args:
            img (Tensor): ``(N, in_channels, H, W)``; ``H`` and ``W`` need not
                be multiples of ``patch_size`` (zero padded at the bottom and
                right, as the authors do).

        Returns:
            Tensor: ``(N, out_channels, ceil(H / p), ceil(W / p))``.
        """
        _check_4d('img', img)
        h, w = img.shape[-2:]
        p = self.patch_size
        img = F.pad(img, (0, (-w) % p, 0, (-h) % p))
        x = self.patch_conv(img)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.proj(x) if self.proj is not None else x


class LocalAggregationModule(nn.Module):
    """Local Aggregation Module (LAM) of BLPSeg (Sec. III-B, Eq. 3-8).

    Aggregates segmentation logits with the affinity of Eq. 4. The
    similarity features are chosen by ``similarity`` (Table III):

    * ``'low'``: :class:`LowLevelEmbedding` of the image (the paper's LAM);
    * ``'high'``: a feature map passed to :meth:`forward` (e.g. the decoder
      output);
    * ``'both'``: both, concatenated along channels, which is exactly
      ``P_low * P_high`` since ``exp(a.a') exp(b.b') = exp([a,b].[a',b'])``;
    * ``'none'``: no feature similarity (``use_distance`` must be True).

    ``use_distance=False`` drops ``P_dis`` (Table III, rows without
    "Distance"); it needs ``mode='dense'`` or an explicit ``window``.

    Args:
        sigma (float): (Initial) width of ``P_dis`` in pixels of the logits
            map. Default: 6 (the paper's and the authors' value).
        learnable_sigma (bool): Learn ``sigma`` (Table IV), parametrised as
            ``exp(log_sigma)`` so it stays positive. Default: False.
        window (int, optional): Odd side of the local window. Default:
            ``2 * ceil(3 * sigma) + 1`` with the current ``sigma``.
        mode (str): ``'local'`` (windowed, linear memory) or ``'dense'`` (the
            authors' full ``hw x hw`` form). Default: ``'local'``.
        similarity (str): ``'low'``, ``'high'``, ``'both'`` or ``'none'``.
            Default: ``'low'``.
        use_distance (bool): Multiply by ``P_dis``. Default: True.
        in_channels (int): Image channels of the embedding. Default: 3.
        embed_dims (int): Embedding channels. Default: 256.
        patch_size (int): Embedding stride. Default: 4.
        proj_channels (int, optional): Embedding 1x1 projection channels;
            None drops it. Default: 256.
    """

    MODES = ('local', 'dense')
    SIMILARITIES = ('low', 'high', 'both', 'none')

    def __init__(self,
                 sigma: float = 6.0,
                 learnable_sigma: bool = False,
                 window: Optional[int] = None,
                 mode: str = 'local',
                 similarity: str = 'low',
                 use_distance: bool = True,
                 in_channels: int = 3,
                 embed_dims: int = 256,
                 patch_size: int = 4,
                 proj_channels: Optional[int] = 256) -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got '
                             f'{mode!r}')
        if similarity not in self.SIMILARITIES:
            raise ValueError(f'similarity must be one of '
                             f'{self.SIMILARITIES}, got {similarity!r}')
        if similarity == 'none' and not use_distance:
            raise ValueError("similarity='none' with use_distance=False "
                             'averages uniformly: drop the LAM instead')
        if not use_distance and mode == 'local' and window is None:
            raise ValueError("use_distance=False with mode='local' needs an "
                             "explicit window (or use mode='dense')")
        _check_sigma(float(sigma))
        if window is not None:
            window_radii(None, window, 1, 1)
        self.mode = mode
        self.similarity = similarity
        self.use_distance = use_distance
        self.window = window
        self.learnable_sigma = learnable_sigma
        if learnable_sigma:
            self.log_sigma = nn.Parameter(torch.tensor(math.log(sigma)))
        else:
            self._sigma = float(sigma)
        self.embedding = LowLevelEmbedding(
            in_channels, embed_dims, patch_size,
            proj_channels) if similarity in ('low', 'both') else None

    @property
    def sigma(self) -> Sigma:
        """Current ``sigma``: a scalar tensor when learnable, else a float.
        """
        return self.log_sigma.exp() if self.learnable_sigma else self._sigma

    def similarity_features(self, logits: Tensor, img: Optional[Tensor],
                            feat: Optional[Tensor]) -> Optional[Tensor]:
        """Features ``f`` of Eq. 5 at the logits' resolution.

        Args:
            logits (Tensor): ``(N, K, h, w)``, for the target size.
            img (Tensor, optional): Normalised image ``(N, 3, H, W)``.
            feat (Tensor, optional): High-level features ``(N, C, h', w')``.

        Returns:
            Tensor, optional: ``(N, C', h, w)``, or None for ``'none'``.
        """
        parts: List[Tensor] = []
        if self.similarity in ('low', 'both'):
            if img is None:
                raise ValueError(f'similarity={self.similarity!r} needs the '
                                 'normalised image: pass img')
            parts.append(self.embedding(img))
        if self.similarity in ('high', 'both'):
            if feat is None:
                raise ValueError(f'similarity={self.similarity!r} needs the '
                                 'high-level features: pass feat')
            _check_4d('feat', feat)
            parts.append(feat)
        size = logits.shape[-2:]
        # The authors resize the embedding bilinearly when the decoder
        # output is not exactly 1/4 of the input (get_feat_prob).
        parts = [
            p if p.shape[-2:] == size else F.interpolate(
                p, size, mode='bilinear', align_corners=False) for p in parts
        ]
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self,
                logits: Tensor,
                img: Optional[Tensor] = None,
                feat: Optional[Tensor] = None,
                valid_mask: Optional[Tensor] = None) -> Tensor:
        """Aggregates the logits (Eq. 8).

        Args:
            logits (Tensor): Segmentation logits ``(N, K, h, w)``.
            img (Tensor, optional): Normalised image ``(N, 3, H, W)``, needed
                for ``similarity`` ``'low'`` and ``'both'``.
            feat (Tensor, optional): High-level features ``(N, C, h', w')``,
                needed for ``'high'`` and ``'both'``; resized to ``(h, w)``.
            valid_mask (Tensor, optional): ``(N, h, w)``, nonzero for real
                image pixels; padded pixels are not aggregated from.

        Returns:
            Tensor: Aggregated logits ``(N, K, h, w)``.
        """
        _check_4d('logits', logits)
        f = self.similarity_features(logits, img, feat)
        sigma = self.sigma if self.use_distance else None
        if self.mode == 'local':
            return local_affinity_aggregate(f, logits, sigma, self.window,
                                            valid_mask)
        return dense_affinity_aggregate(f, logits, sigma, self.window,
                                        valid_mask)

    def extra_repr(self) -> str:
        sigma = float(self.sigma)
        return (f'mode={self.mode!r}, similarity={self.similarity!r}, '
                f'sigma={sigma:.4g}, learnable_sigma={self.learnable_sigma}, '
                f'use_distance={self.use_distance}, window={self.window}')
