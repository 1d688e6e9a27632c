# Copyright (c) mmscribble contributors. All rights reserved.
"""Tiling of a feature map for the banded products of the window engine.

:class:`WindowTiling` lays the keys of an ``(h, w)`` map out in one flat,
zero-padded buffer so that the key window of every tile of query pixels
is a fixed-stride view, which a batched GEMM reads without copying; the
engine in ``window_affinity.py`` sweeps the window one row offset at a
time over these views. Pure torch.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# Narrowest tile used for the banded matrix products; narrower tiles waste
# less compute but make the batched GEMMs too small to be efficient.
_MIN_TILE = 16


class WindowTiling:
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
    the exponent floor of ``window_affinity.py``) and no gradient.
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


__all__ = ['WindowTiling']
