# Copyright (c) mmscribble contributors. All rights reserved.
"""Train and score every MSCMR benchmark config; write the results table.

One command runs the whole table: every config in
``configs/benchmark/mscmr/`` (a method joins the table by adding its config
there), each trained from scratch on the training scribbles (or their
drop / shrink variant, written first when missing) and then tested on one
split. Per row: per-volume 3-D Dice of RV, Myo and LV on the original
voxel grid and their mean (``VolumeDiceMetric``), slice-level mIoU,
training wall time, median seconds per iteration and the time relative to
the partial-CE baseline. Writes a markdown table (``--out``) and the raw
results next to it (same name, ``.json``).

Usage::

    OMP_NUM_THREADS=1 python tools/benchmark/mscmr_table.py --seeds 3 \\
        --jobs 2 --threads 1
    python tools/benchmark/mscmr_table.py --only pce --only urss --iters 20
    python tools/benchmark/mscmr_table.py --section main --seeds 3
    # one table split over two processes (or machines), then joined:
    python tools/benchmark/mscmr_table.py --only pce --seeds 1 --first-seed 1
    python tools/benchmark/mscmr_table.py --only pce --seeds 2  # reuses seed 1

Row ids are the config's method prefix, plus the label variant:
``pce``, ``urss``, ``urss-drop0.3``, ``blpseg``, ...; ``--list`` prints
them. A config whose head is not registered (a method still being
written) is reported and skipped.

Sections. A config's ``benchmark`` dict says what the table does with it:
``section`` is ``'main'`` (the default; trained with ``--seeds`` seeds),
``'variants'`` (other forms of a method, e.g. BLPSeg's self-training
rules: ``--seeds`` seeds too, kept out of ``--section main`` so that the
default comparison stays within its time budget), ``'robustness'`` (the
default of drop / shrink label variants) or ``'crf'`` (test-time CRF
rows), both trained with one seed; ``control``
names the row id of partial CE on the same network (``'pce'`` for URSS,
``'pce-upernet'`` for BLPSeg). A variant row's control is the control's
same variant (``urss-drop0.3`` -> ``pce-drop0.3``). ``checkpoint_of``
(the CRF rows) names a row whose checkpoint of the same seed this row
tests instead of training its own (it starts when that run has ended;
the training time shown is that row's), so ``urss-crf`` against its
control ``urss`` is the CRF's effect alone. ``pseudo_labels_of`` (CDSP)
names a row whose checkpoint of the same seed writes this row's
pseudo-labels: once that run has ended,
``tools/dataset_converters/segmentor_pseudo_labels.py`` predicts the
training split (scribbles kept) into
``WORK_DIR/<row>/seed<s>/pseudo_label``, which becomes the row's
``data_prefix.gt_pseudo_seg``; that step's time is not in the row's
training time. ``pseudo_label_tool='spml'`` (SPML's stage 2) makes the
source row the method's own first stage instead: its pseudo-labels come
from ``tools/spml_pseudo_labels.py`` (Algorithm 1: classifier scores
restricted to the image's scribble classes, random walk on the
embedding), become the row's training labels (``data_prefix.seg_map_path``),
and the row's train time counts the source row's training, the
pseudo-label step and its own training (its s / iter is its own).

Seeds. Seed ``k`` of a row (``k = 0 .. N-1``) trains with
``randomness.seed`` = the config's seed + ``k``, in
``WORK_DIR/<row>/seed<s>``. A (row, seed) whose ``result.json`` was written
for the same prepared config (a hash of it), ``--iters``, ``--split`` and
seed is reused, not retrained (``--no-reuse`` retrains).

Statistics. Per row: mean and sample standard deviation over seeds of
the per-volume mean Dice (and of each structure) averaged over the
volumes of the split. Per row with a control: the paired difference of the
per-volume mean Dice (mean over RV, Myo, LV of one volume) to the control
over the (seed, volume) pairs both have, mean and a 95% interval from a
crossed bootstrap (seeds and volumes resampled independently, with
replacement, 10000 times, numpy generator seed 0; percentile interval),
so that a seed that shifts every volume counts as one draw, not five.

Method: every (row, seed) runs in its own freshly spawned process (no
state shared between runs), through mmengine's ``Runner``:
``runner.train()`` (timed; model building and weight loading excluded)
then ``runner.test()`` on the split. ``--jobs J`` runs J of them at once
(with ``--threads`` torch threads each), a run that reads another row's
checkpoint as soon as that run has ended (``run_scheduled``). No
validation during training.
Every path a row reads (data, split, meta file, NIfTI root, weights) is
checked for every row before the first one trains. The split is set with
the same keys as ``--cfg-options
test_dataloader.dataset.ann_file=splits/X.txt
test_dataloader.dataset.data_prefix.img_path=img_dir/X
test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/X``. ``--iters N``
rescales every iteration count of the schedule (scheduler begin / end,
``PhaseSwitchHook`` phases) by ``N / max_iters``, so a smoke run keeps
the phase switch at half the schedule.
"""
import argparse
import glob
import hashlib
import importlib.util
import json
import math
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import threading
import time
import traceback

# harness.py sits beside this script; loaded from another directory
# (speed_table.py, the tests) this one may not be on sys.path yet.
_HERE = osp.dirname(osp.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from harness import run_in_subprocess  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'benchmark', 'mscmr')
# benchmark.pseudo_label_tool -> the script writing a row's pseudo-labels.
PSEUDO_LABEL_TOOLS = dict(
    segmentor=osp.join(ROOT, 'tools', 'dataset_converters',
                       'segmentor_pseudo_labels.py'),
    spml=osp.join(ROOT, 'tools', 'spml_pseudo_labels.py'))
