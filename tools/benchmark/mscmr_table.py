# Copyright (c) mmscribble contributors. All rights reserved.
"""Train and score every MSCMR benchmark config; write the results table.

Every config in ``configs/benchmark/mscmr/``, trained from scratch on the
training scribbles (or their drop / shrink variant, written when missing)
and tested on one split. Per row: per-volume 3-D Dice of RV, Myo, LV and
their mean, HD95 and ASD (mm), mIoU, training time, s / iter, time
relative to the partial-CE baseline and the paired difference to the
row's control (crossed-bootstrap 95% interval). Writes a markdown table
(``--out``) and the raw results beside it (same name, ``.json``).

Usage::

    OMP_NUM_THREADS=1 python tools/benchmark/mscmr_table.py --seeds 3 \\
        --jobs 2 --threads 1
    python tools/benchmark/mscmr_table.py --only pce --only urss --iters 20
    # one table split over two commands (or machines), then joined:
    python tools/benchmark/mscmr_table.py --only pce --seeds 1 --first-seed 1
    python tools/benchmark/mscmr_table.py --only pce --seeds 2  # reuses seed 1
    # the converged comparison (issue 25; docs/convergence.md):
    OMP_NUM_THREADS=1 python tools/benchmark/mscmr_table.py --converged \\
        --jobs 2 --threads 1

``--list`` prints the row ids (``pce``, ``urss``, ``urss-drop0.3``, ...).
A (row, seed) already run with the same prepared config, ``--iters``,
``--split`` and seed is reused (``--no-reuse`` retrains); one command at a
time per ``--work-dir`` (a lock). Sections, controls, seeds, runs and
statistics: ``mmscribble.benchmark.mscmr``.
"""
import argparse
import os
import os.path as osp
import re
import sys

from mmscribble.benchmark.mscmr import converged
from mmscribble.benchmark.mscmr.checks import check_rows
from mmscribble.benchmark.mscmr.files import lock_work_dir
from mmscribble.benchmark.mscmr.report import write_report
from mmscribble.benchmark.mscmr.rows import (SECTIONS, UsageError, discover,
                                             row_seeds, select_rows)
from mmscribble.benchmark.mscmr.runs import (TableRuns, machine_info,
                                             plan_runs)
from mmscribble.utils.cli import non_negative_int, positive_int

DEVICES = ('auto', 'cpu', 'cuda')
# --bf16: the overrides it stands for.
BF16_OPTIONS = ('optim_wrapper.type=AutocastOptimWrapper',
                'optim_wrapper.dtype=bfloat16')
# Where the runs and the table go without --work-dir / --out (--converged
# has its own).
WORK_DIR = osp.join('work_dirs', 'benchmark', 'mscmr')
OUT = osp.join('work_dirs', 'benchmark', 'mscmr_table.md')
# The options of every run (prepare_config, run_row).
RUN_OPTIONS = ('cfg_options', 'data_root', 'nifti_root', 'split', 'iters',
               'crop', 'threads', 'device', 'channels_last')


def _add_row_options(parser):
    """Which rows, trained how long, scored on which split."""
    parser.add_argument(
        '--configs',
        nargs='+',
        default=None,
        help='config files of the table (default: every '
        'configs/benchmark/mscmr/*.py)')
    parser.add_argument(
        '--only',
        action='append',
        default=None,
        metavar='NAME',
        help='run only this row id (repeatable), e.g. pce, urss-drop0.3')
    parser.add_argument(
        '--list', action='store_true', help='print the row ids and exit')
    parser.add_argument(
        '--iters',
        type=positive_int,
        default=None,
        help='training iterations (default: each config\'s; for smoke runs)')
    parser.add_argument(
        '--crop',
        type=positive_int,
        default=None,
        metavar='N',
        help='train on NxN crops (every row: the training pipeline\'s random '
        'crop, the data preprocessor\'s pad size and the window of a '
        'sliding-window test; default: each config\'s, 161)')
    parser.add_argument(
        '--converged',
        action='store_true',
        help=f'the converged comparison: its rows ({", ".join(converged.ROWS)}'
        f'; --only / --section narrow them), {converged.ITERS} iterations '
        '(unless --iters), --bf16 --channels-last, 3 seeds for pce, urss, '
        'softsl and spml-stage1 (and their -lcc rows), 1 for the others '
        '(--first-seed K / --seeds N: seeds K .. K+N-1 of each row\'s), '
        f'work folder {converged.WORK_DIR}')
    parser.add_argument(
        '--split',
        default='val',
        help='split scored: splits/SPLIT.txt, img_dir/SPLIT, ann_dir/SPLIT '
        '(default: val)')


