"""Every shipped config builds its model and runs one training iteration
(pretrained=None, 32x32 input); every VOC config retargets to the fixture
with --cfg-options data_root=..."""
import copy
import functools
import glob
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import DATASETS, MODELS
from mmseg.structures import SegDataSample

from mmscribble.datasets.converters.scribble_variants import (drop_dir,
                                                              shrink_dir)
from mmscribble.utils import replace_sync_bn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                         recursive=True) if '/_base_/' not in p)


def cfg_id(path):
    return osp.relpath(path, osp.join(ROOT, 'configs'))


@functools.lru_cache(maxsize=None)
def _parsed(path):
    return Config.fromfile(path)


def load_config(path):
    """A config, parsed once per session: resolving an ``mmseg::`` base
    reloads pkg_resources (mmengine 0.10.7), ~0.3 s each. Tests get a copy,
    since they modify it."""
    return copy.deepcopy(_parsed(path))


def strip_pretrained(node):
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            return None
        return type(node)({k: strip_pretrained(v) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(strip_pretrained(v) for v in node)
    return node


def fake_batch(num_classes, size=32, n=2):
    torch.manual_seed(0)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 255, (3, size, size)).float())
        s = SegDataSample()
        lab = torch.full((1, size, size), 255, dtype=torch.long)
        lab[0, 2:4, 2:20] = 0
        lab[0, 20:22, 5:30] = min(i + 1, num_classes - 1)
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(
            data=torch.ones(1, size, size, dtype=torch.uint8))
        s.gt_boundary_map = PixelData(
            data=torch.zeros(1, size, size, dtype=torch.uint8))
        # SPML: two over-segmentation regions (top / bottom)
        sp = torch.zeros(1, size, size, dtype=torch.int32)
        sp[0, size // 2:] = 1
        s.gt_superpixel = PixelData(data=sp)
        # CDSP: a dense pseudo-label and its two distance maps
        pseudo = torch.zeros(1, size, size, dtype=torch.uint8)
        pseudo[0, 16:, 4:28] = min(i + 1, num_classes - 1)
        s.gt_pseudo_seg = PixelData(data=pseudo)
        s.gt_distance_map = PixelData(
            data=torch.linspace(0, 255, size * size).view(1, size, size))
        s.gt_distance_pseudo = PixelData(
            data=torch.linspace(255, 0, size * size).view(1, size, size))
        s.set_metainfo(
            dict(img_shape=(size, size), ori_shape=(size, size),
                 img_tags=sorted({0, min(i + 1, num_classes - 1)})))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


# AmpOptimWrapper's own arguments; OptimWrapper takes none of them.
AMP_KEYS = ('loss_scale', 'dtype', 'use_fsdp')


def cpu_optim_wrapper(cfg):
    """``cfg`` buildable on the CPU: mmengine's AmpOptimWrapper asserts a
    CUDA / NPU / MLU device, so an AMP config is built as an OptimWrapper
    (same optimizer, paramwise settings and clipping) after its AMP
    arguments are checked here; everything else is built as written."""
    cfg = copy.deepcopy(cfg)
    if cfg.get('type') == 'AmpOptimWrapper':
        assert cfg.get('loss_scale', 'dynamic') == 'dynamic', cfg
        cfg.type = 'OptimWrapper'
        for key in AMP_KEYS:
            cfg.pop(key, None)
    return cfg


def test_amp_config_is_built_with_its_optimizer_on_cpu():
    """The swap keeps the optimizer and its paramwise multipliers."""
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1))
    cfg = Config(
        dict(
            optim_wrapper=dict(
                type='AmpOptimWrapper',
                loss_scale='dynamic',
                optimizer=dict(type='SGD', lr=0.01, momentum=0.9),
                paramwise_cfg=dict(custom_keys={'0.bias': dict(lr_mult=3.)}),
                clip_grad=None))).optim_wrapper
    optim = build_optim_wrapper(model, cpu_optim_wrapper(cfg))
    assert type(optim).__name__ == 'OptimWrapper'
    assert cfg.type == 'AmpOptimWrapper'  # the config is left as it was
    lrs = sorted(g['lr'] for g in optim.optimizer.param_groups)
    assert lrs == pytest.approx([0.01, 0.03])


def test_configs_found():
    assert len(CONFIGS) >= 14


