# Copyright (c) mmscribble contributors. All rights reserved.
"""Small command-line helpers shared by the scripts under ``tools/``.

Argument types for ``argparse`` (each raises ``ArgumentTypeError`` with a
message that names the rule and the given text, so argparse reports
``argument --x: must be >= 1, got 0``) and unit conversions for the
benchmarks' printed numbers. A tool imports these instead of defining its
own: the tools are thin command lines over the package.
"""
import argparse


def _number(text: str, kind: type, ok, rule: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'must be {"an integer" if kind is int else "a number"}, '
            f'got {text!r}') from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f'must be {rule}, got {text}')
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _number(text, int, lambda v: v >= 1, '>= 1')


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _number(text, int, lambda v: v >= 0, '>= 0')


def positive_float(text: str) -> float:
    """A number > 0."""
    return _number(text, float, lambda v: v > 0, '> 0')


def non_negative_float(text: str) -> float:
    """A number >= 0."""
    return _number(text, float, lambda v: v >= 0, '>= 0')


def unit_float(text: str) -> float:
    """A number in [0, 1]."""
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, 'in [0, 1]')


def mib(num_bytes: float) -> float:
    """Bytes to MiB (2**20 bytes)."""
    return num_bytes / 2**20
