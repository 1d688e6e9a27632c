# Copyright (c) mmscribble contributors. All rights reserved.
"""Speed and memory of every head and loss, and of each method's training
iteration relative to partial cross-entropy: one command.

Seven sections, printed as markdown:

1. URSS (``tools/benchmark/bench_urss.py``, run as is): forward + backward
   of the head's feature path without / with the random walk, and of the
   eigenspace loss with ``T_phi(P)`` by index operations next to the dense
   Eq. 10 (at the largest batch whose matrices fit ``--dense-budget-gb``),
   with per-image ratios. Paper size: 59x59 features, 512 channels,
   batch 8.
2. BLPSeg's LAM (``tools/benchmark/bench_lam.py``, run as is): local
   window next to the dense ``(hw, hw)`` matrix, per-image ratios. Paper
   sizes: 96x96 and 128x128 logits, batch 10, 21 classes.
3. The per-pixel losses (``tools/benchmark/bench_losses.py``, run as is):
   partial CE and soft entropy on URSS's logits, partial CE, BLP loss,
   annotation WCE and partial focal loss on BLPSeg's, each against partial
   CE on the same logits. Paper sizes: 465x465 / batch 8 and 384x384 /
   batch 10, 21 classes.
4. CDSP (``tools/benchmark/bench_cdsp.py``): LoRM in query chunks next to
   the dense ``HW x HW`` form, and the exact distance transform next to
   the authors' point-by-point loop. Paper size: 59x59 cells, 2048
   channels, batch 16.
5. Soft self-labeling (``tools/benchmark/bench_softsl.py``): the
   reference and the fast pseudo-label solver on the same logits (time,
   energy, gap to the closed-form optimum of the quadratic pair) and the
   training step with each against partial CE.
6. SPML (``tools/benchmark/bench_spml.py``): the embedding loss, and the
   64-step random walk as products with the class maps next to 6
   squarings of the transition matrix.
7. Training iteration of each method of the MSCMR table
   (``configs/benchmark/mscmr/``, one config per method; label variants
   share their method's model and are left out), on the same backbone and
   input: ``model.train_step`` (data preprocessing, forward, backward,
   optimizer step) on one fixed synthetic batch of the config's crop and
   batch size. Every phase of a config's ``PhaseSwitchHook`` is a row of
   its own (URSS with the eigenspace view on, BLPSeg in self-training).
   All models live in this one process and are timed side by side: each
   round runs one step of every row, in turn, so that a change of machine
   load hits every row alike; the table gives the median over rounds and
   the ratio to the partial-CE row.

Usage::

    python tools/benchmark/speed_table.py            # quick: ~5 min, 2 cores
    python tools/benchmark/speed_table.py --paper    # papers' sizes: ~20 min
    python tools/benchmark/speed_table.py --skip-heads --repeats 5
    python tools/benchmark/speed_table.py --device cuda --paper

Flags: ``--paper`` (the papers' sizes in sections 1-6; the quick default
uses 33x33 / batch 2 for URSS and 48x48, 64x64 / batch 2 for the LAM),
``--repeats N`` (timed passes or rounds per case), ``--threads N`` (torch
threads), ``--device``, ``--dense-budget-gb`` (memory that bounds the
batch of the dense forms), ``--skip-heads`` / ``--skip-train`` (drop
sections 1-6 / 7), ``--configs`` (section 7's configs), ``--batch``
(section 7's batch; default: each config's).
"""
import argparse
import glob
import os.path as osp
import statistics
import subprocess
import sys
import time

import torch

from mmscribble.benchmark.harness import add_measure_args
from mmscribble.utils.cli import positive_float, positive_int

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
CONFIG_DIR = osp.join(ROOT, 'configs', 'benchmark', 'mscmr')
QUICK = dict(
    urss=['--size', '33', '--channels', '512', '--batch', '2'],
    lam=['--sizes', '48', '64', '--local-batch', '2', '--classes', '21'],
    losses=[],
    cdsp=['--sizes', '30', '59', '--channels', '256'],
    softsl=['--size', '48', '--batch', '1', '--oracle-size', '12'],
    spml=['--loss-sizes', '32', '--walk-sizes', '24', '48'])
PAPER = dict(
    urss=['--size', '59', '--channels', '512', '--batch', '8'],
    lam=['--sizes', '96', '128', '--local-batch', '10', '--classes', '21'],
    losses=['--paper'],
    cdsp=['--sizes', '59', '--channels', '2048', '--batch', '16'],
    softsl=['--size', '81', '--batch', '8', '--oracle-size', '24'],
    spml=['--loss-sizes', '128', '--batch', '12', '--walk-sizes', '64',
          '128'])
