"""Localization rectification module of CDSP (Zhang et al., AAAI 2024).

Eq. 10-12: with ``F`` the ``(C, HW)`` backbone features, ``q_i`` and
``k_j`` their 1x1 projections at positions ``i`` and ``j``, and ``M`` the
pseudo-label foreground mask,

.. math::
    A_{ij} = \\operatorname{softmax}_j\\big(\\cos(q_i, k_j)\\big), \\qquad
    \\hat F_i = \\delta \\sum_j A'_{ij} F_j

(cosine similarity, no temperature; ``delta`` learnable, initialised to 1).
The two masks of the affinity (``mask_mode``):

* ``'key'`` (the paper's text, default): ``A'_{ij} = M_j A_{ij}``: "the
  background features in each row A_i are suppressed", so every position
  is rectified from foreground positions only (the softmax is taken before
  the mask, Eq. 10 then Eq. 11: the kept weights are not renormalised);
* ``'query'`` (the authors' code): ``A'_{ij} = M_i A_{ij}``: the rows of
  background queries are zeroed, so ``F-hat`` is 0 at every background
  position and the MSE of Eq. 13 pulls background features to 0.

The dense form holds ``HW x HW`` matrices per image (59 x 59 cells of a
465 crop: 3481^2 floats = 48 MB each, several per image under autograd).
Each row of ``A`` needs only its own row of similarities, so the rows can
be computed in chunks of queries with the exact softmax of each full row:
:func:`lorm_rectify` does that, and under autograd recomputes each chunk
in the backward pass (activation checkpointing), so no ``HW x HW`` matrix
is ever held; :func:`lorm_rectify_dense` is the reference it is tested
against.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

MASK_MODES = ('key', 'query')


def _check(feat: Tensor, query: Tensor, key: Tensor, fg_mask: Tensor,
           mask_mode: str):
    if mask_mode not in MASK_MODES:
        raise ValueError(f'mask_mode must be one of {MASK_MODES}, got '
                         f'{mask_mode!r}')
    for name, t in (('feat', feat), ('query', query), ('key', key)):
        if not isinstance(t, Tensor) or t.dim() != 4:
            raise ValueError(f'{name} must be (N, C, H, W), got '
                             f'{tuple(getattr(t, "shape", ()))}')
    n, _, h, w = feat.shape
    if query.shape != key.shape or query.shape[0] != n or \
            query.shape[2:] != feat.shape[2:]:
        raise ValueError(
            'query and key must be (N, D, H, W) with the N, H, W of feat '
            f'{tuple(feat.shape)}, got {tuple(query.shape)} and '
            f'{tuple(key.shape)}')
    if not isinstance(fg_mask, Tensor) or tuple(fg_mask.shape) != (n, h, w):
        raise ValueError(f'fg_mask must be (N, H, W) = {(n, h, w)}, got '
                         f'{tuple(getattr(fg_mask, "shape", ()))}')


def _flatten(feat, query, key, fg_mask):
    n, c, h, w = feat.shape
    q = F.normalize(query.flatten(2), dim=1).transpose(1, 2)  # (N, HW, D)
    k = F.normalize(key.flatten(2), dim=1)  # (N, D, HW)
    f = feat.flatten(2).transpose(1, 2)  # (N, HW, C)
    m = fg_mask.flatten(1).to(feat.dtype)  # (N, HW)
    return q, k, f, m


def lorm_affinity_dense(query: Tensor, key: Tensor) -> Tensor:
    """``A`` of Eq. 10: row-softmax of the cosine similarities.

    Args:
        query (Tensor): ``(N, D, H, W)`` query projection.
        key (Tensor): ``(N, D, H, W)`` key projection.

    Returns:
        Tensor: ``(N, HW, HW)``, rows (queries) sum to 1.
    """
    q = F.normalize(query.flatten(2), dim=1).transpose(1, 2)
    k = F.normalize(key.flatten(2), dim=1)
    return torch.bmm(q, k).softmax(dim=-1)


def lorm_rectify_dense(feat: Tensor,
                       query: Tensor,
                       key: Tensor,
                       fg_mask: Tensor,
                       delta: Tensor = 1.0,
                       mask_mode: str = 'key') -> Tensor:
    """``F-hat`` of Eq. 12 with the full ``HW x HW`` affinity (reference).

    Args:
        feat (Tensor): ``(N, C, H, W)`` features ``F``.
        query (Tensor): ``(N, D, H, W)``.
        key (Tensor): ``(N, D, H, W)``.
        fg_mask (Tensor): ``(N, H, W)``, 1 on pseudo-label foreground.
        delta (Tensor | float): the rectification degree.
        mask_mode (str): ``'key'`` (paper) or ``'query'`` (authors' code).

    Returns:
        Tensor: ``(N, C, H, W)``.
    """
    _check(feat, query, key, fg_mask, mask_mode)
    n, c, h, w = feat.shape
    _, _, f, m = _flatten(feat, query, key, fg_mask)
    a = lorm_affinity_dense(query, key)
    a = a * (m[:, None, :] if mask_mode == 'key' else m[:, :, None])
    out = delta * torch.bmm(a, f)  # (N, HW, C)
    return out.transpose(1, 2).reshape(n, c, h, w)


def _rows(q_chunk: Tensor, k: Tensor, f: Tensor, m: Tensor, m_chunk: Tensor,
          key_mask: bool) -> Tensor:
    # Full rows of the similarity: the softmax of each row is exact.
    a = torch.bmm(q_chunk, k).softmax(dim=-1)
    if key_mask:
        a = a * m[:, None, :]
    out = torch.bmm(a, f)
    if not key_mask:
        out = out * m_chunk[:, :, None]
    return out


def lorm_rectify(feat: Tensor,
                 query: Tensor,
                 key: Tensor,
                 fg_mask: Tensor,
                 delta: Tensor = 1.0,
                 mask_mode: str = 'key',
                 chunk_size: Optional[int] = 1024,
                 use_checkpoint: Optional[bool] = None) -> Tensor:
    """``F-hat`` of Eq. 12 computed ``chunk_size`` query rows at a time.

    Equal to :func:`lorm_rectify_dense` (each chunk holds complete rows, so
    the softmax normalisation is exact); peak memory ``chunk_size x HW``
    per image instead of ``HW x HW``.

    Args:
        feat (Tensor): ``(N, C, H, W)`` features ``F``.
        query (Tensor): ``(N, D, H, W)``.
        key (Tensor): ``(N, D, H, W)``.
        fg_mask (Tensor): ``(N, H, W)``, 1 on pseudo-label foreground.
        delta (Tensor | float): the rectification degree.
        mask_mode (str): ``'key'`` (paper) or ``'query'`` (authors' code).
        chunk_size (int, optional): query rows per chunk; None = one chunk.
            Default: 1024.
        use_checkpoint (bool, optional): recompute each chunk in backward
            instead of keeping its ``chunk x HW`` affinity; None = when a
            gradient is needed. Default: None.

    Returns:
        Tensor: ``(N, C, H, W)``.
    """
    _check(feat, query, key, fg_mask, mask_mode)
    if chunk_size is not None and (isinstance(chunk_size, bool)
                                   or int(chunk_size) < 1):
        raise ValueError(f'chunk_size must be a positive int or None, got '
                         f'{chunk_size!r}')
    n, c, h, w = feat.shape
    q, k, f, m = _flatten(feat, query, key, fg_mask)
    hw = h * w
    step = hw if chunk_size is None else int(chunk_size)
    if use_checkpoint is None:
        use_checkpoint = torch.is_grad_enabled() and (feat.requires_grad
                                                      or query.requires_grad
                                                      or key.requires_grad)
    key_mask = mask_mode == 'key'
    outs = []
    for start in range(0, hw, step):
        args = (q[:, start:start + step], k, f, m, m[:, start:start + step],
                key_mask)
        if use_checkpoint and step < hw:
            outs.append(checkpoint(_rows, *args, use_reentrant=False))
        else:
            outs.append(_rows(*args))
    out = delta * torch.cat(outs, dim=1)
    return out.transpose(1, 2).reshape(n, c, h, w)


class LoRM(nn.Module):
    """Localization rectification module, CDSP Eq. 10-12.

    Two 1x1 convolutions give the query and key projections of the
    features; :func:`lorm_rectify` gives ``F-hat``. Used by the head in
    training only (Eq. 13 is a loss; the prediction never reads
    ``F-hat``), so it costs nothing at inference.

    Args:
        in_channels (int): ``C`` of the features.
        channels (int, optional): ``D`` of the projections; None = ``C``
            (the paper: ``F_Q, F_K in R^{C x H x W}``). Default: None.
        mask_mode (str): ``'key'`` (paper, default) or ``'query'``
            (authors' code); see the module docstring.
        chunk_size (int, optional): query rows per chunk. Default: 1024.
    """

    def __init__(self,
                 in_channels: int,
                 channels: Optional[int] = None,
                 mask_mode: str = 'key',
                 chunk_size: Optional[int] = 1024) -> None:
        super().__init__()
        if mask_mode not in MASK_MODES:
            raise ValueError(f'mask_mode must be one of {MASK_MODES}, got '
                             f'{mask_mode!r}')
        channels = in_channels if channels is None else channels
        self.query = nn.Conv2d(in_channels, channels, 1)
        self.key = nn.Conv2d(in_channels, channels, 1)
        self.delta = nn.Parameter(torch.ones(()))
        self.mask_mode = mask_mode
        self.chunk_size = chunk_size

    def forward(self, feat: Tensor, fg_mask: Tensor) -> Tensor:
        """``F-hat`` (N, C, H, W) of ``feat`` (N, C, H, W) given the
        ``(N, H, W)`` foreground mask."""
        return lorm_rectify(
            feat,
            self.query(feat),
            self.key(feat),
            fg_mask,
            self.delta,
            mask_mode=self.mask_mode,
            chunk_size=self.chunk_size)
