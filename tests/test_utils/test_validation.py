"""The shared argument checks (mmscribble/utils/validation.py): what each
accepts, what it returns, and the exact message of a rejection."""
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from mmscribble.utils.validation import (
    check_choice, check_class_ids, check_fraction, check_non_negative_int,
    check_non_negative_number, check_positive_int, check_positive_scalar,
    check_probability, check_size, grouped_option)


def _message(fn, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_check_choice():
    check_choice('mode', 'a', ('a', 'b'))
    assert _message(check_choice, 'mode', 'c', ['a', 'b']) == \
        "mode must be one of ('a', 'b'), got 'c'"


def test_int_checks():
    assert check_non_negative_int('steps', 0) == 0
    assert check_positive_int('n', 3) == 3
    assert check_positive_int('n', None, allow_none=True) is None
    for bad in (-1, True, 1.0, '2'):
        assert _message(check_non_negative_int, 'steps', bad) == \
            f'steps must be an int >= 0, got {bad!r}'
    for bad in (0, False, 2.0):
        assert _message(check_positive_int, 'n', bad) == \
            f'n must be a positive int, got {bad!r}'
    assert _message(check_positive_int, 'c', 0, allow_none=True) == \
        'c must be a positive int or None, got 0'
    assert _message(check_positive_int, 'c', None) == \
        'c must be a positive int, got None'


def test_number_checks():
    check_non_negative_number('gamma', 0)
    check_non_negative_number('gamma', 2.5)
    for bad in (-0.1, True, '1', np.float32(1.0)):
        assert _message(check_non_negative_number, 'gamma', bad) == \
            f'gamma must be a number >= 0, got {bad!r}'
    assert check_probability('epsilon', 1) == 1.0
    assert type(check_probability('epsilon', np.float32(0.5))) is float
    for bad in (-0.1, 1.1, True, None):
        assert _message(check_probability, 'epsilon', bad) == \
            f'epsilon must be a number in [0, 1], got {bad!r}'


def test_check_fraction():
    assert check_fraction('tau', 1) == 1
    assert check_fraction('p', None, allow_none=True) is None
    assert _message(check_fraction, 'tau', 0.0) == \
        'tau must be in (0, 1], got 0.0'
    assert _message(check_fraction, 'tau', True) == \
        'tau must be in (0, 1], got True'
    assert _message(check_fraction, 'p', 1.5, allow_none=True) == \
        'p must be None or in (0, 1], got 1.5'
    with pytest.raises(TypeError):
        check_fraction('tau', None)


def test_check_positive_scalar():
    check_positive_scalar('sigma', None)
    check_positive_scalar('sigma', 0.5)
    check_positive_scalar('sigma', torch.tensor([2.0]))
    assert _message(check_positive_scalar, 'sigma', 0) == \
        'sigma must be a positive number, got 0'
    assert _message(check_positive_scalar, 'bandwidth', 'x') == \
        "bandwidth must be a positive number, got 'x'"
    assert _message(check_positive_scalar, 'sigma', torch.ones(2)) == \
        'sigma must be a scalar, got shape (2,)'
    assert _message(check_positive_scalar, 'sigma', torch.tensor(-1.5)) == \
        'sigma must be > 0, got -1.5'


def test_check_size_and_class_ids():
    assert check_size('size', (4.0, '5')) == (4, 5)
    assert _message(check_size, 'size', (4, 0)) == \
        'size must be a pair (h, w) of positive ints, got (4, 0)'
    assert _message(check_size, 'size', (4, )) == \
        'size must be a pair (h, w) of positive ints, got (4,)'
    assert check_class_ids('ids', [0, np.int64(2)], 3) == (0, 2)
    assert type(check_class_ids('ids', [np.int64(2)], 3)[0]) is int
    assert _message(check_class_ids, 'ids', 0, 3) == \
        'ids must be a list or tuple of class ids, got 0'
    assert _message(check_class_ids, 'ids', (0, 3, True, 1.0), 3) == \
        'ids must hold class ids in [0, 3), got [3, True, 1.0] in ' \
        '(0, 3, True, 1.0)'


@dataclass(frozen=True)
class _Cfg:
    rate: float = 0.5

    def __post_init__(self):
        check_fraction('rate', self.rate)


class _Owner:
    rate = grouped_option('cfg', 'rate')

    def __init__(self):
        self.cfg = _Cfg()


def test_grouped_option_reads_and_replaces():
    owner = _Owner()
    first = owner.cfg
    assert owner.rate == 0.5
    owner.rate = 0.25
    assert owner.cfg == _Cfg(0.25) and owner.cfg is not first
    assert first.rate == 0.5
    with pytest.raises(ValueError, match='rate must be in'):
        owner.rate = 2
    assert owner.rate == 0.25
    assert _Owner.rate.__doc__ == '``cfg.rate``.'