# Bench scripts with a dense reference whose batch --dense-budget-gb bounds.
DENSE = ('urss', 'lam', 'cdsp')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Speed / memory of every head and loss, and training '
        'iteration time of each method vs partial CE')
    parser.add_argument(
        '--paper',
        action='store_true',
        help="papers' sizes for the heads and losses (slow on a CPU)")
    add_measure_args(
        parser,
        repeats=3,
        repeats_help='timed passes per case / rounds of training steps')
    parser.add_argument(
        '--dense-budget-gb',
        type=positive_float,
        default=None,
        help='memory that bounds the batch of the dense forms (default: '
        'the bench scripts\' own)')
    parser.add_argument(
        '--skip-heads',
        action='store_true',
        help='skip the head / loss benchmarks (sections 1-6)')
    parser.add_argument(
        '--skip-train',
        action='store_true',
        help='skip the training-iteration comparison (section 7)')
    parser.add_argument(
        '--configs',
        nargs='+',
        default=None,
        help='configs of section 7 (default: configs/benchmark/mscmr/*.py '
        'trained on the real scribbles)')
    parser.add_argument(
        '--batch',
        type=positive_int,
        default=None,
        help="section 7's batch size (default: each config's)")
    return parser.parse_args(argv)


def bench_argv(name, args):
    """Command-line arguments of ``bench_<name>.py`` for this run."""
    argv = list((PAPER if args.paper else QUICK)[name])
    argv += ['--repeats', str(args.repeats), '--device', args.device]
    if args.threads:
        argv += ['--threads', str(args.threads)]
    if args.dense_budget_gb and name in DENSE:
        argv += ['--dense-budget-gb', str(args.dense_budget_gb)]
    return argv


def run_bench(name, args):
    """Run ``bench_<name>.py`` (beside this script) in its own process,
    printing to this one's output; an error in it stops the table."""
    sys.stdout.flush()
    subprocess.run(
        [sys.executable,
         osp.join(HERE, f'bench_{name}.py'), *bench_argv(name, args)],
        check=True)


