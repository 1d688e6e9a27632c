# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/runs.py: the runs' environment, the reuse
of finished runs (a cut-short result.json trained again) and the
per-volume scores a run keeps."""
import functools
import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest

from mmscribble.benchmark.mscmr import rows, runs

# The table's options (tools/benchmark/mscmr_table.py) of a 2-iteration run.
OPTS = dict(
    cfg_options=[],
    data_root=None,
    nifti_root=None,
    split='val',
    iters=2,
    threads=None,
    device='cpu')


@functools.lru_cache(maxsize=None)
def table_rows():
    """Every row of the table by id, read once (5 s): not to be changed."""
    return {r['id']: r for r in rows.discover()}


def test_run_env_hides_gpus_only_for_device_cpu(monkeypatch):
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0,1')
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    cpu = runs.run_env('cpu', threads=1)
    assert cpu['CUDA_VISIBLE_DEVICES'] == '' and cpu['OMP_NUM_THREADS'] == '1'
    for device in ('auto', 'cuda'):
        env = runs.run_env(device)
        assert env['CUDA_VISIBLE_DEVICES'] == '0,1'
        assert 'OMP_NUM_THREADS' not in env
    # A copy: the tool's own environment is unchanged.
    assert os.environ['CUDA_VISIBLE_DEVICES'] == '0,1'


def test_finished_runs_are_reused_for_the_same_key(tmp_path, capsys):
    # pce: seed 0 finished with its current key (reused), seed 1 with
    # another config (trained again), seed 2 never run; the test-only
    # urss-crf runs once, and its key names its source's config.
    all_rows = table_rows()
    pce, crf = dict(all_rows['pce']), dict(all_rows['urss-crf'])
    opts = OPTS
    key0 = rows.run_key(pce, all_rows, opts, 0)
    assert set(key0) == {'iters', 'split', 'seed', 'config'}
    assert (key0['iters'], key0['split'], key0['seed']) == (2, 'val', 0)
    for seed, key in ((0, key0), (1, dict(key0, config='other'))):
        folder = tmp_path / 'pce' / f'seed{seed}'
        folder.mkdir(parents=True)
        (folder / 'result.json').write_text(
            json.dumps(dict(key=key, seed=seed, metrics={'mIoU': 1.0})))
    todo = runs.plan_runs([pce, crf], all_rows, opts, str(tmp_path), 3)
    assert [(r['id'], run['run_seed']) for r, run, _, _ in todo] == [
        ('pce', 1), ('pce', 2), ('urss-crf', 0)
    ]
    assert [res['seed'] for res in pce['runs']] == [0]
    assert crf['runs'] == []
    assert 'pce seed 0: reused ' in capsys.readouterr().out
    _, run, key, done = todo[0]
    assert run['work_dir'] == os.path.join(str(tmp_path), 'pce', 'seed1')
    assert done == os.path.join(run['work_dir'], 'result.json')
    assert key == rows.run_key(pce, all_rows, opts, 1)
    crf_key = todo[2][2]
    assert crf_key['source'] == rows.run_key(all_rows['urss'], all_rows,
                                             opts, 0)['config']
    # --no-reuse: every run again.
    assert len(runs.plan_runs([pce], all_rows, opts, str(tmp_path), 3,
                              reuse=False)) == 3


def test_a_cut_short_result_is_trained_again_with_a_warning(tmp_path, capsys):
    # A crash while result.json was written used to stop every later
    # table run with a JSONDecodeError that named no file. The run is not
    # finished: it is trained again, and the warning names the file.
    all_rows = table_rows()
    pce, cdsp = dict(all_rows['pce']), dict(all_rows['cdsp'])
    opts = OPTS
    folder = tmp_path / 'pce' / 'seed0'
    folder.mkdir(parents=True)
    done = folder / 'result.json'
    done.write_text('{"key": {"iters": 2, "split": "val", "se')
    todo = runs.plan_runs([pce], all_rows, opts, str(tmp_path), 1)
    assert [(r['id'], run['run_seed'])
            for r, run, _, _ in todo] == [('pce', 0)]
    assert pce['runs'] == []
    err = capsys.readouterr().err
    assert f'WARNING: {done}: unreadable (' in err
    assert 'Training pce seed 0 again.' in err
    # A row that reads that run (cdsp, pce's pseudo-labels) is told which
    # file it cannot read, instead of raising out of the run.
    table = runs.TableRuns([cdsp], all_rows, opts, str(tmp_path), {},
                           str(tmp_path / 't.json'))
    run = dict(cdsp, run_seed=0, work_dir=str(tmp_path / 'cdsp' / 'seed0'))
    src, why = table.source_of(run, dict(source='pce config hash'), 'pce')
    assert src is None
    assert why.startswith(f'{done}: unreadable (')
    assert 'the run of row pce seed 0 that this row reads' in why


def test_volume_scores_keep_dice_and_distances_per_volume():
    nan = float('nan')
    volume = SimpleNamespace(
        per_volume={'v1': dict(RV=np.float64(0.5), Myo=nan)},
        per_volume_distances={
            'v1': dict(HD95_RV=np.float64(7.5), HD95_Myo=nan)
        })
    iou = SimpleNamespace()  # a metric without per-volume scores
    dice, dist = runs.volume_scores([iou, volume])
    assert dice == {'v1': dict(RV=0.5, Myo=pytest.approx(nan, nan_ok=True))}
    assert dist['v1']['HD95_RV'] == 7.5
    assert type(dist['v1']['HD95_RV']) is float  # JSON-ready
    assert math.isnan(dist['v1']['HD95_Myo'])
    # A metric without surface distances (surface_metrics=False): none.
    assert runs.volume_scores([
        SimpleNamespace(
            per_volume={'v1': dict(RV=0.5)}, per_volume_distances={})
    ])[1] == {}


def test_a_source_run_moved_from_another_work_folder_is_read(tmp_path):
    # mmengine's last_checkpoint holds an absolute path; a run folder moved
    # or copied in (a table split over work folders or machines) points
    # to where it was trained. Its checkpoint beside last_checkpoint is
    # used then, and an existing path is left as it is.
    all_rows = table_rows()
    lcc = dict(all_rows['pce-lcc'])
    src = tmp_path / 'pce' / 'seed0'
    src.mkdir(parents=True)
    (src / 'result.json').write_text(
        json.dumps(dict(key=dict(config='h'), metrics={'mIoU': 1})))
    (src / 'iter_8.pth').write_bytes(b'')
    last = src / 'last_checkpoint'
    last.write_text('/elsewhere/pce/seed0/iter_8.pth')
    table = runs.TableRuns([lcc], all_rows, OPTS, str(tmp_path), {},
                           str(tmp_path / 't.json'))
    run = dict(lcc, run_seed=0, work_dir=str(tmp_path / 'pce-lcc' / 'seed0'))
    got, why = table.source_of(run, dict(source='h'), 'pce')
    assert why is None
    assert got['source_checkpoint'] == str(src / 'iter_8.pth')
    other = tmp_path / 'other.pth'
    other.write_bytes(b'')
    last.write_text(str(other))
    got, _ = table.source_of(run, dict(source='h'), 'pce')
    assert got['source_checkpoint'] == str(other)
