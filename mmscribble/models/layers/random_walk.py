# Copyright (c) mmscribble contributors. All rights reserved.
"""Network-embedded random walk of URSS (Pan et al., ICCV 2021, Sec. 3.1)."""
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

SIMILARITIES = ('raw', 'projected')


def _check_features(x: Tensor, name: str) -> None:
    if not torch.is_tensor(x) or x.dim() != 4:
        raise ValueError(f'{name} must have shape (N, C, H, W), got '
                         f'{tuple(getattr(x, "shape", ()))}')


def transition_logits(query: Tensor, key: Optional[Tensor] = None) -> Tensor:
    """Similarity logits ``q^T k`` between all pairs of positions (Eq. 6).

    The product is computed in at least float32 with autocast disabled:
    inner products of unnormalised 512-channel features overflow float16.

    Args:
        query (Tensor): ``(N, C, H, W)`` features; row ``i`` of the result
            is position ``i`` of ``query`` (raster order).
        key (Tensor, optional): ``(N, C, H, W)`` features for the columns.
            Default: ``query`` (the paper's ``f^T f``).

    Returns:
        Tensor: ``(N, H*W, H*W)`` logits, float32 or float64.
    """
    _check_features(query, 'query')
    if key is None:
        key = query
    else:
        _check_features(key, 'key')
        if key.shape != query.shape:
            raise ValueError('key must have the shape of query '
                             f'{tuple(query.shape)}, got {tuple(key.shape)}')
    dtype = torch.promote_types(query.dtype, torch.float32)
    with torch.autocast(device_type=query.device.type, enabled=False):
        q = query.flatten(2).to(dtype)
        k = key.flatten(2).to(dtype)
        return torch.bmm(q.transpose(1, 2), k)


def transition_matrix(query: Tensor, key: Optional[Tensor] = None) -> Tensor:
    """Probabilistic transition matrix ``P = softmax(f^T f)`` of Eq. 6.

    Args:
        query (Tensor): ``(N, C, H, W)`` features ``f``.
        key (Tensor, optional): ``(N, C, H, W)`` features for the columns.
            Default: ``query``.

    Returns:
        Tensor: ``(N, H*W, H*W)`` matrices with positive entries whose
        rows sum to one: ``P[n, i, j]`` is the probability of walking from
        position ``i`` to position ``j`` (raster order).
    """
    return transition_logits(query, key).softmax(dim=-1)


