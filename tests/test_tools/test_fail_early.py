"""A wrong path stops a run before iteration 1, naming the config key:
mmscribble/utils/run_paths.py, VolumeDiceMetric at construction, and
tools/train.py / tools/test.py on the synthetic shapes."""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmscribble.utils.run_paths import (check_run_paths, missing_paths,
                                        run_paths, run_phases)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def small_cfg(tmp_path):
    """A config dict naming every kind of path, all of them in tmp_path."""
    root = str(tmp_path)
    ds = dict(
        data_root=root,
        ann_file='splits/train.txt',
        data_prefix=dict(
            img_path='img', seg_map_path='ann', gt_pseudo_seg='pseudo'))
    return dict(
        train_dataloader=dict(dataset=dict(type='RepeatDataset', dataset=ds)),
        val_dataloader=dict(
            dataset=dict(
                type='ConcatDataset',
                datasets=[dict(data_root=root, data_prefix=dict(
                    img_path='img'))])),
        val_evaluator=[
            dict(type='IoUMetric'),
            dict(
                type='VolumeDiceMetric',
                meta_file=osp.join(root, 'meta.json'),
                nifti_root=osp.join(root, 'raw'))
        ],
        test_evaluator=dict(
            metrics=[dict(type='VolumeDiceMetric',
                          meta_file='s3://bucket/meta.json',
                          nifti_root=osp.join(root, 'raw'))]),
        model=dict(
            backbone=dict(
                init_cfg=dict(
                    type='Pretrained',
                    checkpoint=osp.join(root, 'w.pth'))),
            decode_head=dict(init_cfg=[
                dict(type='Normal', std=0.01),
                dict(type='Pretrained', checkpoint='mmscribble://x')
            ]),
            pretrained='open-mmlab://resnet50_v1c'),
        load_from=osp.join(root, 'last.pth'))


def test_run_paths_names_every_key(tmp_path):
    cfg = small_cfg(tmp_path)
    r = str(tmp_path)
    got = run_paths(cfg)
    assert got == [
        ('train_dataloader.dataset.dataset.data_root', r, 'folder'),
        ('train_dataloader.dataset.dataset.ann_file',
         osp.join(r, 'splits/train.txt'), 'file'),
        ('train_dataloader.dataset.dataset.data_prefix.img_path',
         osp.join(r, 'img'), 'folder'),
        ('train_dataloader.dataset.dataset.data_prefix.seg_map_path',
         osp.join(r, 'ann'), 'folder'),
        ('train_dataloader.dataset.dataset.data_prefix.gt_pseudo_seg',
         osp.join(r, 'pseudo'), 'folder'),
        ('val_dataloader.dataset.datasets[0].data_root', r, 'folder'),
        ('val_dataloader.dataset.datasets[0].data_prefix.img_path',
         osp.join(r, 'img'), 'folder'),
        ('val_evaluator[1].meta_file', osp.join(r, 'meta.json'), 'file'),
        ('val_evaluator[1].nifti_root', osp.join(r, 'raw'), 'folder'),
        # the s3:// meta_file is left to its loader
        ('test_evaluator.metrics[0].nifti_root', osp.join(r, 'raw'),
         'folder'),
        # mmscribble:// and open-mmlab:// are resolved by their loaders
        ('model.backbone.init_cfg.checkpoint', osp.join(r, 'w.pth'), 'file'),
        ('load_from', osp.join(r, 'last.pth'), 'file'),
    ]
    # A test run loads the whole model from load_from, not the backbone's
    # ImageNet weights.
    keys = [k for k, _, _ in run_paths(cfg, ('test', ))]
    assert keys == ['test_evaluator.metrics[0].nifti_root', 'load_from']
    with pytest.raises(ValueError, match='phases'):
        run_paths(cfg, ('training', ))


