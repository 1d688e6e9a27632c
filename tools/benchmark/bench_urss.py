# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of the URSS random walk and eigenspace loss.

Measures forward + backward of:

* the head's feature path after the backbone neck, as in the authors'
  head: ``[RandomWalk] -> 3x3 conv + BN + ReLU -> 1x1 classifier``,
  without the walk, with the paper's walk (``similarity='raw'``) and
  with the authors' projected one;
* the eigenspace loss (Eq. 9) with ``T_phi(P)`` by index operations
  (flip and translation) and by the dense computing matrices of Eq. 10.

Usage::

    python tools/benchmark/bench_urss.py                 # ~2 min, 2 cores
    python tools/benchmark/bench_urss.py --size 59 --channels 512 \\
        --batch 8                                        # the paper's size

The paper's size is slow on a CPU (about 3 s per image for the walk and
12 s per image for the dense loss on 2 cores); the defaults are smaller.

Method:

* Measurement (``harness``, shared with ``bench_lam.py``): every case runs
  in its own freshly spawned process; a tiny pass loads kernels and thread
  pools first and one untimed full pass touches the buffers; time is the median
  wall time of ``--repeats`` forward + backward passes (synchronized on a GPU)
  under the default allocator; peak memory is what one further pass holds
  beyond what was held just before it (activations saved for backward,
  temporaries, gradients): ``max_memory_allocated`` on CUDA, the kernel's
  resident-set high-water mark (``VmHWM`` reset through
  ``/proc/self/clear_refs``) on a CPU, where torch keeps no allocator
  statistics; for that pass only, glibc returns freed buffers to the kernel at
  once.
* Per-image figures divide by the batch. The dense loss runs at the
  largest batch (up to ``--batch``) whose estimated footprint, 12 float
  ``(HW, HW)`` matrices per image, fits in ``--dense-budget-gb``.
"""
import argparse
import sys

import torch
import torch.nn as nn

from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.models.layers import RandomWalk, ViewTransform
from mmscribble.models.losses import eigenspace_loss
from mmscribble.utils.cli import mib

NUM_CLASSES = 21


class WalkOut(nn.Module):
    """Keep only ``f^L`` of :class:`RandomWalk` inside a Sequential."""

    def __init__(self, walk: RandomWalk) -> None:
        super().__init__()
        self.walk = walk

    def forward(self, x):
        return self.walk(x)[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark the URSS random walk and eigenspace loss')
    parser.add_argument(
        '--size', type=int, default=33, help='feature map side (paper: 59)')
    parser.add_argument(
        '--channels',
        type=int,
        default=512,
        help='feature channels (paper: 512)')
    parser.add_argument(
        '--batch', type=int, default=4, help='batch size (paper: 8)')
    parser.add_argument(
        '--dense-budget-gb',
        type=float,
        default=3.,
        help='memory budget that bounds the batch of the dense loss')
    add_measure_args(parser, repeats=3)
    args = parser.parse_args(argv)
    for name in ('size', 'channels', 'batch', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive int')
    if args.dense_budget_gb <= 0:
        parser.error('--dense-budget-gb must be positive')
    return args


def _build_case(spec):
    """Return ``step()`` running one forward + backward of the case."""
    device = torch.device(spec['device'])
    n, c, s = spec['batch'], spec['channels'], spec['size']
    kind = spec['kind']
    if kind == 'head':
        walk = spec['walk']
        layers = [] if walk is None else [
            WalkOut(RandomWalk(c, walk, alpha_init=1.))
        ]
        layers += [
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.Conv2d(c, NUM_CLASSES, 1)
        ]
        model = nn.Sequential(*layers).to(device)
        feats = torch.randn(n, c, s, s, device=device, requires_grad=True)

        def step():
            model(feats).square().mean().backward()

        return step

    hw = s * s
    if spec['view'] == 'flip':
        phi = ViewTransform('flip')
    else:
        # The authors translate by 80 of 465 pixels, i.e. ~1/6 of the map.
        phi = ViewTransform('translate', (max(s // 6, 1), 0))

    def transitions(requires_grad):
        # rand + in-place normalisation: no (HW, HW) temporary, so the
        # setup peak stays below the measured pass.
        t = torch.rand(n, hw, hw, device=device)
        t.div_(t.sum(-1, keepdim=True))
        return t.requires_grad_(requires_grad)

    trans, trans_view = transitions(True), transitions(False)

    def step():
        eigenspace_loss(
            trans, trans_view, phi, (s, s), impl=spec['impl']).backward()

    return step


def measure(spec):
    """Measure ``spec`` in a spawned process (see ``harness``); one-off
    kernel memory is loaded on a tiny case first."""
    return measure_in_subprocess(
        _build_case, spec, dict(spec, batch=1, size=8, channels=4))


def main(argv=None):
    args = parse_args(argv)
    hw = args.size**2
    dense_batch = int(args.dense_budget_gb * 2**30 // (12 * 4 * hw * hw))
    dense_batch = max(1, min(args.batch, dense_batch))
    common = dict(
        size=args.size,
        channels=args.channels,
        repeats=args.repeats,
        device=args.device,
        threads=args.threads)
    cases = [
        ('head, no walk', dict(kind='head', walk=None, batch=args.batch)),
        ('head, walk raw (paper)',
         dict(kind='head', walk='raw', batch=args.batch)),
        ('head, walk projected (authors)',
         dict(kind='head', walk='projected', batch=args.batch)),
        ('eigen loss, index, flip',
         dict(kind='eigen', impl='index', view='flip', batch=args.batch)),
        ('eigen loss, index, translate',
         dict(kind='eigen', impl='index', view='translate', batch=args.batch)),
        ('eigen loss, dense Eq. 10, flip',
         dict(kind='eigen', impl='dense', view='flip', batch=dense_batch)),
    ]
    print(
        f'# URSS benchmark: {args.size}x{args.size} features, '
        f'{args.channels} channels, batch {args.batch}, '
        f'device {args.device}, median of {args.repeats}',
        flush=True)
    results = {}
    for name, spec in cases:
        spec.update(common)
        results[name] = (spec['batch'], measure(spec))
        print(f'  done: {name}', file=sys.stderr, flush=True)

    print()
    print('| case | batch | fwd+bwd (ms) | per image (ms) | peak (MiB) '
          '| per image (MiB) |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for name, (batch, res) in results.items():
        if 'error' in res:
            print(f'| {name} | {batch} | {res["error"]} | | | |')
            continue
        mark = ' (lower bound)' if res['flagged'] else ''
        print(f'| {name} | {batch} | {1e3 * res["time"]:.1f} '
              f'| {1e3 * res["time"] / batch:.1f} '
              f'| {mib(res["peak"]):.1f}{mark} '
              f'| {mib(res["peak"]) / batch:.1f} |')

    def per_image(name):
        batch, res = results[name]
        if 'error' in res:
            return None
        return res['time'] / batch, res['peak'] / batch

    print()
    base = per_image('head, no walk')
    for name in ('head, walk raw (paper)', 'head, walk projected (authors)'):
        walk = per_image(name)
        if base and walk:
            print(f'- {name} vs no walk, per image: '
                  f'time x{walk[0] / base[0]:.2f}, '
                  f'peak memory +{mib(walk[1] - base[1]):.1f} MiB')
    index = per_image('eigen loss, index, flip')
    dense = per_image('eigen loss, dense Eq. 10, flip')
    if index and dense:
        print(f'- eigen loss dense / index, per image: '
              f'time x{dense[0] / index[0]:.1f}, '
              f'peak memory x{dense[1] / max(index[1], 1):.1f}')


if __name__ == '__main__':
    main()
