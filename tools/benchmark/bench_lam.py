# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of BLPSeg's LAM: local window vs dense matrix.

Measures forward + backward of the Local Aggregation Module (Eq. 3-8) on
segmentation logits with 256-channel low-level features (the authors'
embedding width), the paper's ``sigma = 6``:

* ``local``: :func:`local_affinity_aggregate`, window ``2 ceil(3 sigma) + 1
  = 37``, memory linear in the number of pixels;
* ``dense``: :func:`dense_affinity_aggregate`, the untruncated ``(hw, hw)``
  matrix of Eq. 4 as in the authors' code.

Usage::

    python tools/benchmark/bench_lam.py    # ~3 min on 2 idle cores
    python tools/benchmark/bench_lam.py --sizes 96 --repeats 5
    python tools/benchmark/bench_lam.py --device cuda --local-batch 10

96 x 96 is the logits map of the paper's 384 x 384 crops (stride 4).

Method:

* Every case runs in its own freshly spawned process, so that one case's
  allocations cannot hide or inflate another's peak.
* Time: median wall time of ``--repeats`` forward + backward passes (with
  ``torch.cuda.synchronize`` on a GPU). A tiny pass loads the kernels and
  thread pools first, and one untimed full pass touches the buffers (and,
  on a GPU, the cuBLAS workspaces). The timed passes run under the C
  library's default allocator.
* Peak memory: the most memory held during one further pass beyond
  what was held just before it (the inputs and library code are excluded; the
  output, the saved tensors, the temporaries and the input gradients are
  included). On CUDA: ``torch.cuda.max_memory_allocated()`` minus
  ``torch.cuda.memory_allocated()`` before the pass. On a CPU torch keeps
  no allocator statistics, so the kernel's peak resident set size is
  used (Linux): ``VmHWM`` of ``/proc/self/status`` is reset to the
  current resident size just before the pass (``echo 5 >
  /proc/self/clear_refs``, Linux >= 4.0) and read after it. Where that
  reset is not allowed, ``getrusage().ru_maxrss`` minus the resident size
  before the pass is used, and a case whose pass did not exceed the setup's
  peak is flagged as a lower bound. For that pass only, glibc is told
  (``mallopt``) to give freed buffers over 128 KiB back to the kernel at
  once, so the resident size follows the live allocations; whole runs
  with that setting (``MALLOC_MMAP_THRESHOLD_``) are 2-3x slower.
* Per-image figures divide by the batch. The local form runs at
  ``--local-batch``; the dense form at the largest batch whose estimated
  footprint, 3 float ``(hw, hw)`` matrices per image, fits in
  ``--dense-budget-gb`` (at least 1, at most ``--local-batch``).