STRUCTURES = ('RV', 'Myo', 'LV')
# Per-volume mean Dice of RV, Myo and LV on the held-out MSCMR test split
# (not available here), as published with CycleMix (Zhang & Zhuang,
# CVPR 2022) and ZScribbleSeg (Zhang & Zhuang).
PUBLISHED = (('partial CE', 0.385), ('CycleMix', 0.800), ('ZScribbleSeg',
                                                          0.870))
_VARIANT = re.compile(
    r'^(?P<base>.+)_(?P<kind>drop|shrink)(?P<ratio>[0-9.]+)$')
SECTIONS = ('main', 'variants', 'robustness', 'crf')
DEVICES = ('auto', 'cpu', 'cuda')
# Sections trained with --seeds seeds (the others with one).
MULTI_SEED_SECTIONS = ('main', 'variants')
SECTION_TITLES = dict(
    main='Main comparison',
    variants='Variants of the methods (same seeds as the main section)',
    robustness='Robustness: dropped and shrunk scribbles (one seed)',
    crf='Test-time dense CRF (one seed)')
# Crossed bootstrap of the paired difference: resamples and generator seed.
# A test-only (CRF) row's run relative to a pce training: ~0.5 of ~6 min.
TEST_ONLY_COST = 0.1
BOOT_SAMPLES = 10000
BOOT_SEED = 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and score every MSCMR benchmark config')
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
        type=int,
        default=None,
        help='training iterations (default: each config\'s; for smoke runs)')
    parser.add_argument(
        '--split',
        default='val',
        help='split scored: splits/SPLIT.txt, img_dir/SPLIT, ann_dir/SPLIT '
        '(default: val)')
    parser.add_argument(
        '--work-dir',
        default=osp.join('work_dirs', 'benchmark', 'mscmr'),
        help='one sub-folder per row: logs, checkpoint, result.json')
    parser.add_argument(
        '--out',
        default=osp.join('work_dirs', 'benchmark', 'mscmr_table.md'),
        help='markdown table; the raw results go to the same path .json')
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
        type=int,
        default=None,
        help='torch threads per run (default: torch\'s, i.e. '
        'OMP_NUM_THREADS)')
    parser.add_argument(
        '--seeds',
        type=int,
        default=3,
        help='seeds per row of the main section (default 3); robustness '
        'and CRF rows train one')
    parser.add_argument(
        '--first-seed',
        type=int,
        default=0,
        metavar='K',
        help='train seeds K .. K+N-1 (offsets to each config\'s seed; '
        'default 0): splits one table over several processes or '
        'machines, whose finished runs a later full run reuses')
    parser.add_argument(
        '--section',
        action='append',
        default=None,
        choices=SECTIONS,
        help='run only the rows of this section (repeatable)')
    parser.add_argument(
        '--jobs',
        type=int,
        default=1,
        help='(row, seed) runs trained at once, each in its own process '
        '(default 1); with --threads 1 on a 2-core machine, --jobs 2')
    parser.add_argument(
        '--reuse',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='keep the result.json of (row, seed) runs already done with '
        'the same prepared config, iterations, split and seed (default); '
        '--no-reuse trains them again')
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
    args = parser.parse_args(argv)
    if args.iters is not None and args.iters < 1:
        parser.error('--iters must be a positive int')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be a positive int')
    if args.seeds < 1:
        parser.error('--seeds must be a positive int')
    if args.first_seed < 0:
        parser.error('--first-seed must be an int >= 0')
    if args.jobs < 1:
        parser.error('--jobs must be a positive int')
    if not re.fullmatch(r'[\w.-]+', args.split):
        parser.error(f'--split must be a split name, got {args.split!r}')
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            parser.error('--device cuda: torch sees no CUDA device (torch '
                         f'{torch.__version__}, built with CUDA '
                         f'{torch.version.cuda}); use --device cpu or auto')
    return args


def row_id(path):
    """``pce``, ``urss``, ``urss-drop0.3``: method prefix + label variant."""
    stem = osp.splitext(osp.basename(path))[0]
    method = stem.split('_')[0]
    m = re.search(r'-(drop|shrink)([0-9.]*[0-9])', stem)
    return method + (f'-{m.group(1)}{m.group(2)}' if m else '')


