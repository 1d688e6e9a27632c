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

    OMP_NUM_THREADS=2 python tools/benchmark/mscmr_table.py
    python tools/benchmark/mscmr_table.py --only pce --only urss --iters 20
    python tools/benchmark/mscmr_table.py --split val \\
        --work-dir work_dirs/benchmark/mscmr \\
        --out work_dirs/benchmark/mscmr_table.md

Row ids are the config's method prefix, plus the label variant:
``pce``, ``urss``, ``urss-drop0.3``, ``blpseg``, ...; ``--list`` prints
them. A config whose head is not registered (a method still being
written) is reported and skipped.

Method: every config runs in its own freshly spawned process (no state
shared between rows), through mmengine's ``Runner``: ``runner.train()``
(timed; model building and weight loading excluded) then
``runner.test()`` on the split. No validation during training. The
split is set with the same keys as ``--cfg-options
test_dataloader.dataset.ann_file=splits/X.txt
test_dataloader.dataset.data_prefix.img_path=img_dir/X
test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/X``. ``--iters N``
rescales every iteration count of the schedule (scheduler begin / end,
``PhaseSwitchHook`` phases) by ``N / max_iters``, so a smoke run keeps
the phase switch at half the schedule.
"""
import argparse
import glob
import json
import math
import os
import os.path as osp
import platform
import re
import sys
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
STRUCTURES = ('RV', 'Myo', 'LV')
# Per-volume mean Dice of RV, Myo and LV on the held-out MSCMR test split
# (not available here), as published with CycleMix (Zhang & Zhuang,
# CVPR 2022) and ZScribbleSeg (Zhang & Zhuang).
PUBLISHED = (('partial CE', 0.385), ('CycleMix', 0.800), ('ZScribbleSeg',
                                                          0.870))
_VARIANT = re.compile(
    r'^(?P<base>.+)_(?P<kind>drop|shrink)(?P<ratio>[0-9.]+)$')


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
        '--reuse',
        action='store_true',
        help='keep the result.json of rows already run with the same '
        'iterations and split instead of training again')
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
    if not re.fullmatch(r'[\w.-]+', args.split):
        parser.error(f'--split must be a split name, got {args.split!r}')
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
        rows.append(
            dict(
                id=row_id(path),
                config=osp.relpath(osp.abspath(path), ROOT),
                method=meta.get('method',
                                stem.split('_')[0]),
                labels=meta.get('labels', 'scribbles'),
                baseline=bool(meta.get('baseline', False))))
    ids = [r['id'] for r in rows]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f'two configs map to the row id(s) {dup}; row ids '
                         'come from the method prefix and the label variant '
                         'of the file name')
    if sum(r['baseline'] for r in rows) > 1:
        raise ValueError('more than one config sets benchmark.baseline=True: '
                         f'{[r["config"] for r in rows if r["baseline"]]}')
    rows.sort(
        key=lambda r: (not r['baseline'], r['labels'] != 'scribbles', r['id']))
    return rows


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


def prepare_config(row, args, work_dir):
    """Load a row's config with the table's overrides applied."""
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
    # Scored once, after training, by runner.test().
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    return cfg


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


def run_row(row, args, queue):
    """Train + test one config in this (fresh) process; report to queue."""
    try:
        import torch
        if args['threads']:
            torch.set_num_threads(args['threads'])
        from mmengine.runner import Runner

        import mmscribble  # noqa: F401  (registers the components)
        cfg = prepare_config(row, args, row['work_dir'])
        runner = Runner.from_cfg(cfg)
        start, cpu_start = time.perf_counter(), time.process_time()
        runner.train()
        train_s = time.perf_counter() - start
        cpu_s = time.process_time() - cpu_start
        metrics = runner.test()
        iter_times = runner.message_hub.get_scalar('train/time').data[0]
        queue.put(
            dict(
                train_s=train_s,
                cpu_s=cpu_s,
                s_per_iter=float(sorted(iter_times)[len(iter_times) // 2]),
                iters=int(cfg.train_cfg.max_iters),
                batch=int(cfg.train_dataloader.batch_size),
                crop=list(cfg.get('crop_size', [])),
                threads=torch.get_num_threads(),
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


def make_table(rows, info):
    """Markdown of the results; ``rows`` carry their ``result``."""
    base = next(
        (r
         for r in rows if r['baseline'] and 'metrics' in r.get('result', {})),
        None)
    lines = [
        f'# MSCMR scribble benchmark: split `{info["split"]}`', '',
        '| row | method | labels | RV | Myo | LV | mean Dice | mIoU (%) '
        '| train time (min) | s / iter | time vs baseline |',
        '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
        '| ---: |'
    ]
    for r in rows:
        res = r.get('result', {})
        head = f'| {r["id"]} | {r["method"]} | {r["labels"]} '
        if 'metrics' not in res:
            why = res.get('skipped') or 'failed (see the JSON and the log)'
            lines.append(head + f'| {why} | | | | | | | |')
            continue
        m = res['metrics']
        dice = [m.get(f'vol/Dice_{s}') for s in STRUCTURES]
        ratio = res['train_s'] / base['result']['train_s'] if base else None
        lines.append(head + ''.join(f'| {_fmt(d, ".3f")} ' for d in dice) +
                     f'| {_fmt(m.get("vol/mDice3D"), ".3f")} '
                     f'| {_fmt(m.get("mIoU"), ".1f")} '
                     f'| {res["train_s"] / 60:.1f} '
                     f'| {res["s_per_iter"]:.2f} '
                     f'| {_fmt(ratio, ".2f")} |')
    done = [r['result'] for r in rows if 'metrics' in r.get('result', {})]
    lines.append('')
    if done:
        first = done[0]
        vols = first['metrics'].get('vol/num_volumes')
        lines.append(
            f'Dice: per 3-D volume on the original voxel grid, averaged over '
            f'{_fmt(vols, ".0f")} volumes; mIoU over all slices. Training: '
            f'{first["iters"]} iterations of batch {first["batch"]}, crop '
            f'{"x".join(str(c) for c in first["crop"])}, '
            f'{first["threads"]} torch thread(s); time vs baseline = '
            'training wall time / that of the baseline row; all rows '
            f'together: {sum(r["train_s"] for r in done) / 60:.1f} min of '
            'training.')
    lines.append(f'Machine: {info["machine"]}, {info["cpus"]} CPUs, torch '
                 f'{info["torch"]}, load average {info["load"]} at start '
                 f'({info["date"]}).')
    lines.append('')
    refs = ', '.join(f'{name} {value:.3f}' for name, value in PUBLISHED)
    lines.append(
        f'Published reference (mean Dice of RV, Myo and LV per volume on '
        f'the held-out MSCMR test split, not this split; CycleMix, '
        f'Zhang & Zhuang, CVPR 2022, and ZScribbleSeg): {refs}.')
    return '\n'.join(lines) + '\n'


def machine_info(split):
    import torch
    return dict(
        split=split,
        machine=platform.processor() or platform.machine(),
        cpus=os.cpu_count(),
        torch=torch.__version__,
        load=' '.join(f'{x:.1f}' for x in os.getloadavg()),
        date=time.strftime('%Y-%m-%d %H:%M'))


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _write_json(path, data):
    with open(path, 'w') as f:
        json.dump(_clean(data), f, indent=1)


def main(argv=None):
    args = parse_args(argv)
    rows = discover(args.configs)
    if args.list:
        for r in rows:
            print(f'{r["id"]:<20} {r["config"]}')
        return 0
    if args.only:
        known = [r['id'] for r in rows]
        unknown = [n for n in args.only if n not in known]
        if unknown:
            raise SystemExit(f'--only {unknown}: unknown row id(s); known: '
                             f'{known}')
        rows = [r for r in rows if r['id'] in args.only]
    opts = dict(
        cfg_options=args.cfg_options,
        data_root=args.data_root,
        nifti_root=args.nifti_root,
        split=args.split,
        iters=args.iters,
        threads=args.threads)
    info = machine_info(args.split)

    import mmscribble  # noqa: F401  (registers the heads)
    for r in rows:
        cfg = prepare_config(r, opts, '')
        split_file = osp.join(cfg.test_dataloader.dataset.data_root,
                              f'splits/{args.split}.txt')
        if not osp.isfile(split_file):
            raise SystemExit(f'--split {args.split}: split file '
                             f'{split_file} not found')
        ok, head = _head_available(cfg)
        if not ok:
            r['result'] = dict(skipped=f'not run: {head} not registered')
            print(f'[skip] {r["id"]}: {head} is not registered', flush=True)
            continue
        written = ensure_train_labels(cfg, r['config'])
        if written:
            print(f'[labels] wrote {written}', flush=True)

    out_json = osp.splitext(args.out)[0] + '.json'
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    failed = 0
    for i, r in enumerate(rows, start=1):
        if 'result' in r:
            continue
        r['work_dir'] = osp.join(args.work_dir, r['id'])
        done_file = osp.join(r['work_dir'], 'result.json')
        key = dict(iters=args.iters, split=args.split)
        if args.reuse and osp.isfile(done_file):
            old = _read_json(done_file)
            if old.get('key') == key and 'metrics' in old:
                r['result'] = old
                print(
                    f'[{i}/{len(rows)}] {r["id"]}: reused {done_file}',
                    flush=True)
                continue
        print(f'[{i}/{len(rows)}] {r["id"]}: {r["config"]}', flush=True)
        r['result'] = measure(r, opts)
        r['result']['key'] = key
        os.makedirs(r['work_dir'], exist_ok=True)
        _write_json(done_file, r['result'])
        if 'error' in r['result']:
            failed += 1
            print(
                f'[{i}/{len(rows)}] {r["id"]} FAILED:\n'
                f'{r["result"]["error"]}',
                file=sys.stderr,
                flush=True)
        else:
            res = r['result']
            print(
                f'[{i}/{len(rows)}] {r["id"]}: mean Dice '
                f'{_fmt(res["metrics"].get("vol/mDice3D"), ".3f")}, '
                f'train {res["train_s"]:.0f} s '
                f'({res["s_per_iter"]:.2f} s/iter)',
                flush=True)
        _write_json(out_json, dict(info=info, rows=rows))

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
