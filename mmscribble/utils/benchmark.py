"""Time and peak memory of one forward + backward step, in a fresh process.

Shared by the benchmark tools (``tools/benchmark/``). Each case runs in its
own spawned process, so one case's allocations and thread pools never count
against another's, and an out-of-memory case becomes a row, not a crash.

Peak memory: on CUDA, ``max_memory_allocated`` above what was allocated
before the pass. On CPU torch keeps no allocator statistics, so the kernel's
resident-set high-water mark is used: ``VmHWM`` is reset to the current
resident size through ``/proc/self/clear_refs`` just before the first timed
pass and read after it; where the kernel refuses the reset, ``ru_maxrss`` is
used and the row is ``flagged`` when the pass never rose above the set-up's
own peak (the figure is then a lower bound).
"""
import gc
import multiprocessing as mp
import os
import resource
import statistics
import time
from queue import Empty
from typing import Callable, Optional

import torch


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
        dict: ``time`` (median seconds of the timed passes), ``peak``
        (bytes above the pre-pass level, first timed pass) and ``flagged``;
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
        if cuda:
            step()  # cuBLAS workspaces and the allocator's first growth
        gc.collect()
        sync()
        flagged = False
        if cuda:
            torch.cuda.reset_peak_memory_stats()
            before = torch.cuda.memory_allocated()
        else:
            hwm = _reset_peak_rss()
            before = _status_kib('VmRSS') * 1024
            setup_peak = _max_rss()
        times = []
        for i in range(spec['repeats']):
            start = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - start)
            if i > 0:
                continue
            if cuda:
                peak = torch.cuda.max_memory_allocated() - before
            elif hwm:
                peak = _status_kib('VmHWM') * 1024 - before
            else:
                after_peak = _max_rss()
                peak = after_peak - before
                flagged = after_peak <= setup_peak
        return dict(
            time=statistics.median(times), peak=max(peak, 0),
            flagged=flagged)
    except RuntimeError as err:  # out of memory, reported as a row
        return dict(error=str(err).splitlines()[0])


def _child(build_step, spec, warmup_spec, queue):
    queue.put(measure_step(build_step, spec, warmup_spec))


def run_in_subprocess(target: Callable, *args) -> dict:
    """Run ``target(*args, queue)`` in a freshly spawned process.

    ``target`` must be a module-level function (it is pickled by name) that
    puts one result dict on ``queue``. A process that dies without one
    (e.g. killed for memory) yields ``dict(error=...)``.
    """
    # Read by glibc when the child starts: freed buffers go back to the
    # kernel at once, so the resident size follows the live allocations.
    os.environ.setdefault('MALLOC_MMAP_THRESHOLD_', '131072')
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
