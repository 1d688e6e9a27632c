# Copyright (c) mmscribble contributors. All rights reserved.
"""Numerics shared by the losses and the layers (the Potts solvers).

It lives here, below both, because ``layers.potts_solvers`` cannot import
``losses.utils`` (the losses package imports the Potts layer).
"""
from typing import Union

import torch
from torch import Tensor


def safe_div(num: Tensor, den: Union[Tensor, float]) -> Tensor:
    """``num / den`` where a zero denominator divides by one instead.

    Every denominator of these losses is a count or a sum of non-negative
    weights of what the loss counted; it is zero only when nothing was
    counted, and then ``num``, a sum of terms each multiplied by a zero
    weight, is zero too. So ``0 / 0 = 0``: a batch without labeled pixel
    gives an exact zero that keeps ``num``'s graph (its gradient to ``num``
    is 1 and to ``den`` 0, so the inputs receive the zero gradient of the
    zero-weighted terms). No ``eps`` enters a non-zero denominator, and a
    tensor ``den`` is tested on the device (``torch.where``), without host
    synchronisation.

    Args:
        num (Tensor): numerator, any shape.
        den (Tensor | float): denominator, broadcastable to ``num``.

    Returns:
        Tensor: the quotient, with ``num / 1`` where ``den == 0``.
    """
    if isinstance(den, Tensor):
        return num / torch.where(den != 0, den, torch.ones_like(den))
    return num / (den if den != 0 else 1)
