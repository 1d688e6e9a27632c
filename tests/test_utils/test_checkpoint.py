"""mmengine checkpoints under torch's safe unpickler.

A pickle that runs code is refused after ``import mmscribble`` (conftest
imports it) and inside :func:`mmengine_safe_globals`; a real Runner
checkpoint loads inside it and only there; ``tools/train.py --resume`` and
``tools/test.py CONFIG CKPT`` read real checkpoints."""
import io
import os
import os.path as osp
import pickle
import subprocess
import sys
from contextlib import nullcontext

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from torch.utils.data import Dataset

from mmscribble.utils import (mmengine_checkpoint_globals,
                              mmengine_safe_globals)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def _touch(path):
    """What a malicious checkpoint would run: leaves a marker file."""
    open(path, 'w').close()


class RunsCode:
    """Unpickled by ``os.system``: the classic code-execution payload."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class RunsPython:
    """Unpickled by calling a module-level function of this file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return _touch, (self.marker, )


class ReachesAttribute:
    """``getattr(HistoryBuffer, name)``, the form the allowlist binds."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


@pytest.mark.parametrize('payload', [RunsCode, RunsPython])
def test_code_in_a_checkpoint_never_runs(payload, tmp_path):
    marker = tmp_path / 'pwned'
    ckpt = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': payload(str(marker))}, ckpt)
    # Through both of mmengine's entry points, with the allowlist of the
    # tools active and without it.
    for scoped in (False, True):
        with mmengine_safe_globals() if scoped else nullcontext():
            with pytest.raises(pickle.UnpicklingError):
                CheckpointLoader.load_checkpoint(ckpt)
            with pytest.raises(pickle.UnpicklingError):
                load_checkpoint(nn.Linear(1, 1), ckpt)
    assert not marker.exists()


@pytest.mark.parametrize('obj, name', [(HistoryBuffer, '__init__'),
                                       (HistoryBuffer, 'update'),
                                       (HistoryBuffer, '__class__'),
                                       (np.ndarray, 'tofile')])
def test_getattr_is_bound_to_history_buffer_statistics(obj, name, tmp_path):
    ckpt = str(tmp_path / 'getattr.pth')
    torch.save({'meta': ReachesAttribute(obj, name)}, ckpt)
    with mmengine_safe_globals():
        with pytest.raises(pickle.UnpicklingError):
            CheckpointLoader.load_checkpoint(ckpt)


def test_statistics_methods_load(tmp_path):
    # What mmengine's checkpoints hold: getattr(HistoryBuffer, 'min') ...
    ckpt = str(tmp_path / 'methods.pth')
    names = ('min', 'max', 'current', 'mean')
    torch.save([ReachesAttribute(HistoryBuffer, n) for n in names], ckpt)
    with mmengine_safe_globals():
        methods = torch.load(ckpt)
    assert methods == [getattr(HistoryBuffer, n) for n in names]


def test_allowlist_is_scoped_and_keeps_callers_entries():
    before = set(torch.serialization.get_safe_globals())
    torch.serialization.add_safe_globals([HistoryBuffer])
    try:
        with mmengine_safe_globals():
            inside = set(torch.serialization.get_safe_globals())
            assert set(mmengine_checkpoint_globals()) <= inside
        after = set(torch.serialization.get_safe_globals())
        # Removed on exit, except the entry the caller had added itself.
        assert after == before | {HistoryBuffer}
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(list(before))


def test_numpy_1_names_load():
    # Checkpoints written under numpy 1.x (OpenMMLab's model zoo) name the
    # array helpers numpy.core.multiarray; the legacy format keeps the
    # pickle's GLOBAL lines as plain text, so the numpy 2 names written
    # here can be turned into those.
    state = dict(
        history=np.arange(3, dtype=np.float64),
        count=np.ones(2, dtype=np.int64),
        best=np.float64(0.25),
        flag=np.bool_(True))
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    assert b'numpy._core.multiarray' in data
    old = data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray')
    with mmengine_safe_globals():
        for raw in (data, old):
            loaded = torch.load(io.BytesIO(raw))
            np.testing.assert_array_equal(loaded['history'], [0., 1., 2.])
            assert loaded['count'].dtype == np.int64
            assert loaded['best'] == 0.25 and loaded['flag']


def test_object_arrays_refused(tmp_path):
    ckpt = str(tmp_path / 'objects.pth')
    torch.save({'a': np.array([{'x': 1}], dtype=object)}, ckpt)
    with mmengine_safe_globals():
        with pytest.raises(pickle.UnpicklingError):
            torch.load(ckpt)


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=out.pow(2).mean())
        return out


class ToyData(Dataset):

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


def test_runner_checkpoint_loads_only_within_the_allowlist(tmp_path):
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False)),
        default_scope='mmseg',
        experiment_name='safe_globals')
    runner.train()
    ckpt = str(tmp_path / 'iter_2.pth')
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(ckpt)
    with mmengine_safe_globals():
        state = CheckpointLoader.load_checkpoint(ckpt)
    assert state['meta']['iter'] == 2
    loss = state['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    assert loss._log_history.dtype == np.float64 and len(loss._log_history)
    assert loss._statistics_methods['min'] is HistoryBuffer.min
    # and once more outside: the allowlist went with the block
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(ckpt)


def _retarget(data_root, iters):
    """Options that point the demo config at the synthetic data, small."""
    opts = [
        f'{split}_dataloader.{key}' for split in ('train', 'val', 'test')
        for key in (f'dataset.data_root={data_root}', 'num_workers=0',
                    'persistent_workers=False')
    ]
    return ['--cfg-options'] + opts + [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1'
    ]


def _run(args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable] + args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_tools_resume_and_test_a_real_checkpoint(synthetic_root, tmp_path):
    work = str(tmp_path / 'work')
    _run(['tools/train.py', DEMO, '--work-dir', work] +
         _retarget(synthetic_root, 1))
    ckpt = osp.join(work, 'iter_1.pth')
    # a Runner checkpoint: the safe loader alone refuses it
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt)
    out = _run(['tools/train.py', DEMO, '--work-dir', work, '--resume'] +
               _retarget(synthetic_root, 2))
    assert 'resumed checkpoint' in out.lower() or 'Iter(train) [2/2]' in out
    assert 'Iter(train) [1/2]' not in out
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    out = _run(['tools/test.py', DEMO, ckpt, '--work-dir', work] +
               _retarget(synthetic_root, 1))
    assert 'Load checkpoint from' in out and 'mIoU' in out
