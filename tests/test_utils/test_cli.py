import argparse
import re

import pytest

from mmscribble.utils.cli import (mib, non_negative_float, non_negative_int,
                                  positive_float, positive_int, unit_float)


@pytest.mark.parametrize('fn, good, bad, message', [
    (positive_int, {'1': 1, '7': 7}, ['0', '-3'], 'must be >= 1'),
    (non_negative_int, {'0': 0, '5': 5}, ['-1'], 'must be >= 0'),
    (positive_float, {'0.5': 0.5, '2': 2.0}, ['0', '-1e-9'], 'must be > 0'),
    (non_negative_float, {'0': 0.0, '1.5': 1.5}, ['-0.1'], 'must be >= 0'),
    (unit_float, {'0': 0.0, '1': 1.0, '0.3': 0.3}, ['-0.01', '1.01'],
     'must be in [0, 1]'),
])
def test_argument_types(fn, good, bad, message):
    for text, value in good.items():
        assert fn(text) == value
        assert type(fn(text)) is type(value)
    for text in bad:
        with pytest.raises(
                argparse.ArgumentTypeError, match=re.escape(message)) as err:
            fn(text)
        assert text in str(err.value)


def test_argument_types_reject_non_numbers():
    with pytest.raises(argparse.ArgumentTypeError, match="integer, got '1.5'"):
        positive_int('1.5')
    with pytest.raises(argparse.ArgumentTypeError, match="number, got 'x'"):
        unit_float('x')


def test_argparse_reports_the_argument():
    parser = argparse.ArgumentParser()
    parser.add_argument('--n', type=positive_int)
    assert parser.parse_args(['--n', '3']).n == 3
    with pytest.raises(SystemExit):
        parser.parse_args(['--n', '0'])


def test_mib():
    assert mib(2**20) == 1.0
    assert mib(3 * 2**19) == 1.5