def test_missing_paths_and_message(tmp_path):
    cfg = small_cfg(tmp_path)
    for d in ('img', 'ann', 'raw', 'splits'):
        (tmp_path / d).mkdir()
    (tmp_path / 'splits' / 'train.txt').write_text('a\n')
    (tmp_path / 'w.pth').write_bytes(b'')
    (tmp_path / 'last.pth').write_bytes(b'')
    assert [k for k, _, _ in missing_paths(cfg)] == [
        'train_dataloader.dataset.dataset.data_prefix.gt_pseudo_seg',
        'val_evaluator[1].meta_file'
    ]
    with pytest.raises(FileNotFoundError) as err:
        check_run_paths(cfg, what='my.py')
    msg = str(err.value)
    assert msg.startswith('my.py: 2 path(s) the run reads do not exist')
    assert ('val_evaluator[1].meta_file: file not found: '
            f'{osp.join(str(tmp_path), "meta.json")} (set '
            'val_evaluator[1].meta_file in the config or with --cfg-options '
            'val_evaluator[1].meta_file=...)') in msg
    assert 'data_prefix.gt_pseudo_seg: folder not found: ' in msg
    (tmp_path / 'pseudo').mkdir()
    (tmp_path / 'meta.json').write_text('{}')
    check_run_paths(cfg)


def test_run_phases():
    cfg = dict(val_cfg=dict(), val_dataloader=dict(a=1),
               val_evaluator=dict(type='IoUMetric'))
    assert run_phases(cfg, 'train') == ('train', 'val')
    cfg['val_cfg'] = None  # the table tool: no validation while training
    assert run_phases(cfg, 'train') == ('train', )
    assert run_phases(cfg, 'test') == ('test', )
    with pytest.raises(ValueError, match='mode'):
        run_phases(cfg, 'val')


def demo_cfg(data_root, work_dir, meta_file):
    cfg = Config.fromfile(DEMO)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 2
    cfg.val_evaluator = [
        dict(type='IoUMetric'),
        dict(type='VolumeDiceMetric', meta_file=meta_file,
             nifti_root=data_root)
    ]
    cfg.work_dir = work_dir
    return cfg


def test_metric_alone_fails_before_iteration_1(synthetic_root, tmp_path):
    # Without the tools' check (a user's own script around the Runner):
    # the Runner builds the validation evaluator when train() starts.
    from mmengine.runner import Runner
    cfg = demo_cfg(synthetic_root, str(tmp_path / 'work'),
                   str(tmp_path / 'moved' / 'meta.json'))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FileNotFoundError,
                       match=r'meta_file: file not found: .*moved/meta.json'):
        runner.train()
    assert runner.iter == 0
    assert not [f for f in os.listdir(tmp_path / 'work')
                if f.endswith('.pth')]


def train_cmd(config, *opts):
    return [sys.executable, 'tools/train.py', config, '--cfg-options',
            *opts]


def run_tool(cmd):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_train_tool_fails_before_iteration_1(synthetic_root, tmp_path):
    # The case: the data moved, the config's meta.json and a cue
    # folder now point nowhere; tools/train.py names both keys at once,
    # before the Runner (no log, no iteration, no checkpoint).
    cfg = demo_cfg(synthetic_root, str(tmp_path / 'work'),
                   str(tmp_path / 'moved' / 'meta.json'))
    cfg.train_dataloader.dataset.data_prefix.gt_pseudo_seg = 'pseudo/train'
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    proc = run_tool(train_cmd(path, 'train_cfg.max_iters=1'))
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert 'FileNotFoundError: ' + path + ': 2 path(s)' in log, log[-3000:]
    assert ('train_dataloader.dataset.data_prefix.gt_pseudo_seg: folder not '
            f'found: {osp.join(synthetic_root, "pseudo/train")}') in log
    assert 'val_evaluator[1].meta_file: file not found: ' in log
    assert 'Iter(train)' not in log
    assert not osp.exists(tmp_path / 'work')


def test_test_tool_checks_its_split(synthetic_root, tmp_path):
    cfg = demo_cfg(synthetic_root, str(tmp_path / 'work'),
                   str(tmp_path / 'meta.json'))
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    ckpt = tmp_path / 'model.pth'
    ckpt.write_bytes(b'')
    proc = run_tool([
        sys.executable, 'tools/test.py', path,
        str(ckpt), '--cfg-options', 'test_dataloader.dataset.ann_file='
        'splits/missing.txt'
    ])
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert ('test_dataloader.dataset.ann_file: file not found: '
            f'{osp.join(synthetic_root, "splits/missing.txt")}') in log, \
        log[-3000:]
