"""Check every file and folder a run reads, when the run is built.

A wrong path should stop a run before its first iteration, not after the
training and a whole validation pass (a metric that opens its
``meta.json`` in ``compute_metrics``, a cue folder read by the first
batch). :func:`check_run_paths` walks a config and collects every local
path the run will read:

* datasets of ``train_dataloader`` / ``val_dataloader`` /
  ``test_dataloader`` (``ConcatDataset`` and ``RepeatDataset`` wrappers
  followed): ``data_root``, the split file ``ann_file`` and every folder of
  ``data_prefix`` (images, labels, pseudo-labels, distance maps,
  superpixels, ...), each relative to ``data_root`` as mmseg joins them;
* metrics of ``val_evaluator`` / ``test_evaluator``: ``meta_file`` (a file)
  and ``nifti_root`` (a folder), as :class:`VolumeDiceMetric` reads them;
* weights: ``load_from`` and, when training, every ``init_cfg`` of type
  ``Pretrained`` whose ``checkpoint`` is a local path (URLs and ``scheme://`` names such
  as ``mmscribble://`` or ``open-mmlab://`` are resolved by their loaders
  and not checked here).

Every missing path is reported at once, each line naming the config key
(the dotted key ``--cfg-options`` takes) and the path, so one run of
``tools/train.py`` shows every fix to make.

``tools/train.py`` checks the train (and, when the config validates, the
val) paths, ``tools/test.py`` the test paths, and
``tools/benchmark/mscmr_table.py`` the train and test paths of every row
before the first row trains.
"""
import os.path as osp
from typing import Iterable, List, Tuple

PHASES = ('train', 'val', 'test')
# Metric arguments that name a path, and whether it is a file or a folder.
METRIC_PATHS = (('meta_file', 'file'), ('nifti_root', 'folder'))


def _get(cfg, key, default=None):
    try:
        return cfg.get(key, default)
    except AttributeError:
        return default


def _is_remote(path: str) -> bool:
    return '://' in path


def _dataset_paths(ds, key: str) -> List[Tuple[str, str, str]]:
    out = []
    if not isinstance(ds, dict):
        return out
    if 'datasets' in ds:  # ConcatDataset
        for i, sub in enumerate(ds['datasets']):
            out += _dataset_paths(sub, f'{key}.datasets[{i}]')
        return out
    if 'dataset' in ds:  # RepeatDataset, ClassBalancedDataset, ...
        return _dataset_paths(ds['dataset'], f'{key}.dataset')
    root = ds.get('data_root') or ''
    if isinstance(root, str) and root and not _is_remote(root):
        out.append((f'{key}.data_root', root, 'folder'))
    ann = ds.get('ann_file') or ''
    if isinstance(ann, str) and ann and not _is_remote(ann):
        out.append((f'{key}.ann_file', osp.join(root, ann), 'file'))
    for name, sub in (ds.get('data_prefix') or {}).items():
        if isinstance(sub, str) and not _is_remote(sub):
            out.append(
                (f'{key}.data_prefix.{name}', osp.join(root, sub), 'folder'))
    return out


def _evaluator_paths(ev, key: str) -> List[Tuple[str, str, str]]:
    out = []
    if isinstance(ev, (list, tuple)):
        for i, sub in enumerate(ev):
            out += _evaluator_paths(sub, f'{key}[{i}]')
        return out
    if not isinstance(ev, dict):
        return out
    if 'metrics' in ev:  # an Evaluator dict
        return _evaluator_paths(ev['metrics'], f'{key}.metrics')
    for name, kind in METRIC_PATHS:
        path = ev.get(name)
        if isinstance(path, str) and path and not _is_remote(path):
            out.append((f'{key}.{name}', path, kind))
    return out


