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
level) as the other bench scripts, through ``harness``.

Usage::

    python tools/benchmark/bench_spml.py                      # CPU, ~1 min
    python tools/benchmark/bench_spml.py --device cuda \\
        --loss-sizes 64 128 --batch 12 --walk-sizes 64 128   # paper's size
    # MSCMR: the SPML stage-1 row's step against the partial CE row's
    python tools/benchmark/bench_spml.py --skip-loss --walk-sizes \\
        --threads 1 --data-root data/mscmr --step-configs \\
        configs/benchmark/mscmr/pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \\
        configs/benchmark/mscmr/spml-stage1_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py

3. Training step of configs side by side (``--step-configs``): each
   config's model, optimizer and training batches (its own pipeline on
   the same dataset indices) built in this one process, then
   ``train_step`` of every config in turn, ``--step-repeats`` rounds
   (interleaved, so load on the machine hits all alike), medians; the
   data pipeline of one batch timed alike; and for ``SPMLHead`` configs
   the forward time of each part of the embedding losses (k-means, split,
   relations, logits, SegSort+), the segment counts, and the operators of
   one more step by self CPU time (``torch.profiler``).

``speed_table.py`` can run it as the other bench scripts:
``bench_spml.main(bench_argv('spml', args))`` with ``QUICK['spml'] =
['--loss-sizes', '32', '--walk-sizes', '24', '48']`` and
``PAPER['spml'] = ['--loss-sizes', '128', '--batch', '12',
'--walk-sizes', '64', '128']``.
"""
import argparse
import os.path as osp
import time

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmscribble  # noqa: F401
from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.models.heads.spml_head import SPMLHead
from mmscribble.models.layers.spml_random_walk import (random_walk_matvec,
                                                       random_walk_squaring,
                                                       spml_transition)
from mmscribble.utils.cli import mib


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
        nargs='*',
        default=[24, 48],
        help='walk map sides in cells (none: no walk section)')
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument(
        '--skip-loss', action='store_true', help='time the random walk only')
    parser.add_argument(
        '--step-configs',
        nargs='+',
        default=[],
        metavar='CONFIG',
        help='time one training step of each config side by side '
        '(interleaved, in this process)')
    parser.add_argument(
        '--data-root',
        default=None,
        help='train_dataloader.dataset.data_root of --step-configs')
    parser.add_argument(
        '--step-repeats',
        type=int,
        default=5,
        help='timed rounds of --step-configs (after one untimed round)')
    add_measure_args(parser, repeats=2)
    args = parser.parse_args(argv)
    if min(args.loss_sizes + args.walk_sizes + [2]) < 2 or \
            args.batch < 1 or args.repeats < 1 or args.classes < 2 or \
            args.step_repeats < 1:
        parser.error('sizes >= 2, --batch, --repeats, --step-repeats >= 1, '
                     '--classes >= 2')
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
            f'| {mib(res["peak"]):.0f}{mark} |',
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
                f'| {mib(res["peak"]):.0f}{mark} '
                f'| {diff:.1e} | {moved:.2f} |',
                flush=True)


class _PartTimer:
    """Forward seconds of the parts of ``SPMLHead.embedding_losses`` per
    step of the case named ``case``, by wrapping the functions the head
    module calls; restored by :meth:`restore`."""

    PARTS = ('spherical_kmeans', 'split_segments', 'segment_prototypes',
             'spml_relation_groups', 'segment_logits')

    def __init__(self):
        import mmscribble.models.heads.spml_head as mod
        from mmscribble.models.losses.segsort_loss import SegSortLoss
        self.mod, self.cls = mod, SegSortLoss
        self.case = None
        self.times = {}  # case -> part -> [seconds per step]
        self.shapes = {}  # case -> [(P, S) per step]
        self.orig = {p: getattr(mod, p) for p in self.PARTS}
        self.orig['segsort+'] = SegSortLoss.forward_grouped
        for name in self.PARTS:
            setattr(mod, name, self._wrap(name, self.orig[name]))
        wrapped = self._wrap('segsort+', self.orig['segsort+'])
        SegSortLoss.forward_grouped = lambda loss, *a, **k: wrapped(
            loss, *a, **k)

    def _wrap(self, name, fn):

        def timed(*a, **k):
            times = self.times.setdefault(self.case, {})
            if name == 'spherical_kmeans':  # first part of a step
                for part in self.orig:
                    times.setdefault(part, []).append(0.0)
            start = time.perf_counter()
            out = fn(*a, **k)
            times[name][-1] += time.perf_counter() - start
            if name == 'segment_logits':
                self.shapes.setdefault(self.case, []).append(
                    (a[0].shape[0], a[1].shape[0]))
            return out

        return timed

    def restore(self):
        for name in self.PARTS:
            setattr(self.mod, name, self.orig[name])
        self.cls.forward_grouped = self.orig['segsort+']


def _build_step_case(path, data_root, batch_ids):
    """Model, optimizer wrapper and training batches of one config."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS, MODELS
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    ds_cfg = cfg.train_dataloader.dataset
    if data_root:
        ds_cfg.data_root = data_root
    dataset = DATASETS.build(ds_cfg)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)

    def batch(ids):
        return pseudo_collate([dataset[i % len(dataset)] for i in ids])

    return dict(
        name=osp.basename(path).split('_')[0],
        model=model,
        optim=optim,
        batch=batch,
        batches=[batch(ids) for ids in batch_ids],
        spml=isinstance(model.decode_head, SPMLHead))