class RandomWalk(nn.Module):
    """Random walk on a feature map, URSS Eq. 5-6.

    ``f^L = alpha * P f^(L-1) + f^(L-1)`` (Eq. 5), where ``P`` is the
    row-softmax of the similarity between every pair of the ``H*W``
    positions (Eq. 6) and ``alpha`` is a learnable scalar. With ``f``
    flattened to ``(HW, C)``, ``(P f)[i] = sum_j P[i, j] f[j]`` is the
    expected feature one step of the walk away from position ``i``.

    Two similarities are available:

    * ``'raw'`` (the paper, Eq. 6): ``P = softmax(f^T f)`` on the features
      themselves; no parameters besides ``alpha``. With unnormalised
      features the logits are large and ``P`` is very peaked.
    * ``'projected'`` (the authors' code, a DANet position-attention
      module): ``P = softmax((W_q f)^T (W_k f))`` with 1x1 convolutions
      ``W_q, W_k`` (with bias) to ``key_channels`` channels
      (``in_channels // 8`` by default). The learnt metric lets ``P``
      differ from the raw feature similarity; it adds
      ``2 * (C * C_k + C_k)`` parameters.

    The authors' module also applies a 1x1 value convolution before the
    walk (``alpha * P (W_v f) + f``); ``value_proj=True`` adds it. It is
    off by default because Eq. 5 walks on ``f`` itself. Their code also
    computes the walk on features bilinearly downsampled by 2 and
    upsamples the result; a head can do that around this module.

    ``alpha`` starts at ``alpha_init`` (default 0, as the authors' DANet
    ``gamma``): the module is then the identity, so a head initialised
    from a baseline starts with the baseline's output and the walk is
    blended in as ``alpha`` grows. ``alpha`` receives a gradient from the
    first step (``dL/dalpha = <dL/df^L, P f>``), while the similarity only
    does once ``alpha != 0`` (or through a loss on ``P``, such as the
    eigenspace loss).

    Args:
        in_channels (int): channels ``C`` of the input features.
        similarity (str): ``'raw'`` or ``'projected'``. Default: ``'raw'``.
        key_channels (int, optional): channels of the query/key
            projections for ``'projected'``. Default: ``in_channels // 8``
            (at least 1).
        value_proj (bool): apply a 1x1 value convolution before the walk.
            Default: False.
        alpha_init (float): initial value of ``alpha``. Default: 0.0.
    """

    def __init__(self,
                 in_channels: int,
                 similarity: str = 'raw',
                 key_channels: Optional[int] = None,
                 value_proj: bool = False,
                 alpha_init: float = 0.0) -> None:
        super().__init__()
        if int(in_channels) < 1:
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels}')
        if similarity not in SIMILARITIES:
            raise ValueError(f'similarity must be one of {SIMILARITIES}, '
                             f'got {similarity!r}')
        if key_channels is not None and similarity != 'projected':
            raise ValueError('key_channels is only used with similarity='
                             f"'projected', got similarity={similarity!r}")
        self.in_channels = int(in_channels)
        self.similarity = similarity
        if similarity == 'projected':
            if key_channels is None:
                key_channels = max(self.in_channels // 8, 1)
            if int(key_channels) < 1:
                raise ValueError('key_channels must be a positive int, got '
                                 f'{key_channels}')
            self.key_channels = int(key_channels)
            self.query_conv = nn.Conv2d(self.in_channels, self.key_channels, 1)
            self.key_conv = nn.Conv2d(self.in_channels, self.key_channels, 1)
        else:
            self.key_channels = self.in_channels
        self.value_conv = (
            nn.Conv2d(self.in_channels, self.in_channels, 1)
            if value_proj else None)
        self.alpha = nn.Parameter(torch.tensor(float(alpha_init)))

    def logits(self, x: Tensor) -> Tensor:
        """Similarity logits whose row-softmax is ``P`` (Eq. 6).

        Args:
            x (Tensor): ``(N, C, H, W)`` features ``f^(L-1)``.

        Returns:
            Tensor: ``(N, H*W, H*W)`` logits.
        """
        self._check_input(x)
        if self.similarity == 'projected':
            return transition_logits(self.query_conv(x), self.key_conv(x))
        return transition_logits(x)

    def _check_input(self, x: Tensor) -> None:
        _check_features(x, 'x')
        if x.shape[1] != self.in_channels:
            raise ValueError(f'x must have {self.in_channels} channels, got '
                             f'{x.shape[1]}')

    def forward(
        self,
        x: Tensor,
        return_logits: bool = False
    ) -> Union[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor, Tensor]]:
        """Walk one step on ``x`` (Eq. 5).

        Args:
            x (Tensor): ``(N, C, H, W)`` features ``f^(L-1)``.
            return_logits (bool): also return the logits of ``P`` (an
                extra ``(N, HW, HW)`` tensor), for a loss that prefers
                log-probabilities. Default: False.

        Returns:
            tuple[Tensor]: ``f^L`` of shape ``(N, C, H, W)`` and dtype of
            ``x``; ``P`` of shape ``(N, H*W, H*W)`` (float32 or float64)
            with rows summing to one; and the logits of ``P`` when
            ``return_logits``.
        """
        logits = self.logits(x)
        trans = logits.softmax(dim=-1)
        value = x if self.value_conv is None else self.value_conv(x)
        n, c, h, w = value.shape
        with torch.autocast(device_type=x.device.type, enabled=False):
            # (P f) as (N, C, HW) = f (N, C, HW) @ P^T.
            walked = torch.bmm(
                value.flatten(2).to(trans.dtype), trans.transpose(1, 2))
        out = self.alpha * walked.reshape(n, c, h, w).to(x.dtype) + x
        if return_logits:
            return out, trans, logits
        return out, trans

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'similarity={self.similarity!r}, '
                f'key_channels={self.key_channels}, '
                f'value_proj={self.value_conv is not None}')
