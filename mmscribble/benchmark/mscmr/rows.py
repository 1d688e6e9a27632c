# Copyright (c) mmscribble contributors. All rights reserved.
"""The rows of the MSCMR table and the config each of their runs trains.

A row is one config of ``configs/benchmark/mscmr/`` (a method joins the
table by adding its config there). Its id is the config's method prefix
plus the label variant: ``pce``, ``urss``, ``urss-drop0.3``, ... The
config's ``benchmark`` dict says what the table does with it:

* ``section``: ``'main'`` (the default; trained with ``--seeds`` seeds),
  ``'variants'`` (other forms of a method, e.g. BLPSeg's self-training
  rules: ``--seeds`` seeds too, kept out of ``--section main``),
  ``'recipe'`` (changes of the shared network, data or test-time
  clean-up tried on partial CE for the converged schedule, issue 25:
  ``--seeds`` seeds, control ``pce``),
  ``'robustness'`` (the default of drop / shrink label variants) or
  ``'crf'`` (test-time CRF rows), both trained with one seed.
* ``control``: the row id of partial CE on the same network; a variant
  row's control is the control's same variant (``urss-drop0.3`` ->
  ``pce-drop0.3``).
* ``checkpoint_of``: a row whose checkpoint of the same seed this row
  tests instead of training its own (the CRF rows).
* ``pseudo_labels_of``: a row whose checkpoint of the same seed writes
  this row's pseudo-labels (``pseudo_label_tool``: ``'segmentor'``, its
  predictions with the scribbles kept, CDSP; ``'spml'``, SPML's
  Algorithm 1, which become the row's training labels).
* ``cost``: a run's time relative to the ``pce`` row's; it only orders the
  runs (:func:`~mmscribble.benchmark.mscmr.schedule.run_scheduled`).

Seed ``k`` of a row trains with ``randomness.seed`` = the config's seed +
``k``. A finished run is reused when its :func:`run_key` (a hash of the
prepared config, ``--iters``, ``--split`` and the seed) is unchanged.
"""
import argparse
import glob
import hashlib
import json
import math
import os.path as osp
import re

# The checkout the table runs in: its configs/ and tools/ (the package is
# used from the repository, as the scripts under tools/benchmark/ are).
ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG_DIR = osp.join(ROOT, 'configs', 'benchmark', 'mscmr')
# benchmark.pseudo_label_tool -> the script writing a row's pseudo-labels.
PSEUDO_LABEL_TOOLS = dict(
    segmentor=osp.join(ROOT, 'tools', 'dataset_converters',
                       'segmentor_pseudo_labels.py'),
    spml=osp.join(ROOT, 'tools', 'spml_pseudo_labels.py'))
SECTIONS = ('main', 'variants', 'recipe', 'robustness', 'crf')
# Sections trained with --seeds seeds (the others with one).
MULTI_SEED_SECTIONS = ('main', 'variants', 'recipe')
# A test-only (CRF) row's run relative to a pce training: ~0.5 of ~6 min.
TEST_ONLY_COST = 0.1


class UsageError(ValueError):
    """A request the table cannot serve (unknown row, missing split)."""


def row_id(path):
    """``pce``, ``urss``, ``urss-drop0.3``: method prefix + label variant."""
    stem = osp.splitext(osp.basename(path))[0]
    method = stem.split('_')[0]
    m = re.search(r'-(drop|shrink)([0-9.]*[0-9])', stem)
    return method + (f'-{m.group(1)}{m.group(2)}' if m else '')


def discover(configs=None):
    """The table's rows, one per config file (default: every config of
    ``configs/benchmark/mscmr/``): sections in order, baseline first, real
    scribbles next.

    Raises:
        FileNotFoundError: no config, or a config file that does not exist.
        ValueError: a ``benchmark`` dict the table cannot use.
    """
    paths = configs or sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
    if not paths:
        raise FileNotFoundError(f'no config in {CONFIG_DIR}')
    rows = [_row_of(path) for path in paths]
    _check_links(rows)
    rows.sort(key=lambda r: (SECTIONS.index(r['section']), not r['baseline'],
                             r['labels'] != 'scribbles', r['id']))
    return rows


def _row_of(path):
    """One row from its config file and ``benchmark`` dict."""
    from mmengine.config import Config
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    meta = cfg.get('benchmark', None) or {}
    stem = osp.splitext(osp.basename(path))[0]
    rid = row_id(path)
    variant = rid[len(stem.split('_')[0]):]  # '', '-drop0.3', ...
    section = meta.get('section') or ('robustness' if variant else 'main')
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
    if isinstance(
            cost,
            bool) or not isinstance(cost,
                                    (int, float)) or not 0 < cost < math.inf:
        raise ValueError(f'{path}: benchmark.cost must be a positive '
                         f'number (a run\'s time relative to the pce '
                         f'row\'s), got {cost!r}')
    return dict(
        id=rid,
        config=osp.relpath(osp.abspath(path), ROOT),
        method=meta.get('method',
                        stem.split('_')[0]),
        labels=meta.get('labels', 'scribbles'),
        baseline=bool(meta.get('baseline', False)),
        section=section,
        control=None if control == rid else control,
        # A method that does not name its control (partial CE rows and
        # controls say control=None).
        no_control=not meta.get('baseline', False) and 'control' not in meta,
        # Test-only rows (CRF): the checkpoint of this row, same seed,
        # instead of a training of their own.
        checkpoint_of=meta.get('checkpoint_of'),
        # Rows trained on pseudo-labels (CDSP): the predictions of this
        # row's checkpoint, same seed, on the training split.
        pseudo_labels_of=meta.get('pseudo_labels_of'),
        pseudo_label_tool=meta.get('pseudo_label_tool', 'segmentor'),
        # SPML's stage 2 trains on its pseudo-labels instead of the
        # scribbles; without a run folder (checks, hashes) the scribbles
        # they are written for stand in.
        scribbles=_train_labels(cfg),
        seed=int((cfg.get('randomness', None) or {}).get('seed') or 0),
        # Time of one run relative to the pce row's (measured; it only
        # orders the runs, see run_scheduled). A test-only row costs its
        # test, not its source's training.
        cost=TEST_ONLY_COST if meta.get('checkpoint_of') else float(cost))