def _weight_paths(node, key: str) -> List[Tuple[str, str, str]]:
    out = []
    if isinstance(node, (list, tuple)):
        for i, sub in enumerate(node):
            out += _weight_paths(sub, f'{key}[{i}]')
    elif isinstance(node, dict):
        for name, sub in node.items():
            sub_key = f'{key}.{name}'
            if name == 'init_cfg':
                for init_key, init in (
                    [(sub_key, sub)] if isinstance(sub, dict) else
                    [(f'{sub_key}[{i}]', s)
                     for i, s in enumerate(sub or [])]):
                    ckpt = init.get('checkpoint') if isinstance(
                        init, dict) and init.get('type') == 'Pretrained' \
                        else None
                    if isinstance(ckpt, str) and not _is_remote(ckpt):
                        out.append((f'{init_key}.checkpoint', ckpt, 'file'))
            elif name == 'pretrained' and isinstance(sub, str):
                if not _is_remote(sub):
                    out.append((sub_key, sub, 'file'))
            else:
                out += _weight_paths(sub, sub_key)
    return out


def run_paths(cfg, phases: Iterable[str] = PHASES
              ) -> List[Tuple[str, str, str]]:
    """Every local path ``cfg`` reads in ``phases``.

    Args:
        cfg (Config | dict): a full run config.
        phases (Iterable[str]): any of ``'train'``, ``'val'``, ``'test'``.
            ``load_from`` is read by every phase, the ``Pretrained``
            weights of ``model`` only when training (a test run loads the
            whole model from its checkpoint instead).

    Returns:
        list[tuple[str, str, str]]: ``(config key, path, 'file' | 'folder')``.
    """
    phases = tuple(phases)
    bad = [p for p in phases if p not in PHASES]
    if bad:
        raise ValueError(f'phases must be among {PHASES}, got {bad}')
    out = []
    for phase in phases:
        loader = _get(cfg, f'{phase}_dataloader')
        if isinstance(loader, dict):
            out += _dataset_paths(
                loader.get('dataset'), f'{phase}_dataloader.dataset')
        if phase != 'train':
            out += _evaluator_paths(
                _get(cfg, f'{phase}_evaluator'), f'{phase}_evaluator')
    if 'train' in phases:
        out += _weight_paths(_get(cfg, 'model'), 'model')
    load_from = _get(cfg, 'load_from')
    if isinstance(load_from, str) and load_from and not _is_remote(load_from):
        out.append(('load_from', load_from, 'file'))
    return out


def missing_paths(cfg, phases: Iterable[str] = PHASES
                  ) -> List[Tuple[str, str, str]]:
    """The entries of :func:`run_paths` that do not exist on disk."""
    exists = dict(file=osp.isfile, folder=osp.isdir)
    return [(key, path, kind) for key, path, kind in run_paths(cfg, phases)
            if not exists[kind](path)]


def path_error(key: str, path: str, kind: str) -> str:
    """The one message format for a missing path: config key, kind, path."""
    return (f'{key}: {kind} not found: {path} (set {key} in the config or '
            f'with --cfg-options {key}=...)')


def check_run_paths(cfg, phases: Iterable[str] = PHASES,
                    what: str = 'config') -> None:
    """Raise before training when a path the run reads does not exist.

    Args:
        cfg (Config | dict): a full run config.
        phases (Iterable[str]): the phases the run goes through.
        what (str): how the message names the run (a config file, a row).

    Raises:
        FileNotFoundError: listing every missing path with its config key.
    """
    missing = missing_paths(cfg, phases)
    if missing:
        lines = '\n  '.join(path_error(*m) for m in missing)
        raise FileNotFoundError(
            f'{what}: {len(missing)} path(s) the run reads do not exist '
            f'(checked before training):\n  {lines}')


def run_phases(cfg, mode: str) -> Tuple[str, ...]:
    """The phases ``tools/train.py`` (``mode='train'``) or ``tools/test.py``
    (``mode='test'``) go through for ``cfg``: training validates only when
    ``val_cfg``, ``val_dataloader`` and ``val_evaluator`` are all set."""
    if mode == 'test':
        return ('test', )
    if mode != 'train':
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    if all(_get(cfg, k) is not None
           for k in ('val_cfg', 'val_dataloader', 'val_evaluator')):
        return ('train', 'val')
    return ('train', )
