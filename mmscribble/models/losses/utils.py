# Copyright (c) mmscribble contributors. All rights reserved.
"""What every loss of the package shares.

One set of reduction names, one guarded division, one reducer, the input
checks, and :class:`BaseScribbleLoss`, the base of the module losses.

``avg_factor``, one convention for every loss: for ``reduction='mean'`` it
replaces the loss's own denominator (the number or summed weight of the
counted pixels, or the number of images), and the mean is exactly
``sum / avg_factor``, divided by :func:`safe_div`. mmseg's
``weight_reduce_loss`` divides by ``avg_factor + eps`` (float32's eps)
only so that ``avg_factor = 0`` gives no infinity; :func:`safe_div` covers
that case as it covers every other denominator (a zero ``avg_factor``
returns the sum, which is 0 when nothing was counted), so a positive
``avg_factor`` is not biased by an ``eps`` that shows in float64 and does
not scale with the dtype. No config or head sets ``avg_factor``.
"""
from numbers import Real
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from ...utils.validation import check_choice  # noqa: F401
from ..utils.numeric import safe_div

REDUCTIONS = ('none', 'mean', 'sum')


def _check_avg_factor(avg_factor) -> None:
    # A tensor avg_factor is not inspected: that would cost a host sync.
    if isinstance(avg_factor, Tensor):
        return
    if isinstance(avg_factor, bool) or not isinstance(avg_factor, Real) \
            or not avg_factor >= 0:
        raise ValueError('avg_factor must be a number >= 0 (the denominator '
                         f"of reduction='mean'), got {avg_factor!r}")


def reduce_loss(per_item: Tensor,
                reduction: str = 'mean',
                avg_factor: Optional[Union[float, Tensor]] = None,
                weight: Optional[Tensor] = None,
                denominator: Optional[Union[Tensor, float]] = None) -> Tensor:
    """Weight and reduce per-image or per-pixel losses.

    ``'mean'`` is ``sum / avg_factor`` when ``avg_factor`` is given, else
    ``sum / denominator`` when ``denominator`` is given (a per-pixel loss's
    number or summed weight of counted pixels), else ``sum / numel`` (the
    mean over images). Every division is :func:`safe_div`; see the module
    docstring for why ``avg_factor`` gets no ``eps``.

    Args:
        per_item (Tensor): losses, e.g. ``(N, )`` per image or
            ``(N, H, W)`` per pixel (zero where not counted).
        reduction (str): ``'none'`` (the weighted ``per_item``),
            ``'mean'`` or ``'sum'``. Default: ``'mean'``.
        avg_factor (float | Tensor, optional): denominator of ``'mean'``,
            replacing ``denominator`` / ``numel``; must be >= 0.
        weight (Tensor, optional): multiplies ``per_item`` (broadcast)
            before the reduction; it does not enter the denominator.
        denominator (Tensor | float, optional): default denominator of
            ``'mean'``. None: ``per_item.numel()``.

    Returns:
        Tensor: a scalar, or ``per_item``'s shape for ``'none'``.
    """
    check_choice('reduction', reduction, REDUCTIONS)
    if avg_factor is not None:
        _check_avg_factor(avg_factor)
    if weight is not None:
        per_item = per_item * weight.to(per_item.dtype)
    if reduction == 'none':
        return per_item
    total = per_item.sum()
    if reduction == 'sum':
        return total
    if avg_factor is not None:
        return safe_div(total, avg_factor)
    if denominator is not None:
        return safe_div(total, denominator)
    return safe_div(total, per_item.numel())


def _shape_of(x) -> tuple:
    return tuple(getattr(x, 'shape', ()))


def check_logits_label(logits: Tensor,
                       label: Tensor,
                       logits_name: str = 'pred',
                       label_name: str = 'label') -> None:
    """Check ``(N, C, H, W)`` logits against ``(N, H, W)`` integer labels.

    Shapes and dtype only: no value is read (see :func:`check_labels`).

    Args:
        logits (Tensor): ``(N, C, H, W)``.
        label (Tensor): ``(N, H, W)`` integer class ids.
        logits_name (str): name of the logits argument, for messages.
        label_name (str): name of the label argument, for messages.

    Raises:
        ValueError: a shape is wrong; the message names the argument.
        TypeError: the label does not hold integers.
    """
    if not isinstance(logits, Tensor) or logits.dim() != 4:
        raise ValueError(f'{logits_name} must be (N, C, H, W), got shape '
                         f'{_shape_of(logits)}')
    if not isinstance(label, Tensor) or label.dim() != 3 or \
            label.shape[0] != logits.shape[0] or \
            label.shape[1:] != logits.shape[2:]:
        raise ValueError(
            f'{logits_name} must be (N, C, H, W) and {label_name} (N, H, W) '
            f'with the same N, H, W; got {logits_name} {_shape_of(logits)}, '
            f'{label_name} {_shape_of(label)}')
    if label.is_floating_point() or label.is_complex() or \
            label.dtype == torch.bool:
        raise TypeError(f'{label_name} must hold integer class ids, got '
                        f'{label.dtype}')


