# Copyright (c) mmscribble contributors. All rights reserved.
"""Time and peak memory of the per-pixel losses, at each paper's logits.

Measures forward + backward (gradient w.r.t. the logits) of every loss the
heads apply pixel by pixel, on the logits the losses see in training
(upsampled to the crop, as mmseg's decode heads do):

* URSS (465x465 crops, batch 8, 21 classes): partial cross-entropy and the
  soft entropy off SLIC boundaries (Eq. 5; boundary map given);
* BLPSeg (384x384 crops, batch 10, 21 classes): partial cross-entropy, the
  BLP loss (Eq. 9-11, with the scribble head's ``K + 1`` logits), the
  annotation-probability WCE (Eq. 1-2) and the partial focal loss
  (Tab. II).

Every row is compared with partial cross-entropy on the same logits (the
cheapest loss there is on them). These losses have no naive dense form:
each is a sum over pixels. (The losses with a dense form, URSS's eigenspace
loss and BLPSeg's LAM, are in ``bench_urss.py`` / ``bench_lam.py``.)

Scribble-like labels: about 3% of the pixels are labeled (horizontal
strokes of every class), the rest 255; the boundary map marks ~10% of the
pixels as boundary.

Usage::

    python tools/benchmark/bench_losses.py                 # quick sizes
    python tools/benchmark/bench_losses.py --paper         # papers' sizes

Measurement: ``harness`` (each case in a freshly spawned process; one
untimed pass; median of ``--repeats`` timed passes under the default
allocator; the peak from one further pass).
"""
import argparse
import sys

import torch

from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.models.losses import (AnnotationProbabilityLoss, BLPLoss,
                                      PartialCrossEntropyLoss,
                                      PartialFocalLoss, SoftEntropyLoss)
from mmscribble.utils.cli import mib

NUM_CLASSES = 21
# (method, crop side, batch): the papers' training crops and batches.
PAPER = (('URSS', 465, 8), ('BLPSeg', 384, 10))
QUICK = (('URSS', 129, 2), ('BLPSeg', 96, 2))
LOSSES = dict(
    URSS=('partial CE', 'soft entropy'),
    BLPSeg=('partial CE', 'BLP', 'annotation WCE', 'partial focal'))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark the per-pixel losses of URSS and BLPSeg')
    parser.add_argument(
        '--paper',
        action='store_true',
        help="the papers' crops and batches (URSS 465 / 8, BLPSeg 384 / "
        '10); default: 129 / 2 and 96 / 2')
    add_measure_args(parser, repeats=3)
    args = parser.parse_args(argv)
    for name in ('repeats', 'threads'):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f'--{name} must be a positive int')
    return args


def scribble_labels(n, size, num_classes, generator):
    """``(n, size, size)`` int64: ~3% labeled in strokes, the rest 255."""
    label = torch.full((n, size, size), 255, dtype=torch.long)
    thick = max(1, size // 100)
    # A stroke of every class per image, ~3% of the pixels in all.
    length = max(1, int(0.03 * size * size / (num_classes * thick)))
    length = min(length, size)
    for i in range(n):
        for c in range(num_classes):
            y = int(torch.randint(0, size - thick + 1, (1, ),
                                  generator=generator))
            x = int(torch.randint(0, size - length + 1, (1, ),
                                  generator=generator))
            label[i, y:y + thick, x:x + length] = c
    return label


def _build_case(spec):
    """Return ``step()`` running one forward + backward of the case."""
    device = torch.device(spec['device'])
    n, s, k = spec['batch'], spec['size'], spec['classes']
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(n, k, s, s, generator=g).to(device)
    logits.requires_grad_(True)
    label = scribble_labels(n, s, k, g).to(device)
    loss = spec['loss']
    if loss == 'partial CE':
        module = PartialCrossEntropyLoss()

        def compute():
            return module(logits, label)
    elif loss == 'soft entropy':
        module = SoftEntropyLoss()
        boundary = (torch.rand(n, s, s, generator=g) < 0.1).long().to(device)

        def compute():
            return module(logits, boundary)
    elif loss in ('BLP', 'annotation WCE'):
        scrib = torch.randn(n, k + 1, s, s, generator=g).to(device)
        scrib.requires_grad_(True)
        if loss == 'BLP':
            module = BLPLoss(gamma=2.0)

            def compute():
                return module(logits, label, scrib_logits=scrib)
        else:
            module = AnnotationProbabilityLoss(unlabeled_weight=0.02)

            def compute():
                return module(scrib, label)
    elif loss == 'partial focal':
        module = PartialFocalLoss(gamma=2.0)

        def compute():
            return module(logits, label)
    else:
        raise ValueError(f'unknown loss {loss!r}')

    def step():
        compute().backward()

    return step


def measure(spec):
    """Measure ``spec`` in a spawned process; kernels loaded on a tiny case
    first."""
    return measure_in_subprocess(_build_case, spec,
                                 dict(spec, batch=1, size=8))


def main(argv=None):
    args = parse_args(argv)
    settings = PAPER if args.paper else QUICK
    print(
        f'# Per-pixel losses: {NUM_CLASSES} classes, device {args.device}, '
        f'median of {args.repeats}, forward + backward w.r.t. the logits',
        flush=True)
    results = []
    for method, size, batch in settings:
        for loss in LOSSES[method]:
            spec = dict(
                loss=loss,
                size=size,
                batch=batch,
                classes=NUM_CLASSES,
                repeats=args.repeats,
                device=args.device,
                threads=args.threads)
            results.append((method, size, batch, loss, measure(spec)))
            print(f'  done: {method} {loss}', file=sys.stderr, flush=True)

    print()
    print('| method | logits | batch | loss | fwd+bwd (ms) | per image (ms) '
          '| peak per image (MiB) | time vs partial CE |')
    print('| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |')
    base = {}
    for method, size, batch, loss, res in results:
        if loss == 'partial CE' and 'error' not in res:
            base[method] = res['time']
    for method, size, batch, loss, res in results:
        head = f'| {method} | {size}x{size} | {batch} | {loss} '
        if 'error' in res:
            print(head + f'| {res["error"]} | | | |')
            continue
        mark = ' (lower bound)' if res['flagged'] else ''
        ratio = (f'x{res["time"] / base[method]:.2f}'
                 if method in base else 'n/a')
        print(head + f'| {1e3 * res["time"]:.1f} '
              f'| {1e3 * res["time"] / batch:.1f} '
              f'| {mib(res["peak"]) / batch:.1f}{mark} | {ratio} |')


if __name__ == '__main__':
    main()
