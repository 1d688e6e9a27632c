# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of one forward + backward step, in a fresh process.

The measurement of the bench scripts under ``tools/benchmark/``. Not
imported by ``import mmscribble``: it tunes the C library's allocator and
reads ``/proc``, which importing the package must not do; a bench script
imports it as ``mmscribble.benchmark.harness``. Each case runs in its own
spawned process, so one case's allocations and thread pools never count
against another's, and an out-of-memory case becomes a row, not a crash.

Time: median of the timed passes, with the C library's allocator as
everyone runs it (glibc's dynamic mmap threshold: freed buffers are kept
and reused).

Peak memory: one further pass after the timed ones. On CUDA,
``max_memory_allocated`` above what was allocated before the pass. On CPU
torch keeps no allocator statistics, so the kernel's resident-set
high-water mark is used: for that pass glibc is told (``mallopt``) to give
every buffer over 128 KiB back to the kernel when it is freed, and its free
memory is trimmed, so the resident size follows the live allocations;
``VmHWM`` is then reset to the current resident size through
``/proc/self/clear_refs`` and read after the pass. Where the kernel refuses
the reset, ``ru_maxrss`` is used and the row is ``flagged`` when the pass
never rose above the set-up's own peak (the figure is then a lower bound).

The allocator setting is applied to the memory pass only, and never to
whole runs: with every large buffer mapped afresh, a training iteration of
the MSCMR baseline took 1.73 s instead of 0.71 s on a 2-core machine
(2026-12-01), which is why the times must not come from that pass.
"""
import ctypes
import ctypes.util
import gc
import multiprocessing as mp
import resource
import statistics
import time
from queue import Empty
from typing import Callable, Optional

import torch

from ..utils.cli import positive_int


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Reset ``VmHWM`` to the current resident size; False if refused."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt numbers
MMAP_THRESHOLD = 128 * 1024


def release_freed_memory(threshold: int = MMAP_THRESHOLD) -> bool:
    """Make glibc return freed buffers over ``threshold`` bytes at once.

    Fixes the mmap threshold (which also stops glibc from raising it as
    large buffers are freed), sets the trim threshold to twice it, and
    trims the free memory already held (its pages leave the resident set;
    a later allocation that reuses them faults them in again), so the
    resident size follows the live allocations from here on. Slows
    every later large allocation (fresh pages each time): for memory
    passes, not for timed ones.

    Collects Python garbage first in every case.

    Returns:
        bool: False where the C library is not glibc (nothing else done).
    """
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return False
    if not (mallopt(_M_MMAP_THRESHOLD, int(threshold))
            and mallopt(_M_TRIM_THRESHOLD, 2 * int(threshold))):
        return False
    malloc_trim(0)
    return True


def measure_step(build_step: Callable[[dict], Callable[[], None]],
                 spec: dict,
                 warmup_spec: Optional[dict] = None) -> dict:
    """Measure ``build_step(spec)()`` in this process.

    Args:
        build_step: returns a ``step()`` that runs one forward + backward.
        spec (dict): the case; ``device`` ('cpu' or 'cuda...'), ``repeats``
            (timed passes, >= 1) and optionally ``threads`` are read here.
        warmup_spec (dict, optional): a tiny case run first, so one-off
            kernel and thread-pool memory is not charged to the pass.

    Returns:
        dict: ``time`` (median seconds of the timed passes, after one
        untimed pass), ``peak`` (bytes above the pre-pass level, in a
        further pass, see the module notes) and ``flagged``;
        or ``error`` (the first line of a RuntimeError, e.g. out of memory).
    """
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    cuda = str(spec['device']).startswith('cuda')

    def sync():
        if cuda:
            torch.cuda.synchronize()

    try:
        if warmup_spec is not None:
            build_step(warmup_spec)()
        step = build_step(spec)
        step()  # first-touch of the buffers, cuBLAS workspaces, caches
        sync()
        times = []
        for _ in range(spec['repeats']):
            start = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - start)
        peak, flagged = _peak_of(step, sync, cuda)
        return dict(
            time=statistics.median(times), peak=max(peak, 0),
            flagged=flagged)
    except RuntimeError as err:  # out of memory, reported as a row
        return dict(error=str(err).splitlines()[0])


def _peak_of(step, sync, cuda):
    """Bytes held during one more ``step()`` beyond those held before it."""
    sync()
    if cuda:
        gc.collect()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        step()
        sync()
        return torch.cuda.max_memory_allocated() - before, False
    release_freed_memory()  # collects garbage, then trims
    hwm = _reset_peak_rss()
    before = _status_kib('VmRSS') * 1024
    setup_peak = _max_rss()
    step()
    if hwm:
        return _status_kib('VmHWM') * 1024 - before, False
    after_peak = _max_rss()
    return after_peak - before, after_peak <= setup_peak


def add_measure_args(parser,
                     repeats: int = 3,
                     repeats_help: str = 'timed passes per case') -> None:
    """Add the options every bench script passes to :func:`measure_step`.

    ``--repeats`` (timed passes per case, default ``repeats``; >= 1),
    ``--device`` and ``--threads`` (>= 1).
    """
    parser.add_argument(
        '--repeats', type=positive_int, default=repeats, help=repeats_help)
    parser.add_argument(
        '--device', default='cpu', help="'cpu' or a CUDA device")
    parser.add_argument(
        '--threads', type=positive_int, default=None,
        help='torch CPU threads (default: torch default)')


def _child(build_step, spec, warmup_spec, queue):
    queue.put(measure_step(build_step, spec, warmup_spec))


def run_in_subprocess(target: Callable, *args) -> dict:
    """Run ``target(*args, queue)`` in a freshly spawned process.

    ``target`` must be a module-level function (it is pickled by name) that
    puts one result dict on ``queue``. A process that dies without one
    (e.g. killed for memory) yields ``dict(error=...)``.
    """
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Empty:
            if not proc.is_alive():
                result = dict(error=f'process died (exit {proc.exitcode})')
                break
    proc.join()
    return result


def measure_in_subprocess(build_step: Callable[[dict], Callable[[], None]],
                          spec: dict,
                          warmup_spec: Optional[dict] = None) -> dict:
    """:func:`measure_step` in a freshly spawned process.

    ``build_step`` must be a module-level function (it is pickled by name).
    """
    return run_in_subprocess(_child, build_step, spec, warmup_spec)