def discover(configs=None):
    """The table's config files, baseline first, real scribbles next."""
    from mmengine.config import Config
    paths = configs or sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    if not paths:
        raise FileNotFoundError(f'no config in {CONFIG_DIR}')
    rows = []
    for path in paths:
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file not found: {path}')
        cfg = Config.fromfile(path)
        meta = cfg.get('benchmark', None) or {}
        stem = osp.splitext(osp.basename(path))[0]
        rid = row_id(path)
        variant = rid[len(stem.split('_')[0]):]  # '', '-drop0.3', ...
        section = meta.get('section') or ('robustness'
                                          if variant else 'main')
        if section not in SECTIONS:
            raise ValueError(f'{path}: benchmark.section must be one of '
                             f'{SECTIONS}, got {section!r}')
        control = meta.get('control')
        if control is not None and not isinstance(control, str):
            raise ValueError(f'{path}: benchmark.control must be a row id '
                             f'string or None, got {control!r}')
        if control:
            control += variant
        cost = meta.get('cost', 1.0)
        if isinstance(cost, bool) or not isinstance(
                cost, (int, float)) or not 0 < cost < math.inf:
            raise ValueError(f'{path}: benchmark.cost must be a positive '
                             f'number (a run\'s time relative to the pce '
                             f'row\'s), got {cost!r}')
        rows.append(
            dict(
                id=rid,
                config=osp.relpath(osp.abspath(path), ROOT),
                method=meta.get('method',
                                stem.split('_')[0]),
                labels=meta.get('labels', 'scribbles'),
                baseline=bool(meta.get('baseline', False)),
                section=section,
                control=None if control == rid else control,
                # A method that does not name its control (partial CE rows
                # and controls say control=None).
                no_control=not meta.get('baseline', False) and
                'control' not in meta,
                # Test-only rows (CRF): the checkpoint of this row, same
                # seed, instead of a training of their own.
                checkpoint_of=meta.get('checkpoint_of'),
                # Rows trained on pseudo-labels (CDSP): the predictions of
                # this row's checkpoint, same seed, on the training split.
                pseudo_labels_of=meta.get('pseudo_labels_of'),
                pseudo_label_tool=meta.get('pseudo_label_tool', 'segmentor'),
                # SPML's stage 2 trains on its pseudo-labels instead of the
                # scribbles; without a run folder (checks, hashes) the
                # scribbles they are written for stand in.
                scribbles=_train_labels(cfg),
                seed=int((cfg.get('randomness', None) or {}).get('seed')
                         or 0),
                # Time of one run relative to the pce row's (measured; it
                # only orders the runs, see run_scheduled). A test-only row
                # costs its test, not its source's training.
                cost=TEST_ONLY_COST if meta.get('checkpoint_of') else
                float(cost)))
    ids = [r['id'] for r in rows]
    by_id = {r['id']: r for r in rows}
    for r in rows:
        if r['pseudo_label_tool'] not in PSEUDO_LABEL_TOOLS:
            raise ValueError(f'{r["config"]}: benchmark.pseudo_label_tool '
                             f'must be one of {tuple(PSEUDO_LABEL_TOOLS)}, '
                             f'got {r["pseudo_label_tool"]!r}')
        if r['pseudo_label_tool'] == 'spml':
            src = by_id.get(r['pseudo_labels_of'])
            if src is None:
                raise ValueError(f'{r["config"]}: benchmark.pseudo_label_'
                                 "tool='spml' needs pseudo_labels_of=<the "
                                 'stage-1 row>')
            r['scribbles'] = src['scribbles']
        for key in ('checkpoint_of', 'pseudo_labels_of'):
            src = r[key]
            if src is not None and (src not in ids or src == r['id']):
                raise ValueError(f'{r["config"]}: benchmark.{key}={src!r} '
                                 'is not another row of the table')
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f'two configs map to the row id(s) {dup}; row ids '
                         'come from the method prefix and the label variant '
                         'of the file name')
    if sum(r['baseline'] for r in rows) > 1:
        raise ValueError('more than one config sets benchmark.baseline=True: '
                         f'{[r["config"] for r in rows if r["baseline"]]}')
    rows.sort(key=lambda r: (SECTIONS.index(r['section']), not r[
        'baseline'], r['labels'] != 'scribbles', r['id']))
    return rows


def _train_labels(cfg):
    """``train_dataloader.dataset.data_prefix.seg_map_path`` or None."""
    ds = (cfg.get('train_dataloader', None) or {}).get('dataset', None)
    return ((ds or {}).get('data_prefix', None) or {}).get('seg_map_path')


def row_seeds(row, seeds, first=0):
    """The seeds a row trains: ``seeds`` of them in the main section, one
    elsewhere, counted from the config's ``randomness.seed`` plus
    ``first``."""
    n = seeds if row['section'] in MULTI_SEED_SECTIONS else 1
    return [row['seed'] + first + k for k in range(n)]


def scale_schedule(cfg, iters):
    """Rescale every iteration count of ``cfg`` to ``iters`` iterations.

    Scheduler ``begin`` / ``end`` and ``PhaseSwitchHook`` phase ``begin``
    are multiplied by ``iters / max_iters`` and rounded (a scheduler keeps
    at least one iteration); validation, checkpoint and log intervals
    follow.
    """
    old = int(cfg.train_cfg.max_iters)
    scale = iters / old

    def rescale(value):
        return int(round(value * scale))

    for sched in cfg.get('param_scheduler', None) or []:
        begin = rescale(sched.get('begin', 0))
        end = min(rescale(sched.get('end', old)), iters)
        sched['begin'], sched['end'] = begin, max(end, begin + 1)
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('type') == 'PhaseSwitchHook':
            for phase in hook['phases']:
                phase['begin'] = rescale(phase['begin'])
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = min(
        cfg.default_hooks.logger.get('interval', 10), iters)


def split_overrides(split):
    """The ``--cfg-options`` keys that score ``split`` with tools/test.py."""
    return {
        'test_dataloader.dataset.ann_file': f'splits/{split}.txt',
        'test_dataloader.dataset.data_prefix.img_path': f'img_dir/{split}',
        'test_dataloader.dataset.data_prefix.seg_map_path': f'ann_dir/{split}',
    }


def _evaluators(cfg):
    ev = cfg.test_evaluator
    return ev if isinstance(ev, (list, tuple)) else [ev]