def as_pixel_map(x: Optional[Tensor],
                 name: str,
                 shape: Sequence[int],
                 against: str = 'the logits') -> Optional[Tensor]:
    """Check a per-pixel map and return it as ``(N, H, W)``.

    Args:
        x (Tensor, optional): ``(N, H, W)`` or ``(N, 1, H, W)``; None is
            passed through.
        name (str): argument name, for messages.
        shape (Sequence[int]): the expected ``(N, H, W)``.
        against (str): what ``shape`` comes from, for messages.

    Returns:
        Tensor | None: ``x`` as ``(N, H, W)`` (a view, no copy).

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: its shape is not ``shape``.
    """
    if x is None:
        return None
    if not isinstance(x, Tensor):
        raise TypeError(f'{name} must be a tensor, got {type(x).__name__}')
    if x.dim() == 4 and x.shape[1] == 1:
        x = x[:, 0]
    shape = tuple(shape)
    if tuple(x.shape) != shape:
        raise ValueError(
            f'{name} must have shape (N, H, W) = {shape} matching {against}, '
            f'got {tuple(x.shape)}; resize one of them first (nearest for '
            'label-like maps)')
    return x


def check_labels(label: Tensor,
                 num_classes: int,
                 ignore_index: int,
                 name: str = 'label') -> None:
    """Raise if a label tensor holds ids outside ``[0, num_classes)``.

    Without it ``F.cross_entropy`` or ``gather`` fail with a device-side
    assert on CUDA or an opaque ``IndexError`` on CPU. It reads values,
    so it synchronises with the device (``bool(bad.any())``): the module
    losses skip it by default, since the label maps were checked when
    loaded (``LoadScribbleAnnotations``).

    Args:
        label (Tensor): integer class ids, any shape.
        num_classes (int): number of classes of the prediction.
        ignore_index (int): the unlabeled id, always allowed.
        name (str): argument name, for messages.

    Raises:
        ValueError: listing (up to 10 of) the ids out of range.
    """
    bad = (label != ignore_index) & ((label < 0) | (label >= num_classes))
    if bool(bad.any()):
        ids = torch.unique(label[bad]).tolist()
        raise ValueError(
            f'{name} contains class ids {ids[:10]} outside 0..'
            f'{num_classes - 1} (the prediction has {num_classes} classes; '
            f'{ignore_index} = ignored). Check num_classes in the config and '
            'the label maps.')


def class_weight_tensor(class_weight: Union[Sequence[float], Tensor],
                        num: int,
                        like: Tensor,
                        what: str = 'classes') -> Tensor:
    """Per-class weights as a tensor of ``like``'s device and dtype.

    A tensor already on that device costs no copy; a list is copied from
    the host (the module losses keep theirs on the device, see
    :class:`ClassWeight`).

    Args:
        class_weight (Sequence[float] | Tensor): one weight per class.
        num (int): expected number of weights.
        like (Tensor): tensor whose device and dtype the result takes.
        what (str): what the ``num`` weights are for, for messages.

    Returns:
        Tensor: ``(num, )``.
    """
    if not isinstance(class_weight, Tensor):
        class_weight = torch.tensor([float(v) for v in class_weight])
    if class_weight.dim() != 1 or class_weight.shape[0] != num:
        raise ValueError(f'class_weight must have {num} entries (one per '
                         f'{what}), got {len(class_weight)}')
    return class_weight.to(device=like.device, dtype=like.dtype)


class ClassWeight:
    """``class_weight`` attribute of a module loss, kept on its device.

    Reads return the list of floats given (or None), as in the config;
    every assignment also stores it as a non-persistent buffer, which
    ``module.to(device)`` moves, so that ``forward`` does not copy the
    weights from the host (a blocking copy on CUDA) at every step. Not in
    ``state_dict``: checkpoints stay as they were.
    """

    def __set_name__(self, owner, name: str) -> None:
        self.name = name
        self.buffer = f'_{name}_tensor'

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return obj.__dict__.get(self.name)

    def __set__(self, obj: nn.Module, value) -> None:
        if value is not None:
            if isinstance(value, Tensor):
                value = value.tolist()
            value = [float(v) for v in value]
        obj.__dict__[self.name] = value
        old = obj._buffers.get(self.buffer)
        tensor = None if value is None else torch.tensor(
            value,
            device=None if old is None else old.device,
            dtype=torch.float32 if old is None else old.dtype)
        obj.register_buffer(self.buffer, tensor, persistent=False)

    @staticmethod
    def tensor(obj: nn.Module, name: str = 'class_weight') -> Optional[Tensor]:
        """The device copy of ``obj``'s ``name`` attribute (or None)."""
        return obj._buffers.get(f'_{name}_tensor')


class BaseScribbleLoss(nn.Module):
    """Base of every module loss: ``loss_weight``, ``reduction``, name.

    Subclasses call ``super().__init__(reduction, loss_weight, loss_name)``
    and reduce with ``self._reduction(reduction_override)``.

    Args:
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``.
        loss_weight (float): multiplier of the loss (a plain attribute, so
            that :class:`~mmscribble.engine.hooks.PhaseSwitchHook` can set
            it).
        loss_name (str): key of the loss in the loss dict; must contain
            ``'loss'``, since mmengine sums exactly the keys that do.
    """

    def __init__(self, reduction: str, loss_weight: float,
                 loss_name: str) -> None:
        super().__init__()
        check_choice('reduction', reduction, REDUCTIONS)
        if not isinstance(loss_name, str) or 'loss' not in loss_name:
            raise ValueError("loss_name must contain 'loss' so mmengine sums "
                             f'it, got {loss_name!r}')
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def _reduction(self, reduction_override: Optional[str] = None) -> str:
        """The reduction of this call: ``reduction_override`` if given."""
        if reduction_override is None:
            return self.reduction
        check_choice('reduction_override', reduction_override, REDUCTIONS)
        return reduction_override

    @property
    def loss_name(self) -> str:
        """Key of the loss in the loss dict (contains ``'loss'``)."""
        return self._loss_name
