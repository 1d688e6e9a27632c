# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft self-labeling: the pseudo-label solvers and the training step.

1. Solvers (:func:`solve_pseudo_labels`): the paper's setting
   (``REFERENCE_SOLVER``, 200 Adam steps at lr 0.075) against the fast one
   (``FAST_SOLVER``: 50 Adam steps at lr 0.2, or 50 conjugate-gradient
   iterations for the quadratic pair, where the 50 Adam steps are timed
   too as ``fast-adam``) on the same logits, scribbles and
   4-connected colour-affinity grid: wall time and the energy reached
   (``self_labeling_energy`` summed over the batch), for the paper's best
   pair (H_CCE + P_CD) and the quadratic pair, whose closed-form optimum
   (:func:`quadratic_pseudo_labels`, dense solve, small sizes only) gives
   the soft Jaccard to the optimum. The scene is synthetic and seeded:
   piecewise-constant images (``K`` regions from an upsampled noise
   argmax, Gaussian noise of 8 grey levels), logits = the smoothed one-hot
   truth plus noise (a network that is right on most pixels and soft at
   boundaries), 3% of pixels scribbled with the truth.
2. Training step (forward + backward + SGD update) of the MSCMR config
   ``configs/benchmark/mscmr/softsl_*`` (MobileNetV2 DeepLabV2, batch 8,
   161x161) with self-labeling on, with the fast and with the reference
   solver, against the partial-CE baseline config on the same batch.

Times are medians of ``--repeats`` passes in a spawned process
(``harness``).

Usage::

    python tools/benchmark/bench_softsl.py                     # CPU, ~3 min
    python tools/benchmark/bench_softsl.py --device cuda --repeats 5

``speed_table.py`` can run it as the other bench scripts:
``bench_softsl.main(bench_argv('softsl', args))`` with ``QUICK['softsl']
= ['--size', '96', '--batch', '2']`` and ``PAPER['softsl'] = ['--size',
'161', '--batch', '8']`` (the MSCMR crop and batch).
"""
import argparse
import copy
import os.path as osp
import sys
import time

import torch
import torch.nn.functional as F

from mmscribble.benchmark.harness import (add_measure_args,
                                          measure_in_subprocess)
from mmscribble.models.layers.potts import (FAST_SOLVER, REFERENCE_SOLVER,
                                            GridNeighbourhood,
                                            quadratic_pseudo_labels,
                                            self_labeling_energy,
                                            soft_jaccard, solve_pseudo_labels)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MSCMR = osp.join(ROOT, 'configs', 'benchmark', 'mscmr')
SOFTSL_CFG = osp.join(
    MSCMR, 'softsl_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-'
    '161x161.py')
PCE_CFG = osp.join(
    MSCMR, 'pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py')
PAIRS = (('collision', 'collision_divergence'), ('quadratic', 'quadratic'))
QUADRATIC = ('quadratic', 'quadratic')


def solvers(pair):
    """``(name, solver)`` rows for a pair: the reference, ``FAST_SOLVER``
    and, for the quadratic pair (where the fast solver is CG), the fast
    setting with Adam, as it was before CG."""
    rows = [('reference', REFERENCE_SOLVER), ('fast', FAST_SOLVER)]
    if tuple(pair) == QUADRATIC:
        rows.append(('fast-adam', dict(FAST_SOLVER, optimizer='adam')))
    return rows


def _label(name, solver, pair):
    """``fast (cg)``: the optimizer ``FAST_SOLVER``'s 'auto' resolves to."""
    opt = solver['optimizer']
    if opt == 'auto':
        opt = 'cg' if tuple(pair) == QUADRATIC else 'adam'
    return f'{name} ({opt})'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Benchmark soft self-labeling: reference vs fast '
        'pseudo-label solver, and the training step against partial CE')
    parser.add_argument('--size', type=int, default=96,
                        help='side of the solver grid')
    parser.add_argument('--batch', type=int, default=2, help='images')
    parser.add_argument('--classes', type=int, default=4,
                        help='classes of the solver scene (MSCMR: 4)')
    parser.add_argument('--oracle-size', type=int, default=24,
                        help='side of the grid of the closed-form check')
    parser.add_argument('--skip-train', action='store_true',
                        help='skip the training-step section')
    add_measure_args(parser, repeats=3)
    args = parser.parse_args(argv)
    for name in ('size', 'batch', 'classes', 'oracle_size', 'repeats'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be a positive '
                         'int')
    return args