def prepare_config(row, args, work_dir, seed=None):
    """Load a row's config with the table's overrides applied; ``seed``
    (default: the config's) goes to ``randomness.seed``."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(ROOT, row['config']))
    if args['cfg_options']:
        action = DictAction(option_strings=[], dest='x')
        ns = argparse.Namespace()
        action(None, ns, args['cfg_options'])
        cfg.merge_from_dict(ns.x)
    if args['data_root']:
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader'):
            cfg[loader].dataset.data_root = args['data_root']
    cfg.merge_from_dict(split_overrides(args['split']))
    for ev in _evaluators(cfg):
        if ev.get('type') == 'VolumeDiceMetric':
            if args['data_root']:
                ev['meta_file'] = osp.join(args['data_root'], 'meta.json')
            if args['nifti_root']:
                ev['nifti_root'] = args['nifti_root']
    if args['iters']:
        scale_schedule(cfg, args['iters'])
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness', None) or {}, seed=seed)
    if row.get('pseudo_labels_of'):
        # Written into the run's own folder just before it trains (an
        # absolute prefix wins over data_root); no folder yet without one.
        prefix = cfg.train_dataloader.dataset.data_prefix
        if row.get('pseudo_label_tool') == 'spml':
            prefix['seg_map_path'] = osp.join(
                osp.abspath(work_dir),
                'pseudo_label') if work_dir else row['scribbles']
        elif work_dir:
            prefix['gt_pseudo_seg'] = osp.join(
                osp.abspath(work_dir), 'pseudo_label')
        else:
            prefix.pop('gt_pseudo_seg', None)
    # Scored once, after training, by runner.test().
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    return cfg


def config_hash(cfg):
    """SHA-1 of a prepared config without its work_dir and the run-order
    hint ``benchmark.cost``: a (row, seed) run is reused only for the same
    config."""
    data = cfg.to_dict()
    data.pop('work_dir', None)
    if isinstance(data.get('benchmark'), dict):
        data['benchmark'].pop('cost', None)
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()


def ensure_train_labels(cfg, config):
    """Write the drop / shrink label folder the config trains on if missing.

    ``ann_dir/train_drop0.3`` is made from ``ann_dir/train`` with
    ``drop_dir(ratio=0.3, seed=0)``; ``..._shrink1.0`` with ``shrink_dir``.

    Returns:
        str | None: the folder written, or None when it existed.
    """
    ds = cfg.train_dataloader.dataset
    folder = osp.join(ds.data_root, ds.data_prefix.seg_map_path)
    if osp.isdir(folder):
        return None
    m = _VARIANT.match(folder.rstrip('/'))
    if m is None or not osp.isdir(m.group('base')):
        raise FileNotFoundError(
            f'{config}: training labels {folder} not found, and it is not '
            'a <labels>_drop<r> / <labels>_shrink<r> variant of an existing '
            'folder that this tool could write')
    from mmscribble.datasets.converters.scribble_variants import (drop_dir,
                                                                  shrink_dir)
    ratio = float(m.group('ratio'))
    tmp = folder + '.tmp'
    if m.group('kind') == 'drop':
        drop_dir(m.group('base'), tmp, ratio, seed=0)
    else:
        shrink_dir(m.group('base'), tmp, ratio)
    os.replace(tmp, folder)
    return folder


def _head_available(cfg):
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    head = cfg.model.decode_head.type
    return MODELS.get(head) is not None, head


def run_env(device, threads=None):
    """Environment of a run's own processes: ``--device cpu`` hides the
    GPUs (before CUDA is initialised, so the Runner picks the CPU), and
    ``threads`` sets their OpenMP threads."""
    env = dict(os.environ)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)
    return env


def device_name():
    """``'cpu'`` or ``'cuda: <name of GPU 0>'``, as mmengine chooses."""
    import torch
    from mmengine.device import get_device
    dev = get_device()
    return f'cuda: {torch.cuda.get_device_name(0)}' if dev == 'cuda' \
        else dev


def run_row(row, args, queue):
    """Train + test one config in this (fresh) process; report to queue."""
    try:
        # A spawned process of this tool only, before torch sees a GPU.
        os.environ.update(run_env(args.get('device', 'auto')))
        import torch
        if args['threads']:
            torch.set_num_threads(args['threads'])
        from mmengine.runner import Runner

        import mmscribble  # noqa: F401  (registers the components)
        from mmscribble.utils import mmengine_safe_globals
        cfg = prepare_config(row, args, row['work_dir'], row['run_seed'])
        source = row.get('source_result')
        if source is not None:
            # Tested from the checkpoint of the row it post-processes.
            cfg.load_from = row['source_checkpoint']
            runner = Runner.from_cfg(cfg)
            with mmengine_safe_globals():
                metrics = runner.test()
            train_s, cpu_s = source['train_s'], source['cpu_s']
            iter_times = [source['s_per_iter']]
        else:
            runner = Runner.from_cfg(cfg)
            start, cpu_start = time.perf_counter(), time.process_time()
            runner.train()
            train_s = time.perf_counter() - start
            cpu_s = time.process_time() - cpu_start
            metrics = runner.test()
            iter_times = runner.message_hub.get_scalar(
                'train/time').data[0]
        per_volume = {}
        for metric in runner.test_loop.evaluator.metrics:
            per_volume.update(getattr(metric, 'per_volume', None) or {})
        queue.put(
            dict(
                seed=row['run_seed'],
                per_volume={
                    v: {k: float(d)
                        for k, d in dice.items()}
                    for v, dice in per_volume.items()
                },
                train_s=train_s,
                cpu_s=cpu_s,
                s_per_iter=float(sorted(iter_times)[len(iter_times) // 2]),
                iters=int(cfg.train_cfg.max_iters),
                batch=int(cfg.train_dataloader.batch_size),
                crop=list(cfg.get('crop_size', [])),
                threads=torch.get_num_threads(),
                device=device_name(),
                metrics={
                    k: float(v)
                    for k, v in metrics.items()
                }))
    except Exception:
        queue.put(dict(error=traceback.format_exc()))


def measure(row, args):
    """Run :func:`run_row` in a spawned process; return its result."""
    return run_in_subprocess(run_row, row, args)


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return format(value, spec)


def _clean(value):
    """JSON-safe copy: NaN becomes None."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _finite(value):
    return value is not None and not (isinstance(value, float)
                                      and math.isnan(value))