def _check_links(rows):
    """Rows named by other rows exist; ids and the baseline are unique."""
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


def _train_labels(cfg):
    """``train_dataloader.dataset.data_prefix.seg_map_path`` or None."""
    ds = (cfg.get('train_dataloader', None) or {}).get('dataset', None)
    return ((ds or {}).get('data_prefix', None) or {}).get('seg_map_path')


def select_rows(rows, only=None, sections=None):
    """The rows with an id in ``only`` and a section in ``sections`` (each
    None: all).

    Raises:
        UsageError: an id of ``only`` that is not a row.
    """
    if only:
        known = [r['id'] for r in rows]
        unknown = [n for n in only if n not in known]
        if unknown:
            raise UsageError(f'--only {unknown}: unknown row id(s); known: '
                             f'{known}')
        rows = [r for r in rows if r['id'] in only]
    if sections:
        rows = [r for r in rows if r['section'] in sections]
    return rows


def row_seeds(row, seeds, first=0):
    """The seeds a row trains, offsets to the config's ``randomness.seed``.

    A row with ``n_seeds`` (set by a preset, e.g. ``--converged``) trains
    ``first`` .. ``min(first + seeds, n_seeds) - 1`` (``seeds`` None: up
    to ``n_seeds``), none when ``first`` is past its count. Otherwise:
    ``seeds`` of them (None: 3) in the multi-seed sections, one elsewhere,
    counted from ``first``.
    """
    count = row.get('n_seeds')
    if count is not None:
        last = count if seeds is None else min(count, first + seeds)
        return [row['seed'] + k for k in range(first, last)]
    n = (3 if seeds is None else
         seeds) if row['section'] in MULTI_SEED_SECTIONS else 1
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


def set_crop(cfg, size):
    """Train ``cfg`` on ``size`` x ``size`` crops.

    Sets ``crop_size`` of every transform of the training data that has
    one (the random crop, wherever the dataset nests its pipeline), the
    data preprocessor's pad ``size``, the window of a sliding-window test
    (``model.test_cfg.mode='slide'``: the network is tested on windows of
    the size it was trained on; a window as large as the slice is one
    whole-slice pass) and the config's ``crop_size`` variable (recorded
    with each run). A config already at ``size`` is left as it was, so
    its runs are reused.

    Raises:
        UsageError: the training pipeline has no transform with a
            ``crop_size``, so the option would change nothing.
    """
    crop = (int(size), int(size))
    found = []

    def visit(node):
        if isinstance(node, dict):
            if 'crop_size' in node and 'type' in node:
                node['crop_size'] = crop
                found.append(node['type'])
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    visit(cfg.train_dataloader)
    if not found:
        raise UsageError(
            f'--crop {size}: the training pipeline of '
            f'{cfg.filename or "the config"} has no transform with a '
            'crop_size')
    pre = cfg.model.get('data_preprocessor', None)
    if pre is not None and pre.get('size', None) is not None:
        pre['size'] = crop
    test_cfg = cfg.model.get('test_cfg', None) or {}
    if test_cfg.get('mode', None) == 'slide':
        test_cfg['crop_size'] = crop
    cfg.crop_size = crop


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
    """Load a row's config with the table's overrides applied.

    Args:
        row (dict): a row of :func:`discover`.
        args (dict): the table's options: ``cfg_options`` (mmengine
            ``DictAction`` strings), ``data_root``, ``nifti_root``,
            ``split``, ``iters`` (None: the config's), ``crop``
            (optional: :func:`set_crop`), ``channels_last`` (optional: add
            ``ChannelsLastHook``).
        work_dir (str): the run's folder ('' for checks and hashes).
        seed (int, optional): ``randomness.seed`` (default: the config's).

    Returns:
        mmengine.Config: the config one run trains and tests.
    """
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
    if args.get('crop'):
        set_crop(cfg, args['crop'])
    if args.get('channels_last'):
        cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
            dict(type='ChannelsLastHook')
        ]
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness', None) or {}, seed=seed)
    if row.get('pseudo_labels_of'):
        _pseudo_label_prefix(cfg, row, work_dir)
    # Scored once, after training, by runner.test().
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.work_dir = work_dir
    return cfg


def _pseudo_label_prefix(cfg, row, work_dir):
    """Point a pseudo-labelled row's training data at its labels: written
    into the run's own folder just before it trains (an absolute prefix
    wins over data_root); no folder yet without one."""
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


def run_key(row, all_rows, args, seed):
    """What a finished (row, seed) run's ``result.json`` must carry to be
    reused: ``iters``, ``split``, ``seed``, the :func:`config_hash` of the
    prepared config and, for a row that reads another row's checkpoint,
    that row's (``source``).

    Args:
        row (dict): the row.
        all_rows (dict): every row of the table by id (the sources).
        args (dict): the table's options (see :func:`prepare_config`).
        seed (int): the run's seed.
    """
    key = dict(
        iters=args['iters'],
        split=args['split'],
        seed=seed,
        config=config_hash(prepare_config(row, args, '', seed)))
    src = row['checkpoint_of'] or row['pseudo_labels_of']
    if src:
        key['source'] = config_hash(
            prepare_config(all_rows[src], args, '', seed))
    return key