@pytest.mark.parametrize('path', CONFIGS, ids=cfg_id)
def test_one_training_iteration(path):
    cfg = load_config(path)
    init_default_scope('mmseg')
    model_cfg = strip_pretrained(replace_sync_bn(cfg.model))
    model_cfg['data_preprocessor']['size'] = (32, 32)
    # init_weights() is skipped: with pretrained=None it only re-draws the
    # random init (and logs every parameter), which costs seconds per model.
    model = MODELS.build(model_cfg)
    model.train()
    optim = build_optim_wrapper(model, cpu_optim_wrapper(cfg.optim_wrapper))
    num_classes = model.decode_head.num_classes
    before = [p.detach().clone() for p in model.decode_head.parameters()]
    log_vars = model.train_step(fake_batch(num_classes), optim)
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    assert log_vars['loss'] > 0
    after = list(model.decode_head.parameters())
    if cfg.optim_wrapper.optimizer.lr > 0:
        assert any(not torch.equal(a, b) for a, b in zip(after, before))
    model.eval()
    data = model.data_preprocessor(fake_batch(num_classes, n=1), False)
    with torch.no_grad():
        out = model.predict(data['inputs'], data['data_samples'])
    assert tuple(out[0].pred_sem_seg.shape) == (32, 32)


VOC_CONFIGS = [p for p in CONFIGS if 'voc12aug' in p]


def fixture_with_labels(voc_fixture, labels, tmp_path):
    """The fixture, plus the scribble-drop / -shrink folder a config reads,
    made by the converters as docs/converters.md says."""
    if osp.isdir(osp.join(voc_fixture, labels)):
        return voc_fixture
    if labels == 'spml_pseudo_labels':
        # What tools/spml_pseudo_labels.py writes for SPML's stage 2:
        # dense class-id PNGs, for which the fixture's dense labels stand in.
        root = tmp_path / 'voc'
        root.mkdir()
        for name in os.listdir(voc_fixture):
            os.symlink(osp.join(voc_fixture, name), root / name)
        os.symlink(osp.join(voc_fixture, 'SegmentationClassAug'),
                   root / labels)
        return str(root)
    m = re.fullmatch(r'pascal_2012_scribble_(drop|shrink)([0-9.]+)', labels)
    assert m, f'the fixture has no {labels} and no converter makes it'
    root = tmp_path / 'voc'
    root.mkdir()
    for name in os.listdir(voc_fixture):
        os.symlink(osp.join(voc_fixture, name), root / name)
    make = drop_dir if m.group(1) == 'drop' else shrink_dir
    make(osp.join(voc_fixture, 'pascal_2012_scribble'), str(root / labels),
         float(m.group(2)))
    return str(root)


def with_pseudo_labels(root, voc_fixture, folder, tmp_path):
    """``root``, plus the pseudo-label folder a CDSP config reads: Table
    3's other sources (SEAM, AFA) read their own folder, the fixture holds
    BMP's only, whose PNGs (same format: class ids) stand in."""
    if not folder or osp.isdir(osp.join(root, folder)):
        return root
    new = tmp_path / 'voc_pseudo'
    new.mkdir()
    for name in os.listdir(root):
        os.symlink(osp.join(root, name), new / name)
    os.symlink(osp.join(voc_fixture, 'bmp_pseudolabel'), new / folder)
    return str(new)


@pytest.mark.parametrize('path', VOC_CONFIGS, ids=cfg_id)
def test_voc_config_retargets_with_cfg_options(path, voc_fixture, tmp_path):
    cfg = load_config(path)
    prefix = cfg.train_dataloader.dataset.data_prefix
    train_root = fixture_with_labels(voc_fixture, prefix.seg_map_path,
                                     tmp_path)
    train_root = with_pseudo_labels(train_root, voc_fixture,
                                    prefix.get('gt_pseudo_seg'), tmp_path)
    # exactly what `tools/train.py CONFIG --cfg-options ...` does
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': train_root,
        'val_dataloader.dataset.data_root': voc_fixture,
    })
    init_default_scope('mmseg')
    train = DATASETS.build(cfg.train_dataloader.dataset)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(train) == 1 and len(val) == 1
    sample = train[0]['data_samples']
    crop = cfg.crop_size
    assert sample.gt_sem_seg.shape[0] <= crop[0]
    batch = pseudo_collate([train[0]])
    pre = MODELS.build(cfg.model.data_preprocessor)
    data = pre(batch, training=True)
    assert tuple(data['inputs'].shape[-2:]) == tuple(crop)
    assert val[0]['data_samples'].gt_sem_seg.shape == (366, 500)