def scene(n, k, size, seed=0, device='cpu'):
    """Synthetic image, logits and scribbles (module docstring)."""
    g = torch.Generator().manual_seed(seed)
    truth = F.interpolate(
        torch.randn(n, k, 6, 6, generator=g), size=(size, size),
        mode='bilinear').argmax(1)
    colours = torch.rand(k, 3, generator=g) * 255
    img = colours[truth].permute(0, 3, 1, 2) + torch.randn(
        n, 3, size, size, generator=g) * 8
    onehot = F.one_hot(truth, k).permute(0, 3, 1, 2).float()
    logits = 2 * F.avg_pool2d(
        3 * onehot + 2 * torch.randn(n, k, size, size, generator=g), 9, 1, 4)
    scribble = torch.full_like(truth, 255)
    mark = torch.rand(n, size, size, generator=g) < 0.03
    scribble[mark] = truth[mark]
    return img.to(device), logits.to(device), scribble.to(device)


def _solver_case(spec):
    img, logits, scribble = scene(spec['batch'], spec['classes'],
                                  spec['size'], device=spec['device'])
    nb = GridNeighbourhood.from_image(img, 9.0, 4)
    solver = dict(solvers(spec['pair']))[spec['solver']]
    h, p = spec['pair']

    def step():
        solve_pseudo_labels(logits, scribble, nb, h, p, 0.3, 6.0, **solver)

    return step


def _energy_and_jaccard(args, pair, size, oracle):
    img, logits, scribble = scene(args.batch, args.classes, size,
                                  device=args.device)
    if oracle:
        img, logits, scribble = (img.double(), logits.double(), scribble)
    nb = GridNeighbourhood.from_image(img, 9.0, 4)
    fixed_nb = nb.without_fixed_pairs(scribble != 255)
    out = {}
    opt = None
    if oracle:
        opt = quadratic_pseudo_labels(logits, scribble, nb.dense_weights(),
                                      0.3, 6.0)
        out['optimum'] = self_labeling_energy(opt, logits, scribble,
                                              fixed_nb, *pair).sum().item()
    for name, solver in solvers(pair):
        y = solve_pseudo_labels(logits, scribble, nb, *pair, 0.3, 6.0,
                                **solver)
        energy = self_labeling_energy(y, logits, scribble, fixed_nb,
                                      *pair).sum().item()
        jac = soft_jaccard(y, opt, scribble == 255).item() if oracle else None
        out[name] = (energy, jac)
    return out