def step_section(args):
    """Training steps of ``--step-configs`` side by side (see the module
    notes): medians of the interleaved rounds."""
    import random
    import statistics
    from mmengine.config import Config
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    random.seed(0)
    bs = int(Config.fromfile(args.step_configs[0]).train_dataloader
             .batch_size)
    rounds = args.step_repeats + 1
    gen = random.Random(0)
    batch_ids = [[gen.randrange(1 << 20) for _ in range(bs)]
                 for _ in range(rounds)]
    cases = [
        _build_step_case(p, args.data_root, batch_ids)
        for p in args.step_configs
    ]
    timer = _PartTimer()
    try:
        step_t = {c['name']: [] for c in cases}
        data_t = {c['name']: [] for c in cases}
        for r in range(rounds):
            for c in cases:
                start = time.perf_counter()
                c['batch'](batch_ids[r])
                data_s = time.perf_counter() - start
                timer.case = c['name']
                start = time.perf_counter()
                c['model'].train_step(c['batches'][r], c['optim'])
                step_s = time.perf_counter() - start
                if r:  # the first round is untimed
                    step_t[c['name']].append(step_s)
                    data_t[c['name']].append(data_s)
        base = statistics.median(step_t[cases[0]['name']])
        print(
            f'\n# Training step, batch {bs}, {torch.get_num_threads()} '
            f'thread(s), median of {args.step_repeats} interleaved rounds '
            '(after one untimed)\n',
            flush=True)
        print('| config | step (s) | vs first | data pipeline of the batch '
              '(s) |')
        print('| --- | ---: | ---: | ---: |')
        for c in cases:
            med = statistics.median(step_t[c['name']])
            print(f'| {c["name"]} | {med:.2f} | {med / base:.2f} '
                  f'| {statistics.median(data_t[c["name"]]):.2f} |')
        spml = [c for c in cases if c['spml']]
        for c in spml:
            k = args.step_repeats
            parts = timer.times[c['name']]
            print(f'\n{c["name"]}: embedding losses, forward seconds per '
                  f'step (median of the timed steps); (P positions, S '
                  f'segments incl. memory) of each timed step: '
                  f'{timer.shapes[c["name"]][-k:]}\n')
            for part, vals in parts.items():
                print(f'- {part}: {statistics.median(vals[-k:]):.3f}')
        from torch.profiler import ProfilerActivity, profile
        timer.case = None
        for c in spml:
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                c['model'].train_step(c['batches'][-1], c['optim'])
            print(f'\nOperators of one more {c["name"]} step by self CPU '
                  'time:\n')
            print(
                prof.key_averages().table(
                    sort_by='self_cpu_time_total', row_limit=12))
    finally:
        timer.restore()


def main(argv=None):
    args = parse_args(argv)
    if not args.skip_loss:
        loss_section(args)
    if args.walk_sizes:
        walk_section(args)
    if args.step_configs:
        step_section(args)


if __name__ == '__main__':
    main()
