# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/harness.py: its peak memory on known allocations,
and that the allocator setting for memory passes never reaches timed
runs."""
import os
import platform

import pytest
import torch

from mmscribble.benchmark import harness

MIB = 1024 * 1024
linux_glibc = pytest.mark.skipif(
    platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc',
    reason='resident-set peaks and mallopt are Linux / glibc')


def _alloc_step(spec):
    """A pass that holds ``spec['mib']`` MiB, in 1 MiB buffers, at once."""
    n = spec['mib']

    def step():
        bufs = [torch.ones(MIB // 4) for _ in range(n)]  # float32, touched
        del bufs

    return step


@linux_glibc
def test_peak_is_the_live_allocation():
    # 64 buffers of 1 MiB, held together: 64 MiB. Under glibc's default
    # dynamic threshold a repeated pass reuses the heap and shows no
    # growth; the memory pass must still see the 64 MiB. (Linux keeps the
    # resident-set counters per thread and syncs them in batches, so they
    # may lag by up to a few hundred KiB.)
    res = harness.measure_step(_alloc_step,
                               dict(device='cpu', repeats=2, mib=64))
    assert 'error' not in res
    assert not res['flagged']
    assert 63 * MIB <= res['peak'] < 72 * MIB
    assert res['time'] > 0


def _raise_step(spec):

    def step():
        raise RuntimeError('out of memory: tried to allocate 1 TiB\nmore')

    return step


def test_runtime_error_becomes_a_row():
    res = harness.measure_step(_raise_step, dict(device='cpu', repeats=1))
    assert res == dict(error='out of memory: tried to allocate 1 TiB')


def test_subprocess_runs_keep_the_default_allocator(monkeypatch):
    monkeypatch.delenv('MALLOC_MMAP_THRESHOLD_', raising=False)
    res = harness.measure_in_subprocess(_alloc_step,
                                        dict(device='cpu', repeats=1, mib=8))
    assert 'error' not in res and res['peak'] >= 7 * MIB
    # The caller's environment (inherited by every later spawned run, e.g.
    # the MSCMR table's training runs) is left as it was.
    assert 'MALLOC_MMAP_THRESHOLD_' not in os.environ