# ---------------------------------------------------------------------------
# Section 7: training iterations, side by side.
# ---------------------------------------------------------------------------
def _strip_pretrained(node):
    """Drop ``Pretrained`` inits: timing does not depend on the weights."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            return None
        return type(node)({k: _strip_pretrained(v) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_strip_pretrained(v) for v in node)
    return node


def synthetic_batch(num_classes, crop, batch, seed=0):
    """A training batch with every map the heads read.

    Images are uniform noise; each image has a 3-pixel-wide horizontal
    stroke of every class (about 6% of a 161x161 crop labeled, like
    MSCMR), a valid mask of ones, a SLIC-like boundary map (every 8th row
    and column), its image tags, and for CDSP and SPML a dense
    pseudo-label (horizontal bands of every class), its two distance maps
    (ramps) and an over-segmentation (16x16 blocks).

    Returns:
        dict: ``inputs`` and ``data_samples``, as a data loader yields.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    h, w = crop
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    boundary = torch.zeros(1, h, w, dtype=torch.uint8)
    boundary[:, ::8, :] = 1
    boundary[:, :, ::8] = 1
    rows = torch.arange(h)[:, None].expand(h, w)
    cols = torch.arange(w)[None, :].expand(h, w)
    pseudo = (rows * num_classes // h).to(torch.uint8)[None]
    superpixel = ((rows // 16) * ((w + 15) // 16) + cols // 16).to(
        torch.int32)[None]
    ramp = torch.linspace(0, 255, h * w).view(1, h, w)
    for _ in range(batch):
        inputs.append(
            torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8))
        label = torch.full((1, h, w), 255, dtype=torch.uint8)
        for c in range(num_classes):
            row = (c + 1) * h // (num_classes + 1)
            label[0, row - 1:row + 2, w // 8:w - w // 8] = c
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label)
        sample.gt_valid_mask = PixelData(
            data=torch.ones(1, h, w, dtype=torch.uint8))
        sample.gt_boundary_map = PixelData(data=boundary.clone())
        sample.gt_pseudo_seg = PixelData(data=pseudo.clone())
        sample.gt_distance_map = PixelData(data=ramp.clone())
        sample.gt_distance_pseudo = PixelData(data=ramp.flip(-1))
        sample.gt_superpixel = PixelData(data=superpixel.clone())
        sample.set_metainfo(
            dict(
                img_shape=(h, w),
                ori_shape=(h, w),
                img_tags=list(range(num_classes))))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _phases(cfg):
    """``[(name, {path: value})]``: the start state and each phase."""
    rows = [('start', {})]
    state = {}
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('type') != 'PhaseSwitchHook':
            continue
        for phase in sorted(hook['phases'], key=lambda p: p['begin']):
            state = dict(state, **phase['set'])
            label = ', '.join(f'{k.split(".")[-1]}={v}'
                              for k, v in phase['set'].items())
            rows.append((f'from iter {phase["begin"]}: {label}', state))
    return rows


def build_rows(config_paths, args):
    """One row per (config, phase): model, optimizer, batch, phase state."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmscribble  # noqa: F401  (registers the components)
    from mmscribble.engine.hooks.phase_switch_hook import set_by_path
    init_default_scope('mmseg')
    rows = []
    for path in config_paths:
        cfg = Config.fromfile(path)
        meta = cfg.get('benchmark', None) or {}
        head = cfg.model.decode_head.type
        if MODELS.get(head) is None:
            print(f'skipped {path}: {head} is not registered', flush=True)
            continue
        model = MODELS.build(_strip_pretrained(cfg.model)).to(args.device)
        model.train()
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
        crop = tuple(cfg.crop_size)
        batch = args.batch or cfg.train_dataloader.batch_size
        data = synthetic_batch(model.decode_head.num_classes, crop, batch)
        name = meta.get('method', osp.basename(path).split('_')[0])
        for phase, state in _phases(cfg):

            def apply(model=model, state=state):
                for key, value in state.items():
                    set_by_path(model, key, value)

            rows.append(
                dict(
                    method=name,
                    phase=phase,
                    baseline=bool(meta.get('baseline', False)),
                    model=model,
                    optim=optim,
                    data=data,
                    apply=apply,
                    batch=batch,
                    crop=crop,
                    undo={k: _get(model, k)
                          for k in state},
                    times=[]))
    return rows


def _get(model, key):
    from mmscribble.engine.hooks.phase_switch_hook import get_by_path
    return get_by_path(model, key)


def _step(row, sync):
    from mmscribble.engine.hooks.phase_switch_hook import set_by_path
    row['apply']()
    start = time.perf_counter()
    row['model'].train_step(row['data'], row['optim'])
    sync()
    elapsed = time.perf_counter() - start
    for key, value in row['undo'].items():
        set_by_path(row['model'], key, value)
    return elapsed


def train_section(args):
    if args.configs:
        paths = args.configs
    else:
        from mmscribble.benchmark.mscmr.rows import discover
        paths = [
            osp.join(ROOT, r['config'])
            for r in discover(sorted(glob.glob(osp.join(CONFIG_DIR, '*.py'))))
            if r['labels'] == 'scribbles'
        ]
    for p in paths:
        if not osp.isfile(p):
            raise FileNotFoundError(f'config file not found: {p}')
    torch.manual_seed(0)
    rows = build_rows(paths, args)
    if not rows:
        print('no config to time')
        return
    cuda = args.device.startswith('cuda')

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for row in rows:  # warm-up: first-call allocations, kernel selection
        _step(row, sync)
    for r in range(args.repeats):
        for row in rows:
            row['times'].append(_step(row, sync))
        print(
            f'  round {r + 1}/{args.repeats} done',
            file=sys.stderr,
            flush=True)
    base = next((r for r in rows if r['baseline'] and r['phase'] == 'start'),
                None)
    base_t = statistics.median(base['times']) if base else None
    first = rows[0]
    print(f'\n## Training iteration, side by side (batch {first["batch"]}, '
          f'crop {first["crop"][0]}x{first["crop"][1]}, device '
          f'{args.device}, {torch.get_num_threads()} thread(s), median of '
          f'{args.repeats} rounds)\n')
    print('| method | phase | step (s) | per image (ms) | vs partial CE |')
    print('| --- | --- | ---: | ---: | ---: |')
    for row in rows:
        t = statistics.median(row['times'])
        ratio = f'x{t / base_t:.2f}' if base_t else 'n/a'
        print(f'| {row["method"]} | {row["phase"]} | {t:.2f} '
              f'| {1e3 * t / row["batch"]:.0f} | {ratio} |')


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.skip_heads:
        size = 'papers\' sizes' if args.paper else 'quick sizes (--paper ' \
            'for the papers\')'
        print(f'## URSS random walk and eigenspace loss, {size}\n', flush=True)
        run_bench('urss', args)
        print(f'\n## BLPSeg local aggregation module, {size}\n', flush=True)
        run_bench('lam', args)
        print(f'\n## Per-pixel losses, {size}\n', flush=True)
        run_bench('losses', args)
        print(f'\n## CDSP: LoRM chunked vs dense, distance transform vs '
              f'the authors\' loop, {size}\n', flush=True)
        run_bench('cdsp', args)
        print(f'\n## Soft self-labeling: reference vs fast solver, {size}\n',
              flush=True)
        run_bench('softsl', args)
        print(f'\n## SPML: embedding loss, random walk by products vs '
              f'squaring, {size}\n', flush=True)
        run_bench('spml', args)
    if not args.skip_train:
        train_section(args)


if __name__ == '__main__':
    main()