def solver_section(args):
    print(f'# Solvers: {args.batch} x {args.classes} classes x {args.size}^2,'
          f' 4-connected, bandwidth 9, eta 0.3, lambda 6, device '
          f'{args.device}, median of {args.repeats}\n', flush=True)
    print('| H + P | solver | steps | time (ms) | energy | vs reference '
          '| speed-up |')
    print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
    for pair in PAIRS:
        energies = _energy_and_jaccard(args, pair, args.size, False)
        times = {}
        for name, _ in solvers(pair):
            spec = dict(solver=name, pair=pair, batch=args.batch,
                        classes=args.classes, size=args.size,
                        repeats=args.repeats, device=args.device,
                        threads=args.threads)
            res = measure_in_subprocess(_solver_case, spec)
            times[name] = res.get('time', float('nan'))
        ref_e = energies['reference'][0]
        for name, solver in solvers(pair):
            e = energies[name][0]
            print(f'| {pair[0]} + {pair[1]} | {_label(name, solver, pair)} '
                  f'| {solver["steps"]} '
                  f'| {1e3 * times[name]:.0f} | {e:.2f} '
                  f'| {100 * (e - ref_e) / abs(ref_e):+.3f}% '
                  f'| {times["reference"] / times[name]:.2f}x |')
    print(f'\n# Closed-form oracle (H_Q + P_Q), {args.batch} x '
          f'{args.classes} x {args.oracle_size}^2, float64\n')
    res = _energy_and_jaccard(args, QUADRATIC, args.oracle_size, True)
    print('| solver | energy | optimum | gap | soft Jaccard to optimum |')
    print('| --- | ---: | ---: | ---: | ---: |')
    for name, solver in solvers(QUADRATIC):
        e, jac = res[name]
        print(f'| {_label(name, solver, QUADRATIC)} '
              f'| {e:.4f} | {res["optimum"]:.4f} '
              f'| {100 * (e - res["optimum"]) / res["optimum"]:+.3f}% '
              f'| {100 * jac:.3f}% |')


def _train_case(spec):
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import mmscribble  # noqa: F401
    from mmscribble.utils import replace_sync_bn
    init_default_scope('mmseg')
    cfg = Config.fromfile(spec['config'])
    model_cfg = copy.deepcopy(replace_sync_bn(cfg.model))
    model_cfg['backbone']['init_cfg'] = None
    if spec['solver'] is not None:
        model_cfg['decode_head']['solver'] = dict(spec['solver'])
        model_cfg['decode_head']['self_labeling'] = True
    model = MODELS.build(model_cfg).to(spec['device'])
    model.train()
    optim = build_optim_wrapper(
        model, dict(type='OptimWrapper',
                    optimizer=dict(type='SGD', lr=1e-3)))
    size, k = spec['size'], model.decode_head.num_classes
    g = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for i in range(spec['batch']):
        inputs.append(torch.randint(0, 255, (3, size, size), generator=g))
        lab = torch.full((1, size, size), 255, dtype=torch.long)
        for c in range(k):
            r = (c + 1) * size // (k + 1)
            lab[0, r:r + 2, size // 8:7 * size // 8] = c
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(
            data=torch.ones(1, size, size, dtype=torch.uint8))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(s)
    batch = dict(inputs=inputs, data_samples=samples)

    def step():
        model.train_step(batch, optim)

    return step


def train_section(args):
    print(f'\n# Training step (forward + backward + update), MSCMR config, '
          f'batch 8, 161x161, device {args.device}, median of '
          f'{args.repeats}\n', flush=True)
    cases = (('partial CE', PCE_CFG, None), ('softsl, fast solver',
                                             SOFTSL_CFG, FAST_SOLVER),
             ('softsl, reference solver', SOFTSL_CFG, REFERENCE_SOLVER))
    rows = []
    for name, cfg, solver in cases:
        spec = dict(config=cfg, solver=solver, batch=8, size=161,
                    repeats=args.repeats, device=args.device,
                    threads=args.threads)
        rows.append((name, measure_in_subprocess(_train_case, spec)))
        print(f'  done: {name}', file=sys.stderr, flush=True)
    base = rows[0][1].get('time', float('nan'))
    print('| step | time (ms) | vs partial CE |')
    print('| --- | ---: | ---: |')
    for name, res in rows:
        if 'error' in res:
            print(f'| {name} | {res["error"]} | |')
            continue
        print(f'| {name} | {1e3 * res["time"]:.0f} '
              f'| {res["time"] / base:.2f}x |')


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    solver_section(args)
    if not args.skip_train:
        train_section(args)
    print(f'\n({time.time() - start:.0f} s)')


if __name__ == '__main__':
    main()
