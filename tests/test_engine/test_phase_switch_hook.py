"""PhaseSwitchHook: switches at >= begin, resume-safe, logs each switch.

The DDP-unwrapped path runs in two gloo processes in
tests/test_tools/test_train_test_dist.py."""
import logging

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmscribble.engine.hooks import PhaseSwitchHook
from mmscribble.engine.hooks.phase_switch_hook import set_by_path
from mmscribble.utils import mmengine_safe_globals


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)
        self.head = nn.Module()
        self.head.use_extra = False
        self.losses = nn.ModuleList([nn.Module(), nn.Module()])
        self.losses[1].loss_weight = 0.0
        self.trace = []

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs)
        out = self.linear(x).sum()
        if mode == 'loss':
            self.trace.append((self.head.use_extra,
                               self.losses[1].loss_weight))
            return dict(loss=out * (1 + self.losses[1].loss_weight))
        return out


class ToyData(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.ones(2))


def make_runner(tmp_path, max_iters, resume=False, load_from=None):
    return Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[
            dict(
                type='PhaseSwitchHook',
                phases=[
                    dict(begin=3, set={'head.use_extra': True}),
                    dict(begin=5, set={'losses.1.loss_weight': 30.0}),
                ])
        ],
        default_scope='mmseg',
        resume=resume,
        load_from=load_from,
        experiment_name=f'exp{max_iters}{resume}')


def test_switches_at_begin_and_logs(tmp_path):
    runner = make_runner(tmp_path, 6)
    runner.train()
    trace = runner.model.trace
    # runner.iter before iteration k is k (0-based)
    assert trace == [(False, 0.0)] * 3 + [(True, 0.0)] * 2 + [(True, 30.0)]
    # The runner's log file: one line per switch, old -> new value read
    # back from the model, no rank in a single-process run.
    with open(runner.logger.log_file) as f:
        lines = f.read().splitlines()
    events = []
    for line in lines:
        if 'PhaseSwitchHook: ' in line:
            events.append(line.split('PhaseSwitchHook: ', 1)[1])
        elif 'Iter(train) [' in line:
            events.append(line.split('Iter(train) ', 1)[1].split(']')[0] +
                          ']')
    # Each switch is logged after the iteration before ``begin`` and
    # before the first iteration that trains with it.
    assert events == [
        '[1/6]', '[2/6]', '[3/6]',
        'iter 3: head.use_extra False -> True (phase 0, begin 3)',
        '[4/6]', '[5/6]',
        'iter 5: losses.1.loss_weight 0.0 -> 30.0 (phase 1, begin 5)',
        '[6/6]'
    ]


def test_resume_past_switch_point(tmp_path):
    make_runner(tmp_path, 4).train()  # checkpoint at iter 4, past begin=3
    runner = make_runner(tmp_path, 6, resume=True)
    # A Runner driven directly reads its checkpoint as tools/train.py does.
    with mmengine_safe_globals():
        runner.train()
    # fresh model (use_extra False) but resumed at iter 4: switched at once
    assert runner.model.trace == [(True, 0.0), (True, 30.0)]
    # Two runs started in the same second share one log file (mmengine names
    # it by the time): read what the resumed run logged after resuming.
    with open(runner.logger.log_file) as f:
        log = f.read()
    assert 'resumed epoch: 0, iter: 4' in log
    log = log.split('resumed epoch: 0, iter: 4', 1)[1]
    switches = [
        line.split('PhaseSwitchHook: ', 1)[1] for line in log.splitlines()
        if 'PhaseSwitchHook: ' in line
    ]
    assert switches == [
        'iter 4: head.use_extra False -> True (phase 0, begin 3)',
        'iter 5: losses.1.loss_weight 0.0 -> 30.0 (phase 1, begin 5)'
    ]


def test_bad_path_fails_before_training():
    hook = PhaseSwitchHook(phases=[dict(begin=1, set={'head.nope': 1})])

    class R:
        model = ToyModel()
        logger = logging.getLogger('t')

    with pytest.raises(AttributeError, match='head.nope'):
        hook.before_train(R())


def test_validation_and_set_by_path():
    with pytest.raises(ValueError, match='at least one'):
        PhaseSwitchHook(phases=[])
    with pytest.raises(ValueError, match='begin=ITER'):
        PhaseSwitchHook(phases=[dict(at=3, set={'a': 1})])
    m = ToyModel()
    assert set_by_path(m, 'losses.1.loss_weight', 2.0) == 0.0
    assert m.losses[1].loss_weight == 2.0
    with pytest.raises(AttributeError, match='typo'):
        set_by_path(m, 'head.use_extr', True)
