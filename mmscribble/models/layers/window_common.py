# Copyright (c) mmscribble contributors. All rights reserved.
"""What the windowed affinities and their dense references share.

Input checks that name the argument, the window radii (default: ``r =
ceil(3 sigma)``, see ``window_affinity.py`` for the truncation bound), the
log of the Gaussian distance kernel at every window offset and the dtype
the affinities are built in. Pure torch.
"""
import math
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from ...utils.validation import check_positive_scalar

Sigma = Union[float, Tensor]

# Radius of the default window in units of sigma: the truncated Gaussian
# weight exp(-3^2 / 2) = 1.1% of the centre weight.
WINDOW_SIGMAS = 3.0


def check_4d(name: str, t: Tensor) -> None:
    """A floating ``(N, C, h, w)`` tensor, or an error naming ``name``."""
    if not isinstance(t, Tensor):
        raise TypeError(f'{name} must be a Tensor, got {type(t).__name__}')
    if t.dim() != 4:
        raise ValueError(f'{name} must be (N, C, h, w), got shape '
                         f'{tuple(t.shape)}')
    if not t.is_floating_point():
        raise TypeError(f'{name} must be floating point, got {t.dtype}')


def check_valid_mask(valid_mask: Optional[Tensor], n: int, h: int,
                     w: int) -> None:
    """None or an ``(n, h, w)`` tensor."""
    if valid_mask is None:
        return
    if not isinstance(valid_mask, Tensor) or \
            tuple(valid_mask.shape) != (n, h, w):
        shape = tuple(getattr(valid_mask, 'shape', ()))
        raise ValueError(f'valid_mask must be (N, h, w) = {(n, h, w)}, '
                         f'got {shape}')


def check_aggregate_inputs(feat: Optional[Tensor],
                           values: Tensor,
                           sigma: Optional[Sigma],
                           valid_mask: Optional[Tensor],
                           values_name: str = 'values') -> None:
    """Inputs of a softmax aggregation (local or dense).

    Args:
        feat (Tensor, optional): ``(N, C, h, w)`` features.
        values (Tensor): ``(N, K, h, w)`` values.
        sigma (float | Tensor, optional): kernel width.
        valid_mask (Tensor, optional): ``(N, h, w)``.
        values_name (str): name of ``values`` in the messages.
    """
    check_4d(values_name, values)
    n, _, h, w = values.shape
    if feat is not None:
        check_4d('feat', feat)
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
    check_positive_scalar('sigma', sigma)
    check_valid_mask(valid_mask, n, h, w)


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


def compute_dtype(*tensors: Optional[Tensor]) -> torch.dtype:
    """float64 if any tensor is float64, else float32."""
    # Half precision would overflow exp(f_i . f_j) bookkeeping and lose the
    # tiny Gaussian weights, so the affinity is always built in >= float32.
    dtype = torch.float32
    for t in tensors:
        if t is not None and t.dtype == torch.float64:
            dtype = torch.float64
    return dtype


__all__ = [
    'Sigma', 'WINDOW_SIGMAS', 'check_4d', 'check_valid_mask',
    'check_aggregate_inputs', 'window_radii', 'offset_log_kernel',
    'compute_dtype'
]