def volume_mean_dice(dice):
    """Mean Dice of one volume over its structures; a structure absent from
    prediction and label (NaN, or None once written to JSON) is left out,
    as ``VolumeDiceMetric`` leaves it out of the structure's mean."""
    vals = [d for d in dice.values() if _finite(d)]
    return sum(vals) / len(vals) if vals else float('nan')


def mean_sd(values):
    """``(mean, sample standard deviation, n)`` of the finite ``values``;
    the deviation is NaN for fewer than two values."""
    vals = [float(v) for v in values if _finite(v)]
    n = len(vals)
    if not n:
        return float('nan'), float('nan'), 0
    mean = sum(vals) / n
    sd = math.sqrt(sum((v - mean)**2
                       for v in vals) / (n - 1)) if n > 1 else float('nan')
    return mean, sd, n


def paired_grid(runs, control_runs):
    """Differences of per-volume mean Dice, row minus control.

    Args:
        runs, control_runs (dict): ``{seed: result}``, each result with
            ``per_volume`` (``{volume: {structure: dice}}``).

    Returns:
        tuple: ``(seeds, volumes, diff)``: the seeds both ran, the volumes
        every one of those runs scored with a finite mean on both sides (in
        the order of the first run), and ``diff`` of shape
        ``(len(seeds), len(volumes))``.
    """
    import numpy as np
    seeds = sorted(set(runs) & set(control_runs))
    if not seeds:
        return [], [], np.zeros((0, 0))
    means = {}
    for seed in seeds:
        for side, res in (('row', runs[seed]), ('ctl', control_runs[seed])):
            for vol, dice in (res.get('per_volume') or {}).items():
                means[side, seed, vol] = volume_mean_dice(dice)
    first = list((runs[seeds[0]].get('per_volume') or {}))
    volumes = [
        v for v in first
        if all(_finite(means.get((side, s, v))) for s in seeds
               for side in ('row', 'ctl'))
    ]
    diff = np.array([[means['row', s, v] - means['ctl', s, v]
                      for v in volumes] for s in seeds],
                    dtype=np.float64).reshape(len(seeds), len(volumes))
    return seeds, volumes, diff