"""
import argparse
import math
import sys

import torch

from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.models.layers import (dense_affinity_aggregate,
                                      local_affinity_aggregate)
from mmscribble.utils.cli import mib

NUM_CLASSES = 21
# The local form needs >= this many times less peak memory per image than
# the dense one at 96 x 96.
REQUIRED_MEMORY_RATIO = 10.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark the LAM: local window vs dense matrix')
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[96, 128],
        help='logits map sides (96 = 384 crops at stride 4)')
    parser.add_argument(
        '--classes', type=int, default=NUM_CLASSES, help='logit channels')
    parser.add_argument(
        '--channels',
        type=int,
        default=256,
        help='similarity feature channels (authors: 256)')
    parser.add_argument(
        '--sigma', type=float, default=6.0, help='LAM sigma (paper: 6)')
    parser.add_argument(
        '--local-batch', type=int, default=10, help='batch of the local form')
    parser.add_argument(
        '--dense-budget-gb',
        type=float,
        default=3.,
        help='memory budget that bounds the batch of the dense form')
    add_measure_args(parser, repeats=2)
    args = parser.parse_args(argv)
    for name in ('classes', 'channels', 'local_batch', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be a positive int')
    if any(s < 1 for s in args.sizes):
        parser.error('--sizes must be positive ints')
    if args.sigma <= 0:
        parser.error('--sigma must be positive')
    if args.dense_budget_gb <= 0:
        parser.error('--dense-budget-gb must be positive')
    return args


def _build_step(spec):
    """Return ``step()`` running one forward + backward of the case."""
    device = torch.device(spec['device'])
    n, c, k, s = spec['batch'], spec['channels'], spec['classes'], spec['size']
    feat = torch.randn(n, c, s, s, device=device, requires_grad=True)
    logits = torch.randn(n, k, s, s, device=device, requires_grad=True)
    grad_out = torch.randn(n, k, s, s, device=device)
    fn = local_affinity_aggregate if spec['form'] == 'local' else \
        dense_affinity_aggregate

    def step():
        feat.grad = logits.grad = None
        fn(feat, logits, spec['sigma']).backward(grad_out)

    return step


def measure(spec):
    """Measure ``spec`` in a spawned process (see ``harness``); one-off
    kernel memory is loaded on a tiny case first."""
    return measure_in_subprocess(
        _build_step, spec, dict(spec, batch=1, size=8, channels=4))


def dense_batch(size: int, budget_gb: float, most: int) -> int:
    """Largest dense batch, up to ``most``, whose 3 ``(hw, hw)`` float32
    matrices per image fit in the budget (at least 1)."""
    per_image = 3 * 4 * (size * size)**2
    return max(1, min(most, int(budget_gb * 2**30 // per_image)))


def main(argv=None):
    args = parse_args(argv)
    window = 2 * math.ceil(3 * args.sigma) + 1
    print(
        f'# LAM benchmark: {args.classes} classes, {args.channels}-channel '
        f'features, sigma {args.sigma:g} (local window {window}), device '
        f'{args.device}, median of {args.repeats}',
        flush=True)
    rows = []
    for size in args.sizes:
        for form, batch in (('local', args.local_batch),
                            ('dense',
                             dense_batch(size, args.dense_budget_gb,
                                         args.local_batch))):
            spec = dict(
                form=form,
                size=size,
                batch=batch,
                classes=args.classes,
                channels=args.channels,
                sigma=args.sigma,
                repeats=args.repeats,
                device=args.device,
                threads=args.threads)
            rows.append((size, form, batch, measure(spec)))
            print(f'  done: {form} {size}x{size}', file=sys.stderr, flush=True)

    print()
    print('| map | form | batch | fwd+bwd (ms) | per image (ms) '
          '| peak (MiB) | per image (MiB) |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    per_image = {}
    for size, form, batch, res in rows:
        name = f'{size}x{size}'
        if 'error' in res:
            print(f'| {name} | {form} | {batch} | {res["error"]} | | | |')
            continue
        mark = ' (lower bound)' if res['flagged'] else ''
        print(f'| {name} | {form} | {batch} | {1e3 * res["time"]:.0f} '
              f'| {1e3 * res["time"] / batch:.0f} '
              f'| {mib(res["peak"]):.0f}{mark} '
              f'| {mib(res["peak"]) / batch:.1f} |')
        per_image[size, form] = (res['time'] / batch, res['peak'] / batch)

    print()
    print('| map | dense / local time per image '
          '| dense / local peak memory per image |')
    print('| --- | ---: | ---: |')
    for size in args.sizes:
        if (size, 'local') in per_image and (size, 'dense') in per_image:
            (t_l, m_l), (t_d, m_d) = per_image[size,
                                               'local'], per_image[size,
                                                                   'dense']
            print(f'| {size}x{size} | x{t_d / t_l:.1f} '
                  f'| x{m_d / max(m_l, 1):.1f} |')
    print()
    if (96, 'local') in per_image and (96, 'dense') in per_image:
        ratio = per_image[96, 'dense'][1] / max(per_image[96, 'local'][1], 1)
        verdict = 'yes' if ratio >= REQUIRED_MEMORY_RATIO else 'NO'
        print(f'Local form uses >= {REQUIRED_MEMORY_RATIO:g}x less peak '
              f'memory per image at 96x96: {verdict} (x{ratio:.1f})')
    else:
        print('96x96 not measured: memory requirement not checked')


if __name__ == '__main__':
    main()
