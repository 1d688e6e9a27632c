"""tools/train.py, tools/test.py and tools/dist_train.sh end to end (CPU)."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def retarget(data_root, iters):
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'test_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.persistent_workers=False',
        'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1'
    ]


def run(cmd, env=None):
    # one intra-op thread per process: see tests/conftest.py
    env = dict(os.environ if env is None else env, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_train_then_test_with_tta_and_show_dir(synthetic_root, tmp_path):
    work = str(tmp_path / 'work')
    out = run([sys.executable, 'tools/train.py', DEMO, '--work-dir', work] +
              retarget(synthetic_root, 3))
    assert 'Iter(train) [3/3]' in out
    assert 'mIoU' in out
    ckpt = osp.join(work, 'iter_3.pth')
    assert osp.isfile(ckpt)
    show = str(tmp_path / 'show')
    out = run([
        sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir', work,
        '--show-dir', show
    ] + retarget(synthetic_root, 3) +
              ['default_hooks.visualization.interval=1'])
    assert 'mIoU' in out and 'mDice' in out
    assert len(glob.glob(osp.join(show, '**', '*.png'), recursive=True)) == 4
    out = run([sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir',
               work, '--tta'] + retarget(synthetic_root, 3))
    assert 'mIoU' in out
    pred_dir = str(tmp_path / 'pred')
    run([sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir', work,
         '--out', pred_dir] + retarget(synthetic_root, 3))
    assert len(glob.glob(osp.join(pred_dir, '*.png'))) == 4


def test_resume(synthetic_root, tmp_path):
    work = str(tmp_path / 'work')
    run([sys.executable, 'tools/train.py', DEMO, '--work-dir', work] +
        retarget(synthetic_root, 2))
    out = run([sys.executable, 'tools/train.py', DEMO, '--work-dir', work,
               '--resume'] + retarget(synthetic_root, 4) +
              ['default_hooks.checkpoint.interval=2'])
    assert 'resumed' in out.lower() or 'Iter(train) [3/4]' in out
    assert 'Iter(train) [1/4]' not in out


def test_dist_train_two_processes_gloo(synthetic_root, tmp_path):
    work = str(tmp_path / 'dist')
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    out = run(['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir', work] +
              retarget(synthetic_root, 3), env=env)
    assert 'DDP over gloo' in out
    assert 'Iter(train) [3/3]' in out
    assert osp.isfile(osp.join(work, 'iter_3.pth'))
    # mmengine's environment report: two ranks in one DDP job
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size


def test_bad_config_path_is_named(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/nope.py'],
        cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert 'config file not found: configs/nope.py' in proc.stderr


@pytest.mark.parametrize('script', ['train.py', 'test.py'])
def test_help_lists_mmseg_flags(script):
    out = run([sys.executable, f'tools/{script}', '--help'])
    for flag in ('--work-dir', '--cfg-options', '--launcher'):
        assert flag in out
