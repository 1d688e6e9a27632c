# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of CDSP's LoRM and distance transform.

1. LoRM (Eq. 10-13), forward + backward of ``MSE(F, LoRM(F))`` on
   ``C``-channel features of ``S x S`` cells (the paper: 2048 channels,
   59 x 59 cells of a 465 crop, batch 16):

   * ``chunked``: :func:`lorm_rectify`, ``--chunk`` query rows at a time,
     each chunk recomputed in the backward pass;
   * ``dense``: :func:`lorm_rectify_dense`, the ``(HW, HW)`` affinity.

   Projections are 1x1 convolutions ``C -> C`` as in the paper; the
   masks are a random 40% foreground. Method (spawned process per case,
   median time, peak above the pre-pass level) as in ``bench_lam.py``,
   through ``harness``.

2. Distance maps (Eq. 14, 16) of the fixture image (281 x 500, its
   scribbles and pseudo-label): the exact Euclidean distance transform
   used here against the authors' O(points x pixels) loop
   (:func:`brute_force_scaled_distance`), wall time of one map each.

Usage::

    python tools/benchmark/bench_cdsp.py                    # ~1 min, CPU
    python tools/benchmark/bench_cdsp.py --sizes 59 --channels 2048 \\
        --device cuda --batch 16                            # paper's size

``speed_table.py`` can run it as the other bench scripts:
``bench_cdsp.main(bench_argv('cdsp', args))`` with ``QUICK['cdsp'] =
['--sizes', '30', '59', '--channels', '256']`` and ``PAPER['cdsp'] =
['--sizes', '59', '--channels', '2048', '--batch', '16']``.
"""
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch
import torch.nn as nn

from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.datasets.transforms.distance_maps import (
    brute_force_scaled_distance, foreground_scribbles, pseudo_label_boundary,
    scale_truncate, squared_distance_to)
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.models.layers.lorm import lorm_rectify, lorm_rectify_dense
from mmscribble.models.losses.lorm_loss import lorm_mse_loss
from mmscribble.utils.cli import mib

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURE = osp.join(ROOT, 'tests/data/voc_scribble_fixture')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark CDSP: LoRM chunked vs dense, distance '
        'transform vs brute force')
    parser.add_argument(
        '--sizes',
        type=int,
        nargs='+',
        default=[30, 59],
        help='feature map sides (59 = 465 crops at stride 8)')
    parser.add_argument(
        '--channels',
        type=int,
        default=256,
        help='feature channels (paper: 2048)')
    parser.add_argument('--batch', type=int, default=2, help='images')
    parser.add_argument(
        '--chunk', type=int, default=1024, help='query rows per chunk')
    parser.add_argument(
        '--dense-budget-gb',
        type=float,
        default=3.,
        help='bound on the dense batch: 4 float (HW, HW) matrices/image')
    parser.add_argument(
        '--skip-distance',
        action='store_true',
        help='do not time the distance transforms')
    add_measure_args(parser, repeats=2)
    args = parser.parse_args(argv)
    for name in ('channels', 'batch', 'chunk', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be a positive int')
    if any(s < 1 for s in args.sizes):
        parser.error('--sizes must be positive ints')
    if args.dense_budget_gb <= 0:
        parser.error('--dense-budget-gb must be positive')
    return args


def _build_step(spec):
    device = torch.device(spec['device'])
    n, c, s = spec['batch'], spec['channels'], spec['size']
    feat = torch.randn(n, c, s, s, device=device, requires_grad=True)
    proj_q = nn.Conv2d(c, c, 1).to(device)
    proj_k = nn.Conv2d(c, c, 1).to(device)
    mask = (torch.rand(n, s, s, device=device) < 0.4).float()

    def step():
        feat.grad = None
        q, k = proj_q(feat), proj_k(feat)
        if spec['form'] == 'dense':
            out = lorm_rectify_dense(feat, q, k, mask)
        else:
            out = lorm_rectify(feat, q, k, mask, chunk_size=spec['chunk'])
        lorm_mse_loss(feat, out).backward()

    return step


def measure(spec):
    """One case in a spawned process (see ``harness``)."""
    return measure_in_subprocess(_build_step, spec,
                                 dict(spec, batch=1, size=4, channels=4))


def lorm_section(args):
    print(
        f'# LoRM: {args.channels} channels, chunk {args.chunk}, device '
        f'{args.device}, median of {args.repeats}\n',
        flush=True)
    rows = []
    for size in args.sizes:
        per_image = 4 * 4 * (size * size)**2
        dense_n = max(
            1, min(args.batch, int(args.dense_budget_gb * 2**30 // per_image)))
        for form, batch in (('chunked', args.batch), ('dense', dense_n)):
            spec = dict(
                form=form,
                size=size,
                batch=batch,
                chunk=args.chunk,
                channels=args.channels,
                repeats=args.repeats,
                device=args.device,
                threads=args.threads)
            rows.append((size, form, batch, measure(spec)))
            print(f'  done: {form} {size}x{size}', file=sys.stderr, flush=True)
    print('| cells | form | batch | fwd+bwd (ms) | per image (ms) '
          '| peak (MiB) | per image (MiB) |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for size, form, batch, res in rows:
        if 'error' in res:
            print(f'| {size}x{size} | {form} | {batch} | {res["error"]} '
                  '| | | |')
            continue
        mark = ' (lower bound)' if res['flagged'] else ''
        print(f'| {size}x{size} | {form} | {batch} '
              f'| {1e3 * res["time"]:.0f} | {1e3 * res["time"] / batch:.0f} '
              f'| {mib(res["peak"]):.0f}{mark} '
              f'| {mib(res["peak"]) / batch:.1f} |')


def distance_section():
    scribble = read_label_png(
        osp.join(FIXTURE, 'pascal_2012_scribble/2007_000032.png'))
    pseudo = read_label_png(
        osp.join(FIXTURE, 'bmp_pseudolabel/2007_000032.png'))
    print('\n# Distance maps of 2007_000032 (281 x 500), one map, CPU\n')
    print('| map | source points | EDT (ms) | brute force (ms) | equal |')
    print('| --- | ---: | ---: | ---: | --- |')
    for name, src, lam in (('d_s (scribbles)', foreground_scribbles(scribble),
                            1.0), ('d_c (pseudo-label boundary)',
                                   pseudo_label_boundary(pseudo), 6.0)):
        start = time.perf_counter()
        fast = scale_truncate(squared_distance_to(src), lam)
        t_fast = time.perf_counter() - start
        start = time.perf_counter()
        slow = brute_force_scaled_distance(src, lam)
        t_slow = time.perf_counter() - start
        print(f'| {name} | {int(src.sum())} | {1e3 * t_fast:.1f} '
              f'| {1e3 * t_slow:.0f} | {bool(np.array_equal(fast, slow))} |')


def main(argv=None):
    args = parse_args(argv)
    lorm_section(args)
    if not args.skip_distance:
        distance_section()


if __name__ == '__main__':
    main()
