# Copyright (c) mmscribble contributors. All rights reserved.
"""Dense references of the windowed softmax aggregation.

:func:`dense_window_softmax` builds the affinity ``A`` of
:func:`~mmscribble.models.layers.window_affinity.window_softmax_aggregate`
as a full ``(hw, hw)`` matrix and :func:`dense_window_softmax_aggregate`
applies it: ``O(h^2 w^2)`` memory, the reference the cheap exact form is
tested and benchmarked against. Pure torch.
"""
from typing import Optional

import torch
from torch import Tensor

from ...utils.validation import check_positive_scalar
from .window_common import (Sigma, check_4d, check_aggregate_inputs,
                            compute_dtype, window_radii)


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
    check_4d('feat', feat)
    n, _, h, w = feat.shape
    check_positive_scalar('sigma', sigma)
    if valid_mask is not None and tuple(valid_mask.shape) != (n, h, w):
        raise ValueError(f'valid_mask must be (N, h, w) = {(n, h, w)}, got '
                         f'{tuple(valid_mask.shape)}')
    if sigma is None and window is None and feat.shape[1] == 0:
        raise ValueError('feat has no channels and sigma is None: the '
                         'affinity would be uniform')
    dtype = compute_dtype(feat)
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


def dense_softmax_aggregate(feat: Optional[Tensor], values: Tensor,
                            sigma: Optional[Sigma], window: Optional[int],
                            valid_mask: Optional[Tensor],
                            values_name: str) -> Tensor:
    """:func:`dense_window_softmax_aggregate` with ``values_name`` in the
    messages of the input checks."""
    check_aggregate_inputs(feat, values, sigma, valid_mask, values_name)
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
    return dense_softmax_aggregate(feat, values, sigma, window, valid_mask,
                                   'values')


__all__ = [
    'dense_window_softmax', 'dense_softmax_aggregate',
    'dense_window_softmax_aggregate'
]