def crossed_bootstrap(diff, samples=BOOT_SAMPLES, seed=BOOT_SEED,
                      level=0.95):
    """Mean of a (seed, volume) grid of paired differences and its
    percentile interval from a crossed bootstrap.

    Each of ``samples`` draws resamples the S seeds (rows of ``diff``) and,
    independently, the V volumes (columns), both with replacement, and
    takes the mean over the S x V crossed cells; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of those means
    (numpy's linear interpolation). Resampling seeds as units keeps a seed
    that moves every volume from counting as V independent draws.

    Args:
        diff (array-like): ``(S, V)`` differences, S, V >= 1.
        samples (int): bootstrap draws.
        seed (int): seed of the numpy generator (fixed: the same numbers
            give the same interval).
        level (float): coverage in (0, 1).

    Returns:
        tuple[float, float, float]: ``(mean, low, high)``.
    """
    import numpy as np
    d = np.asarray(diff, dtype=np.float64)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f'diff must be a non-empty (seeds, volumes) grid, '
                         f'got shape {d.shape}')
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    rng = np.random.default_rng(seed)
    num_s, num_v = d.shape
    rows = rng.integers(0, num_s, size=(samples, num_s))
    cols = rng.integers(0, num_v, size=(samples, num_v))
    means = d[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    low, high = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(d.mean()), float(low), float(high)


def row_runs(row):
    """``{seed: result}`` of a row's finished runs."""
    return {
        res['seed']: res
        for res in row.get('runs', []) if 'metrics' in res
    }


def counts_source_time(row):
    """Whether a row's time includes its pseudo-label source's training
    and the pseudo-label step (SPML's stage 2: the source is stage 1)."""
    return bool(row.get('pseudo_labels_of')) and row.get(
        'pseudo_label_tool') == 'spml'


def run_time(row, res):
    """Seconds of one (row, seed) run shown as its train time: its own
    training, plus for SPML's stage 2 (:func:`counts_source_time`) the
    stage-1 training and the pseudo-label step."""
    if not counts_source_time(row):
        return res['train_s']
    return res['train_s'] + res.get('source_train_s', float('nan')) + \
        res.get('pseudo_label_s', float('nan'))


def row_summary(row, by_id):
    """Means and deviations over seeds, and the paired difference to the
    row's control: what one line of the table shows."""
    runs = row_runs(row)
    out = dict(seeds=sorted(runs), n=len(runs))
    for key in [f'vol/Dice_{s}' for s in STRUCTURES] + ['vol/mDice3D',
                                                        'mIoU']:
        out[key] = mean_sd(r['metrics'].get(key) for r in runs.values())
    out['train_s'] = mean_sd(run_time(row, r) for r in runs.values())[0]
    if counts_source_time(row):
        out['time_parts'] = [
            mean_sd(r.get(k) for r in runs.values())[0]
            for k in ('source_train_s', 'pseudo_label_s', 'train_s')
        ]
    out['s_per_iter'] = mean_sd(r['s_per_iter'] for r in runs.values())[0]
    ctl = row.get('control')
    if not ctl:
        out['delta'] = 'no benchmark.control' if row.get(
            'no_control') else None
    elif ctl not in by_id:
        out['delta'] = f'no {ctl} row'
    else:
        seeds, volumes, diff = paired_grid(runs, row_runs(by_id[ctl]))
        if diff.size == 0:
            out['delta'] = f'{ctl} not run'
        else:
            mean, low, high = crossed_bootstrap(diff)
            out['delta'] = dict(
                mean=mean, low=low, high=high, seeds=len(seeds),
                volumes=len(volumes))
    return out


def _pm(stat, spec='.3f'):
    mean, sd, n = stat
    if not n:
        return 'n/a'
    if n < 2:
        return format(mean, spec)
    return f'{format(mean, spec)} ± {format(sd, spec)}'


def _delta(delta):
    if delta is None:
        return '-'
    if isinstance(delta, str):
        return f'n/a ({delta})'
    return (f'{delta["mean"]:+.3f} [{delta["low"]:+.3f}, '
            f'{delta["high"]:+.3f}] ({delta["seeds"]}x{delta["volumes"]})')


def make_table(rows, info):
    """Markdown of the results, one table per section; ``rows`` carry their
    ``runs`` (or ``skipped``)."""
    by_id = {r['id']: r for r in rows}
    summaries = {r['id']: row_summary(r, by_id) for r in rows}
    base = next((r for r in rows
                 if r['baseline'] and summaries[r['id']]['n']), None)
    lines = [f'# MSCMR scribble benchmark: split `{info["split"]}`']
    for section in SECTIONS:
        part = [r for r in rows if r['section'] == section]
        if not part:
            continue
        lines += [
            '', f'## {SECTION_TITLES[section]}', '',
            '| row | method | labels | seeds | RV | Myo | LV | mean Dice '
            '| vs control: paired diff. [95% CI] (seeds x volumes) '
            '| mIoU (%) | train time (min) | s / iter | time vs baseline |',
            '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- '
            '| ---: | ---: | ---: | ---: |'
        ]
        for r in part:
            sm = summaries[r['id']]
            ctl = f' (control {r["control"]})' if r.get('control') else ''
            head = f'| {r["id"]}{ctl} | {r["method"]} | {r["labels"]} '
            if not sm['n']:
                why = r.get('skipped') or 'failed (see the JSON and the log)'
                lines.append(head + f'| 0 | {why} | | | | | | | | |')
                continue
            ratio = sm['train_s'] / summaries[base['id']]['train_s'] \
                if base else None
            lines.append(
                head + f'| {sm["n"]} ' +
                ''.join(f'| {_pm(sm[f"vol/Dice_{s}"])} '
                        for s in STRUCTURES) +
                f'| {_pm(sm["vol/mDice3D"])} | {_delta(sm["delta"])} '
                f'| {_pm(sm["mIoU"], ".1f")} '
                f'| {sm["train_s"] / 60:.1f} '
                f'| {sm["s_per_iter"]:.2f} '
                f'| {_fmt(ratio, ".2f")} |')
    done = [res for r in rows for res in r.get('runs', [])
            if 'metrics' in res]
    lines.append('')
    if done:
        first = done[0]
        vols = first['metrics'].get('vol/num_volumes')
        lines.append(
            f'Dice: per 3-D volume on the original voxel grid, averaged over '
            f'{_fmt(vols, ".0f")} volumes, then mean ± sample standard '
            'deviation over the seeds (seeds = the config\'s seed + 0, 1, '
            '...); mIoU over all slices. Paired diff.: per-volume mean Dice '
            '(over RV, Myo, LV) of the row minus that of its control (partial '
            'CE on the same network) over the (seed, volume) pairs both ran; '
            f'95% percentile interval of a crossed bootstrap ({BOOT_SAMPLES} '
            'draws resampling seeds and volumes independently, generator '
            f'seed {BOOT_SEED}). Training: '
            f'{first["iters"]} iterations of batch {first["batch"]}, crop '
            f'{"x".join(str(c) for c in first["crop"])}, '
            f'{first["threads"]} torch thread(s), {info.get("jobs", 1)} '
            'run(s) at once; train time = mean per seed; time vs baseline = '
            'that / the baseline row\'s; all runs together: '
            f'{sum(r["train_s"] for r in done) / 60:.1f} min of training'
            + (f', {info["wall_s"] / 60:.1f} min wall for the whole table'
               if info.get('wall_s') else '') + '.')
    for r in rows:
        parts = summaries[r['id']].get('time_parts')
        if parts and summaries[r['id']]['n']:
            lines.append(
                f'`{r["id"]}`: train time = the training of '
                f'`{r["pseudo_labels_of"]}` + the pseudo-label step + its '
                'own training, mean per seed: ' +
                ' + '.join(_fmt(p / 60, '.1f') for p in parts) +
                ' min; its s / iter is its own training\'s.')
    lines.append(f'Machine: {info["machine"]}, {info["cpus"]} CPUs, runs '
                 f'on {info.get("device", "cpu")}, torch '
                 f'{info["torch"]}, load average {info["load"]} at start '
                 f'({info["date"]}).')
    lines.append('')
    refs = ', '.join(f'{name} {value:.3f}' for name, value in PUBLISHED)
    lines.append(
        f'Published reference (mean Dice of RV, Myo and LV per volume on '
        f'the held-out MSCMR test split, not this split; CycleMix, '
        f'Zhang & Zhuang, CVPR 2022, and ZScribbleSeg): {refs}.')
    return '\n'.join(lines) + '\n'


def machine_info(split, device='auto'):
    import torch
    return dict(
        split=split,
        # The runs hide GPUs themselves for --device cpu (run_env).
        device='cpu' if device == 'cpu' else device_name(),
        machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(),
        torch=torch.__version__,
        load=' '.join(f'{x:.1f}' for x in os.getloadavg()),
        date=time.strftime('%Y-%m-%d %H:%M'))


def run_scheduled(tasks, jobs, work):
    """Run ``tasks`` on ``jobs`` threads, each when the task it waits for
    has ended, longest chain first.

    A task is a dict with ``name``, ``after`` (the name of the task it
    needs, or ``None``; one that is not among ``tasks``, already done or
    not requested, does not hold it back) and ``cost`` (its expected time,
    any unit; 1 if absent). A free thread takes the ready task with the
    longest chain: its cost plus the costs of the tasks that wait for it,
    directly or not (critical-path list scheduling; equal chains in the
    given order). Unlike waiting for every training to end before the runs
    on their pseudo-labels or checkpoints start, a long two-stage row
    starts early and no thread idles while a ready run waits behind an
    unrelated one; the costs keep a long run from being the last one
    started while the other thread has nothing left. The costs only order
    the runs: a wrong one costs wall time, never a result. A task that
    ends is done, whatever its outcome: the table's runs catch their own
    errors and their dependents report why they cannot run. An exception
    out of ``work`` stops the scheduling (running tasks finish) and is
    raised.

    Returns:
        list: the names in the order they started.
    """
    names = {t['name'] for t in tasks}
    waits = {
        t['name']: t['after'] if t['after'] in names else None
        for t in tasks
    }
    cost = {t['name']: float(t.get('cost', 1.0)) for t in tasks}
    chain = {}

    def chain_of(name, seen=()):
        if name not in chain:
            if name in seen:
                raise RuntimeError(f'tasks wait for each other: {seen}')
            chain[name] = cost[name] + sum(
                chain_of(n, seen + (name, )) for n, w in waits.items()
                if w == name)
        return chain[name]

    for t in tasks:
        chain_of(t['name'])
    pending = list(tasks)
    done, started = set(), []
    cond = threading.Condition()

    def take():
        ready = [
            t for t in pending
            if waits[t['name']] is None or waits[t['name']] in done
        ]
        if not ready:  # (no cycle: chain_of checked) a source runs
            return None
        # max keeps the first of equal chains
        best = max(ready, key=lambda t: chain[t['name']])
        pending.remove(best)
        started.append(best['name'])
        return best

    errors = []

    def worker():
        while True:
            with cond:
                while True:
                    if not pending or errors:
                        return
                    task = take()
                    if task is not None:
                        break
                    cond.wait()
            try:
                work(task)
            except Exception as e:  # noqa: B902 - re-raised after the join
                with cond:
                    errors.append(e)
            finally:
                with cond:
                    done.add(task['name'])
                    cond.notify_all()

    threads = [
        threading.Thread(target=worker)
        for _ in range(max(1, min(jobs, len(tasks))))
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return started


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _write_json(path, data):
    with open(path, 'w') as f:
        json.dump(_clean(data), f, indent=1)


def main(argv=None):
    args = parse_args(argv)
    rows = discover(args.configs)
    all_rows = {r['id']: r for r in rows}
    if args.list:
        for r in rows:
            ctl = f'  control {r["control"]}' if r['control'] else ''
            print(f'{r["id"]:<20} {r["section"]:<11} {r["config"]}{ctl}')
        return 0
    if args.only:
        known = [r['id'] for r in rows]
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise SystemExit(f'--only {unknown}: unknown row id(s); known: '
                             f'{known}')
        rows = [r for r in rows if r['id'] in args.only]
    if args.section:
        rows = [r for r in rows if r['section'] in args.section]
    opts = dict(
        cfg_options=args.cfg_options,
        data_root=args.data_root,
        nifti_root=args.nifti_root,
        split=args.split,
        iters=args.iters,
        threads=args.threads,
        device=args.device)
    info = machine_info(args.split, args.device)
    info['jobs'] = args.jobs

    import mmscribble  # noqa: F401  (registers the heads)
    from mmscribble.utils.run_paths import check_run_paths
    for r in rows:
        cfg = prepare_config(r, opts, '')
        split_file = osp.join(cfg.test_dataloader.dataset.data_root,
                              f'splits/{args.split}.txt')
        if not osp.isfile(split_file):
            raise SystemExit(f'--split {args.split}: split file '
                             f'{split_file} not found')
        ok, head = _head_available(cfg)
        if not ok:
            r['skipped'] = f'not run: {head} not registered'
            print(f'[skip] {r["id"]}: {head} is not registered', flush=True)
            continue
        crf = (cfg.model.get('test_cfg', None) or {}).get('crf', None)
        if crf and importlib.util.find_spec('pydensecrf') is None:
            r['skipped'] = ("not run: needs the optional extra 'crf' (pip "
                            "install 'mmscribble[crf]')")
            print(f'[skip] {r["id"]}: {r["skipped"]}', flush=True)
            continue
        written = None if r['checkpoint_of'] else ensure_train_labels(
            cfg, r['config'])
        if written:
            print(f'[labels] wrote {written}', flush=True)
        # Every row's data, metric and weights paths, before any training;
        # a test-only row (checkpoint_of) reads no training data.
        check_run_paths(
            cfg, ('test', ) if r['checkpoint_of'] else ('train', 'test'),
            what=f'row {r["id"]} ({r["config"]})')

    # (row, seed) runs: reused when done for the same prepared config.
    todo = []
    for r in rows:
        r['runs'] = []
        if 'skipped' in r:
            continue
        for seed in row_seeds(r, args.seeds, args.first_seed):
            work_dir = osp.join(args.work_dir, r['id'], f'seed{seed}')
            key = dict(
                iters=args.iters,
                split=args.split,
                seed=seed,
                config=config_hash(prepare_config(r, opts, '', seed)))
            src = r['checkpoint_of'] or r['pseudo_labels_of']
            if src:
                key['source'] = config_hash(
                    prepare_config(all_rows[src], opts, '', seed))
            done_file = osp.join(work_dir, 'result.json')
            if args.reuse and osp.isfile(done_file):
                old = _read_json(done_file)
                if old.get('key') == key and 'metrics' in old:
                    r['runs'].append(old)
                    print(f'{r["id"]} seed {seed}: reused {done_file}',
                          flush=True)
                    continue
            todo.append((r, dict(r, run_seed=seed, work_dir=work_dir), key,
                         done_file))

    out_json = osp.splitext(args.out)[0] + '.json'
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    lock = threading.Lock()
    failed = []

    def source_of(run, key, src_id):
        """The finished result and checkpoint of row ``src_id`` (same
        seed) that a test-only or pseudo-labelled run reads."""
        src = osp.join(args.work_dir, src_id, f'seed{run["run_seed"]}')
        done = osp.join(src, 'result.json')
        res = _read_json(done) if osp.isfile(done) else {}
        last = osp.join(src, 'last_checkpoint')
        if res.get('key', {}).get('config') != key['source'] or \
                'metrics' not in res or not osp.isfile(last):
            return None, (f'row {src_id} seed {run["run_seed"]} has no '
                          f'finished run of its current config in {src}: '
                          'run it first')
        with open(last) as f:
            return dict(run, source_result=res,
                        source_checkpoint=f.read().strip()), None

    def write_pseudo_labels(run, src):
        """Pseudo-labels of ``src``'s checkpoint on the training split
        into the run's ``pseudo_label`` folder: its predictions with the
        scribbles kept (``segmentor``) or SPML's random walk (``spml``).

        Returns:
            tuple: ``(error or None, seconds)``.
        """
        # Parsing resolves mmseg:: bases through pkg_resources, which is
        # not thread-safe (two --jobs threads here at once raised
        # "TypeError: Expected str, Requirement, or Distribution").
        with lock:
            cfg = prepare_config(all_rows[run['pseudo_labels_of']], opts,
                                 '', run['run_seed'])
        os.makedirs(run['work_dir'], exist_ok=True)
        cfg_file = osp.join(run['work_dir'], 'pseudo_label_source.py')
        cfg.dump(cfg_file)
        tool = run['pseudo_label_tool']
        cmd = [
            sys.executable, PSEUDO_LABEL_TOOLS[tool], cfg_file,
            src['source_checkpoint'],
            osp.join(run['work_dir'], 'pseudo_label')
        ] + (['--scribble-override'] if tool == 'segmentor' else [])
        env = run_env(opts['device'], opts['threads'])
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            return (f'pseudo-labels from row {run["pseudo_labels_of"]} '
                    f'failed: {" ".join(cmd)}\n{proc.stdout[-2000:]}'
                    f'{proc.stderr[-2000:]}'), seconds
        return None, seconds

    def prepare_and_measure(r, run, key):
        if r['checkpoint_of']:
            run, why = source_of(run, key, r['checkpoint_of'])
            return dict(error=why) if why else measure(run, opts)
        if not r['pseudo_labels_of']:
            return measure(run, opts)
        src, why = source_of(run, key, r['pseudo_labels_of'])
        if why:
            return dict(error=why)
        why, label_s = write_pseudo_labels(run, src)
        if why:
            return dict(error=why)
        res = measure(run, opts)
        res['pseudo_label_s'] = label_s
        res['source_train_s'] = src['source_result']['train_s']
        return res

    def one(i, item):
        r, run, key, done_file = item
        tag = f'[{i}/{len(todo)}] {r["id"]} seed {run["run_seed"]}'
        print(f'{tag}: {r["config"]}', flush=True)
        try:
            res = prepare_and_measure(r, run, key)
        except Exception:  # noqa: B902 - reported as this run's failure
            # Not lost in the thread pool until the other runs end: the
            # run fails now, with its traceback, and the table goes on.
            res = dict(error='the table tool failed on this run:\n' +
                       traceback.format_exc())
        res['key'] = key
        res.setdefault('seed', run['run_seed'])
        os.makedirs(run['work_dir'], exist_ok=True)
        _write_json(done_file, res)
        with lock:
            r['runs'].append(res)
            if 'error' in res:
                failed.append(tag)
                print(f'{tag} FAILED:\n{res["error"]}', file=sys.stderr,
                      flush=True)
            else:
                print(
                    f'{tag}: mean Dice '
                    f'{_fmt(res["metrics"].get("vol/mDice3D"), ".3f")}, '
                    f'train {res["train_s"]:.0f} s '
                    f'({res["s_per_iter"]:.2f} s/iter)',
                    flush=True)
            _write_json(out_json, dict(info=info, rows=rows))

    start = time.perf_counter()

    # Each run starts when the run it reads (pseudo-labels or checkpoint
    # of another row, same seed) has ended, if that one is in this command.
    def task(i, item):
        r, run, _, _ = item
        src = r['checkpoint_of'] or r['pseudo_labels_of']
        return dict(
            name=(r['id'], run['run_seed']),
            after=(src, run['run_seed']) if src else None,
            cost=r['cost'],
            args=(i, item))

    run_scheduled([task(*a) for a in enumerate(todo, start=1)], args.jobs,
                  lambda t: one(*t['args']))
    if todo:
        info['wall_s'] = time.perf_counter() - start
    for r in rows:
        r['runs'].sort(key=lambda res: res.get('seed', 0))

    table = make_table(rows, info)
    with open(args.out, 'w') as f:
        f.write(table)
    _write_json(out_json, dict(info=info, rows=rows))
    print()
    print(table)
    print(f'table: {args.out}\nraw results: {out_json}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
