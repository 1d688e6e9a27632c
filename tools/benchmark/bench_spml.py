# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of SPML's embedding loss and stage-2 random walk.

1. Embedding loss (``SPMLHead.embedding_losses``): forward + backward of
   spherical k-means (36 clusters, 10 iterations), the split by label
   and superpixel, the prototypes and the three SegSort+ losses of the
   VOC default (semantic, image, co-occurrence) against a memory bank of
   2 previous batches, on a ``64``-d unit embedding of ``S x S`` cells
   (the paper: 128 x 128 cells of a 512 crop at stride 4, batch 12).
2. Random walk (Algorithm 1): 64 steps on ``C = 21`` class maps of
   ``S x S`` cells, as 64 products of ``T`` with the class maps
   (``matvec``, here) or by squaring ``T`` six times (``squaring``, the
   authors'), with the largest difference of the two results.

Method (spawned process per case, median time, peak above the pre-pass
level) as the other bench scripts, through ``harness.py``.

Usage::

    python tools/benchmark/bench_spml.py                      # CPU, ~1 min
    python tools/benchmark/bench_spml.py --device cuda \\
        --loss-sizes 64 128 --batch 12 --walk-sizes 64 128   # paper's size

``speed_table.py`` can run it as the other bench scripts:
``bench_spml.main(bench_argv('spml', args))`` with ``QUICK['spml'] =
['--loss-sizes', '32', '--walk-sizes', '24', '48']`` and
``PAPER['spml'] = ['--loss-sizes', '128', '--batch', '12',
'--walk-sizes', '64', '128']``.
"""
import argparse
import os.path as osp
import sys

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401
from mmscribble.models.heads.spml_head import SPMLHead
from mmscribble.models.layers.spml_random_walk import (random_walk_matvec,
                                                       random_walk_squaring,
                                                       spml_transition)

_HERE = osp.dirname(osp.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from harness import add_measure_args, measure_in_subprocess  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark SPML: embedding loss, random walk by '
        'mat-vec products vs matrix squaring')
    parser.add_argument(
        '--loss-sizes',
        type=int,
        nargs='+',
        default=[32, 64],
        help='embedding sides in cells (128 = 512 crop)')
    parser.add_argument('--batch', type=int, default=2, help='images')
    parser.add_argument(
        '--walk-sizes',
        type=int,
        nargs='+',
        default=[24, 48],
        help='walk map sides in cells')
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument(
        '--skip-loss', action='store_true', help='time the random walk only')
    add_measure_args(parser, repeats=2)
    args = parser.parse_args(argv)
    if min(args.loss_sizes + args.walk_sizes) < 2 or args.batch < 1 or \
            args.repeats < 1 or args.classes < 2:
        parser.error('sizes >= 2, --batch, --repeats >= 1, --classes >= 2')
    return args


def _samples(n, size, stride=4):
    full = size * stride
    out = []
    for i in range(n):
        s = SegDataSample()
        lab = torch.full((1, full, full), 255, dtype=torch.long)
        lab[0, full // 8:full // 8 + 3, :full // 2] = 0
        lab[0, full // 2:full // 2 + 3, full // 4:] = 1 + i % 20
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(
            data=torch.ones(1, full, full, dtype=torch.uint8))
        blocks = torch.arange(full) // max(full // 6, 1)
        sp = (blocks[:, None] * 7 + blocks[None]).int()[None]
        s.gt_superpixel = PixelData(data=sp)
        s.set_metainfo(
            dict(
                img_shape=(full, full),
                pad_shape=(full, full),
                img_tags=[0, 1 + i % 20]))
        out.append(s)
    return out


def _loss_step(spec):
    device = torch.device(spec['device'])
    n, size = spec['batch'], spec['size']
    head = SPMLHead(
        in_channels=[4, 4],
        in_index=[0, 1],
        channels=4,
        num_classes=21,
        loss_decode=dict(type='PartialCrossEntropyLoss')).to(device)
    samples = [s.to(device) for s in _samples(n, size)]
    raw = torch.randn(n, 64, size, size, device=device, requires_grad=True)
    with torch.no_grad():
        for _ in range(2):  # fill the memory bank
            head.embedding_losses(F.normalize(raw, dim=1), samples)

    def step():
        raw.grad = None
        losses = head.embedding_losses(F.normalize(raw, dim=1), samples)
        sum(losses.values()).backward()

    return step


def smooth_embedding(size, device, seed=0):
    """A spatially smooth unit embedding (pooled noise), so that the
    transition is far from the identity, as for a trained embedding (an
    i.i.d. random one makes ``T`` the identity to float precision)."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, 64, size, size, generator=g)
    k = max(size // 4, 1) | 1
    return F.normalize(
        F.avg_pool2d(noise, k, 1, k // 2, count_include_pad=False),
        dim=1).to(device)


def _walk_step(spec):
    device = torch.device(spec['device'])
    size = spec['size']
    emb = smooth_embedding(size, device)
    trans = spml_transition(emb)
    scores = torch.rand(1, spec['classes'], size * size, device=device)

    def step():
        if spec['form'] == 'matvec':
            random_walk_matvec(scores, trans, 64)
        else:
            random_walk_squaring(scores, trans, 6)

    return step


def measure(build, spec, tiny):
    return measure_in_subprocess(build, spec, dict(spec, **tiny))


def _mib(x):
    return x / 2**20


def loss_section(args):
    print(
        f'# SPML embedding loss: 64-d, batch {args.batch}, device '
        f'{args.device}, median of {args.repeats}\n',
        flush=True)
    print('| cells | fwd+bwd (ms) | per image (ms) | peak (MiB) |')
    print('| --- | ---: | ---: | ---: |')
    for size in args.loss_sizes:
        spec = dict(
            size=size,
            batch=args.batch,
            repeats=args.repeats,
            device=args.device,
            threads=args.threads)
        res = measure(_loss_step, spec, dict(size=4, batch=1))
        if 'error' in res:
            print(f'| {size}x{size} | {res["error"]} | | |')
            continue
        mark = ' (lower bound)' if res['flagged'] else ''
        print(
            f'| {size}x{size} | {1e3 * res["time"]:.0f} '
            f'| {1e3 * res["time"] / args.batch:.0f} '
            f'| {_mib(res["peak"]):.0f}{mark} |',
            flush=True)


def walk_section(args):
    print(
        f'\n# SPML random walk, 64 steps, {args.classes} classes, one '
        f'image, device {args.device}\n',
        flush=True)
    print('| cells | form | time (ms) | peak (MiB) | max diff to squaring '
          '| max change by the walk |')
    print('| --- | --- | ---: | ---: | ---: | ---: |')
    for size in args.walk_sizes:
        emb = smooth_embedding(size, args.device)
        trans = spml_transition(emb)
        scores = torch.rand(1, args.classes, size * size, device=args.device)
        walked = random_walk_matvec(scores, trans, 64)
        diff = (walked -
                random_walk_squaring(scores, trans, 6)).abs().max().item()
        moved = (walked - scores).abs().max().item()
        del emb, trans, scores
        for form in ('matvec', 'squaring'):
            spec = dict(
                size=size,
                form=form,
                classes=args.classes,
                repeats=args.repeats,
                device=args.device,
                threads=args.threads)
            res = measure(_walk_step, spec, dict(size=4))
            if 'error' in res:
                print(f'| {size}x{size} | {form} | {res["error"]} | | | |')
                continue
            mark = ' (lower bound)' if res['flagged'] else ''
            print(
                f'| {size}x{size} | {form} | {1e3 * res["time"]:.1f} '
                f'| {_mib(res["peak"]):.0f}{mark} '
                f'| {diff:.1e} | {moved:.2f} |',
                flush=True)


def main(argv=None):
    args = parse_args(argv)
    if not args.skip_loss:
        loss_section(args)
    walk_section(args)


if __name__ == '__main__':
    main()