def _add_run_options(parser):
    """Where the runs read and write, their seeds and how they run."""
    parser.add_argument(
        '--work-dir',
        default=None,
        help='one sub-folder per row: logs, checkpoint, result.json '
        f'(default: {WORK_DIR})')
    parser.add_argument(
        '--out',
        default=None,
        help='markdown table; the raw results go to the same path .json '
        f'(default: {OUT})')
    parser.add_argument(
        '--data-root',
        default=None,
        help='converted MSCMR (default: the configs\', data/mscmr)')
    parser.add_argument(
        '--nifti-root',
        default=None,
        help='raw MSCMR NIfTI root (default: the configs\', '
        '../shared/data/mscmr)')
    parser.add_argument(
        '--threads',
        type=positive_int,
        default=None,
        help='torch threads per run (default: torch\'s, i.e. '
        'OMP_NUM_THREADS)')
    parser.add_argument(
        '--seeds',
        type=positive_int,
        default=None,
        help='seeds per row of the main, variants and recipe sections '
        '(default 3); robustness and CRF rows train one')
    parser.add_argument(
        '--first-seed',
        type=non_negative_int,
        default=0,
        metavar='K',
        help='train seeds K .. K+N-1 (offsets to each config\'s seed; '
        'default 0): splits one table over commands run one after another '
        'or machines, whose finished runs a later full run reuses')
    parser.add_argument(
        '--section',
        action='append',
        default=None,
        choices=SECTIONS,
        help='run only the rows of this section (repeatable)')
    parser.add_argument(
        '--jobs',
        type=positive_int,
        default=1,
        help='(row, seed) runs trained at once, each in its own process '
        '(default 1); with --threads 1 on a 2-core machine, --jobs 2')
    parser.add_argument(
        '--reuse',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='keep the (row, seed) runs done with the same prepared config,'
        ' iterations, split and seed (default); --no-reuse retrains them')
    parser.add_argument(
        '--device',
        choices=DEVICES,
        default='auto',
        help='where the runs train and test: auto (default; mmengine\'s '
        'Runner takes a GPU whenever torch sees one, else the CPU), cpu '
        '(GPUs hidden from the runs and their pseudo-label steps) or cuda '
        '(an error before any run when torch sees no GPU)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        metavar='KEY=VALUE',
        help='overrides applied to every config (mmengine DictAction '
        'syntax), e.g. train_dataloader.num_workers=0')


def _add_speed_options(parser):
    """How the runs compute, for speed: the network, data and schedule
    stay; bfloat16 changes the arithmetic (checked on val in
    docs/convergence.md). Each is a separate set of runs for --reuse."""
    parser.add_argument(
        '--bf16',
        action='store_true',
        help='train under bfloat16 autocast (AutocastOptimWrapper; tests '
        'stay float32): a step 1.8x faster on a CPU with AVX-512 BF16 '
        '(not measured on one without; docs/convergence.md)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='train with the weights in channels_last layout '
        '(ChannelsLastHook; same arithmetic up to rounding): 1.3x faster '
        'in float32 on one CPU thread here')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and score every MSCMR benchmark config')
    _add_row_options(parser)
    _add_run_options(parser)
    _add_speed_options(parser)
    args = parser.parse_args(argv)
    if args.converged:
        args.bf16 = args.channels_last = True
        args.iters = args.iters or converged.ITERS
        args.only = args.only or list(converged.ROWS)
        args.work_dir = args.work_dir or converged.WORK_DIR
        args.out = args.out or converged.OUT
    args.work_dir = args.work_dir or WORK_DIR
    args.out = args.out or OUT
    if args.bf16:
        args.cfg_options = args.cfg_options + list(BF16_OPTIONS)
    if not re.fullmatch(r'[\w.-]+', args.split):
        parser.error(f'--split must be a split name, got {args.split!r}')
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            parser.error('--device cuda: torch sees no CUDA device (torch '
                         f'{torch.__version__}, built with CUDA '
                         f'{torch.version.cuda}); use --device cpu or auto')
    return args


def _converged_seeds(rows, all_rows, args):
    """Each row's seed count in the converged table; a row with none of
    its seeds in this command's range is skipped, with the reason."""
    for r in rows:
        r['n_seeds'] = converged.converged_seed_count(r, all_rows)
        if not row_seeds(r, args.seeds, args.first_seed):
            r['skipped'] = (f'its {r["n_seeds"]} seed(s) are before '
                            f'--first-seed {args.first_seed}')


def main(argv=None):
    args = parse_args(argv)
    rows = discover(args.configs)
    if args.list:
        for r in rows:
            ctl = f'  control {r["control"]}' if r['control'] else ''
            print(f'{r["id"]:<20} {r["section"]:<11} {r["config"]}{ctl}')
        return 0
    all_rows = {r['id']: r for r in rows}
    opts = {k: getattr(args, k) for k in RUN_OPTIONS}
    try:
        rows = select_rows(rows, args.only, args.section)
        if args.converged:
            _converged_seeds(rows, all_rows, args)
        info = dict(machine_info(args.split, args.device), jobs=args.jobs)
        with lock_work_dir(args.work_dir):
            check_rows(rows, opts)
            todo = plan_runs(rows, all_rows, opts, args.work_dir, args.seeds,
                             args.first_seed, args.reuse)
            out_json = osp.splitext(args.out)[0] + '.json'
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            failed = TableRuns(rows, all_rows, opts, args.work_dir, info,
                               out_json).run(todo, args.jobs)
            table = write_report(args.out, out_json, rows, info)
    except UsageError as err:
        raise SystemExit(str(err)) from None
    print()
    print(table)
    print(f'table: {args.out}\nraw results: {out_json}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
