"""tools/train.py, tools/test.py and tools/dist_train.sh end to end (CPU)."""
import glob
import os
import os.path as osp
import re
import socket
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs', 'demo',
    'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


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
    # The checkpoint of the first run was found and loaded (mmengine's two
    # messages for an auto-resume) ...
    latest = osp.join(work, 'iter_2.pth')
    assert f'Auto resumed from the latest checkpoint {latest}.' in out
    assert 'resumed epoch: 0, iter: 2' in out
    # ... and training went on from iteration 3 to 4, never from 1.
    trained = re.findall(r'Iter\(train\) \[(\d+)/4\]', out)
    assert trained == ['3', '4'], trained
    assert osp.isfile(osp.join(work, 'iter_4.pth'))


# Inherits the demo and zeroes its only loss from iteration 2 (0-based) on,
# so the third and last iteration logs a loss of exactly 0. DEBUG makes
# mmengine write one log file per rank; a window of 1 logs each
# iteration's own loss rather than a running mean.
PHASE_SWITCH_CFG = """_base_ = [{demo!r}]
custom_hooks = [
    dict(
        type='PhaseSwitchHook',
        phases=[dict(begin=2,
                     set={{'decode_head.loss_decode.loss_weight': 0.0}})])
]
log_level = 'DEBUG'
log_processor = dict(window_size=1)
"""


def test_dist_train_two_processes_gloo(synthetic_root, tmp_path):
    cfg = tmp_path / 'pce_phase_switch.py'
    cfg.write_text(PHASE_SWITCH_CFG.format(demo=DEMO))
    work = str(tmp_path / 'dist')
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    out = run(['bash', 'tools/dist_train.sh',
               str(cfg), '2', '--work-dir', work] +
              retarget(synthetic_root, 3),
              env=env)
    assert 'DDP over gloo' in out
    assert 'Iter(train) [3/3]' in out
    assert osp.isfile(osp.join(work, 'iter_3.pth'))
    # mmengine's environment report: two ranks in one DDP job
    assert 'Distributed training: True' in out
    assert 'GPU number: 2' in out  # mmengine's name for the world size
    # One log file per rank, each with its own process's switch, applied
    # through the DDP wrapper to the module it wraps.
    logs = {}
    for path in glob.glob(osp.join(work, '*', '*_rank*.log')):
        rank = int(re.search(r'_rank(\d+)\.log$', path).group(1))
        with open(path) as f:
            logs[rank] = f.read()
    assert sorted(logs) == [0, 1], sorted(logs)
    for rank, log in logs.items():
        switches = re.findall(r'PhaseSwitchHook: (.*)', log)
        assert switches == [
            'iter 2: decode_head.loss_decode.loss_weight 1.0 -> 0.0 '
            f'(phase 0, begin 2, rank {rank} of 2)'
        ], (rank, switches)
        # The switch reached the loss that trains: each rank's own loss is
        # positive before it and exactly 0 in the iteration after it.
        losses = dict(
            re.findall(r'Iter\(train\) \[(\d)/3\].*? loss: ([\d.]+)', log))
        assert float(losses['1']) > 0 and float(losses['2']) > 0, losses
        assert losses['3'] == '0.0000', (rank, losses)


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
