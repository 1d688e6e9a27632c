# Copyright (c) mmscribble contributors. All rights reserved.
"""What the table checks before its first run: for every row, the split
file, that its head is registered and its extras installed (else the row is
skipped, with the reason), its drop / shrink training labels (written when
missing) and every path it reads (data, split, meta file, NIfTI root,
weights)."""
import importlib.util
import os
import os.path as osp
import re

from .rows import UsageError, prepare_config

_VARIANT = re.compile(
    r'^(?P<base>.+)_(?P<kind>drop|shrink)(?P<ratio>[0-9.]+)$')


def check_rows(rows, opts):
    """Check every row before any run; mark the rows that cannot run.

    A row whose head is not registered (a method still being written) or
    that needs a missing extra (the CRF rows: ``pydensecrf``) gets a
    ``skipped`` reason and is printed as skipped; the label variant a row
    trains on is written when missing (printed).

    Args:
        rows (list[dict]): the rows to run.
        opts (dict): the table's options (see
            :func:`~mmscribble.benchmark.mscmr.rows.prepare_config`).

    Raises:
        UsageError: the split file of ``opts['split']`` is missing.
        FileNotFoundError: a path a row reads (``check_run_paths``).
    """
    import mmscribble  # noqa: F401  (registers the heads)
    from mmscribble.utils.run_paths import check_run_paths
    for r in rows:
        cfg = prepare_config(r, opts, '')
        split_file = osp.join(cfg.test_dataloader.dataset.data_root,
                              f'splits/{opts["split"]}.txt')
        if not osp.isfile(split_file):
            raise UsageError(f'--split {opts["split"]}: split file '
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
