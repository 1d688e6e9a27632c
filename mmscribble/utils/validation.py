# Copyright (c) mmscribble contributors. All rights reserved.
"""Checks of constructor and function arguments, shared by the models.

Each check raises a ``ValueError`` whose message names the argument, the
rule and the value given (``gamma must be a number >= 0, got -1``), so a
bad config fails when the component is built, not at its first step.
Booleans are rejected wherever a number is expected: ``True`` is an
``int`` to Python but never a meaningful count, rate or probability.

Tensor shape checks of the losses (``check_logits_label``,
``as_pixel_map``) stay with the loss base in
``mmscribble/models/losses/utils.py``.
"""
from dataclasses import replace
from numbers import Integral, Real
from typing import Sequence, Tuple

from torch import Tensor


def check_choice(name: str, value, choices: Sequence) -> None:
    """Raise a ``ValueError`` naming ``name`` if ``value`` is not a choice.

    Args:
        name (str): argument name, used in the message.
        value: the value given.
        choices (Sequence): the allowed values.
    """
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, got '
                         f'{value!r}')


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_non_negative_int(name: str, value) -> int:
    """An ``int`` >= 0 (not a bool).

    Args:
        name (str): argument name, used in the message.
        value: the value given.

    Returns:
        int: ``value``.
    """
    if not _is_int(value) or value < 0:
        raise ValueError(f'{name} must be an int >= 0, got {value!r}')
    return value


def check_positive_int(name: str, value, allow_none: bool = False):
    """An ``int`` >= 1 (not a bool), or None when ``allow_none``.

    Args:
        name (str): argument name, used in the message.
        value: the value given.
        allow_none (bool): accept None. Default: False.

    Returns:
        int | None: ``value``.
    """
    if allow_none and value is None:
        return value
    if not _is_int(value) or value < 1:
        what = 'a positive int or None' if allow_none else 'a positive int'
        raise ValueError(f'{name} must be {what}, got {value!r}')
    return value


def check_non_negative_number(name: str, value) -> None:
    """An ``int`` or ``float`` >= 0 (not a bool).

    Args:
        name (str): argument name, used in the message.
        value: the value given.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            value < 0:
        raise ValueError(f'{name} must be a number >= 0, got {value!r}')


def check_probability(name: str, value) -> float:
    """A real number in ``[0, 1]`` (not a bool).

    Args:
        name (str): argument name, used in the message.
        value: the value given.

    Returns:
        float: ``float(value)``.
    """
    if isinstance(value, bool) or not isinstance(value, Real) or \
            not 0 <= value <= 1:
        raise ValueError(f'{name} must be a number in [0, 1], got '
                         f'{value!r}')
    return float(value)


def check_fraction(name: str, value, allow_none: bool = False):
    """A number in ``(0, 1]`` (a share or a confidence; not a bool), or
    None when ``allow_none``.

    Args:
        name (str): argument name, used in the message.
        value: the value given.
        allow_none (bool): accept None. Default: False.

    Returns:
        The value, unchanged.
    """
    if allow_none and value is None:
        return value
    if isinstance(value, bool) or not 0 < value <= 1:
        what = 'None or in' if allow_none else 'in'
        raise ValueError(f'{name} must be {what} (0, 1], got {value!r}')
    return value


def check_positive_scalar(name: str, value) -> None:
    """A number > 0 or a one-element tensor > 0; None passes.

    A tensor is read once (a host sync): for arguments checked when a
    function is called, not per element.

    Args:
        name (str): argument name, used in the message.
        value (float | Tensor | None): the value given.
    """
    if value is None:
        return
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f'{name} must be a scalar, got shape '
                             f'{tuple(value.shape)}')
        if not bool(value.detach() > 0):
            raise ValueError(f'{name} must be > 0, got {value.item()}')
    elif not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f'{name} must be a positive number, got {value!r}')


def check_size(name: str, size: Sequence[int]) -> Tuple[int, int]:
    """A pair ``(h, w)`` of positive ints.

    Args:
        name (str): argument name, used in the message.
        size (Sequence[int]): the value given.

    Returns:
        tuple[int, int]: ``(int(h), int(w))``.
    """
    if len(size) != 2 or int(size[0]) < 1 or int(size[1]) < 1:
        raise ValueError(f'{name} must be a pair (h, w) of positive ints, '
                         f'got {size!r}')
    return int(size[0]), int(size[1])


def check_class_ids(name: str, ids, num_classes: int) -> Tuple[int, ...]:
    """A list or tuple of class ids in ``[0, num_classes)``.

    Args:
        name (str): argument name, used in the message.
        ids (list | tuple): the value given.
        num_classes (int): number of classes.

    Returns:
        tuple[int, ...]: the ids as ints.
    """
    if not isinstance(ids, (list, tuple)):
        raise ValueError(
            f'{name} must be a list or tuple of class ids, got {ids!r}')
    bad = [
        c for c in ids if isinstance(c, bool) or not isinstance(c, Integral)
        or not 0 <= c < num_classes
    ]
    if bad:
        raise ValueError(f'{name} must hold class ids in [0, '
                         f'{num_classes}), got {bad} in {ids!r}')
    return tuple(int(c) for c in ids)


def grouped_option(group: str, field: str) -> property:
    """A property that reads and sets one field of a frozen config object.

    For a component that groups related constructor arguments into a
    validated frozen dataclass (stored as attribute ``group``) but keeps
    each argument readable and settable under its own name: setting it
    replaces the dataclass (``dataclasses.replace``), which runs its
    checks again.

    Args:
        group (str): attribute holding the frozen dataclass.
        field (str): the dataclass field.

    Returns:
        property: to assign in the class body, e.g. ``self_training_mode =
        grouped_option('self_training_cfg', 'mode')``.
    """

    def get(obj):
        return getattr(getattr(obj, group), field)

    def set_(obj, value):
        setattr(obj, group, replace(getattr(obj, group), **{field: value}))

    return property(get, set_, doc=f'``{group}.{field}``.')
