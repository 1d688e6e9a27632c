"""cap_loader_workers: no more loader workers than usable cores, logged;
and tools/train.py / tools/test.py apply it to the final config."""
import logging
import os
import os.path as osp
import runpy
import sys

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmscribble.utils.loader_workers import cap_loader_workers, usable_cores

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VOC = osp.join(
    ROOT, 'configs', 'baseline',
    'pce_deeplabv3plus_r50-d8_4xb4-20k_voc12aug-scribble-'
    '512x512.py')
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


class Records(logging.Handler):

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log():
    logger = MMLogger.get_instance('test_loader_workers')
    handler = Records()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def loaders(**workers):
    return Config({
        key:
        dict(batch_size=1, num_workers=n, persistent_workers=n > 0)
        for key, n in workers.items()
    })


def test_voc_config_capped_at_two_cores_and_logged_once(log):
    cfg = Config.fromfile(VOC)
    assert [
        cfg[k].num_workers
        for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ] == [4, 4, 4]
    capped = cap_loader_workers(cfg, cores=2, logger='test_loader_workers')
    assert capped == dict(
        train_dataloader=4, val_dataloader=4, test_dataloader=4)
    assert [cfg[k].num_workers for k in capped] == [2, 2, 2]
    assert cfg.train_dataloader.persistent_workers is True
    assert log == [
        'train_dataloader.num_workers=4, val_dataloader.num_workers=4, '
        'test_dataloader.num_workers=4 lowered to 2: this process has 2 '
        'usable core(s) (the cap applies to --cfg-options values too)'
    ]


def test_values_at_or_below_the_cores_are_kept_without_a_line(log):
    cfg = loaders(train_dataloader=1, val_dataloader=2, test_dataloader=0)
    assert cap_loader_workers(cfg, cores=2, logger='test_loader_workers') == {}
    assert [cfg[k].num_workers for k in cfg] == [1, 2, 0]
    assert log == []


def test_never_below_one_worker(log):
    # mmengine/torch refuse persistent_workers=True with 0 workers, so a
    # machine reporting no core still keeps one worker.
    cfg = loaders(train_dataloader=4)
    assert cap_loader_workers(
        cfg, cores=0, logger='test_loader_workers') == dict(train_dataloader=4)
    assert cfg.train_dataloader.num_workers == 1
    assert cfg.train_dataloader.persistent_workers is True
    assert 'lowered to 1' in log[0]


def test_missing_or_empty_loaders_are_skipped():
    cfg = Config(
        dict(train_dataloader=dict(num_workers=3), val_dataloader=None))
    assert cap_loader_workers(cfg, cores=8) == {}
    assert cap_loader_workers(Config(), cores=1) == {}


def test_default_cores_are_the_affinity_set(monkeypatch, log):
    monkeypatch.setattr(
        os, 'sched_getaffinity', lambda pid: {0, 3}, raising=False)
    assert usable_cores() == 2
    cfg = loaders(train_dataloader=4, val_dataloader=1)
    assert cap_loader_workers(
        cfg, logger='test_loader_workers') == dict(train_dataloader=4)
    assert cfg.train_dataloader.num_workers == 2


class Built(Exception):
    """Raised by the stand-in Runner.from_cfg with the config it got."""


@pytest.fixture
def runner_cfg(monkeypatch):
    """Stop the tools at Runner.from_cfg and keep the config they built,
    on a machine reporting 2 cores."""
    monkeypatch.setattr(
        os, 'sched_getaffinity', lambda pid: {0, 1}, raising=False)

    def from_cfg(cfg):
        raise Built(cfg)

    monkeypatch.setattr(Runner, 'from_cfg', staticmethod(from_cfg))

    def run(tool, *args):
        monkeypatch.setattr(sys, 'argv', [tool, *args])
        with pytest.raises(Built) as built:
            runpy.run_path(osp.join(ROOT, tool), run_name='__main__')
        return built.value.args[0]

    return run


def data_options(root, train_workers):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'train_dataloader.num_workers={train_workers}'
    ]


def test_train_tool_caps_cfg_options_value(runner_cfg, synthetic_root,
                                           tmp_path):
    cfg = runner_cfg('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                     *data_options(synthetic_root, 4))
    assert cfg.train_dataloader.num_workers == 2  # asked 4 on the command
    assert cfg.val_dataloader.num_workers == 2  # the config's 2 kept


def test_test_tool_caps_and_keeps_zero(runner_cfg, synthetic_root, tmp_path):
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')
    cfg = runner_cfg('tools/test.py', DEMO, str(ckpt), '--work-dir',
                     str(tmp_path), *data_options(synthetic_root, 0),
                     'test_dataloader.num_workers=6')
    assert cfg.test_dataloader.num_workers == 2
    assert cfg.train_dataloader.num_workers == 0
