"""Soft self-labeling configs: one step in the self-labeling phase for
each distinct head set-up (test_all_configs.py trains every config at
iteration 0, before PhaseSwitchHook turns self-labeling on), the hook's
path on the built model, and the H x P grid of the ablations."""
import copy
import functools
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmscribble.engine.hooks.phase_switch_hook import get_by_path
from mmscribble.utils import replace_sync_bn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'softsl', '**', '*.py'),
              recursive=True) +
    glob.glob(osp.join(ROOT, 'configs', 'benchmark', 'mscmr', 'softsl*.py')))


@functools.lru_cache(maxsize=None)
def _parsed(path):
    return Config.fromfile(path)


def _strip(node):
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained':
            return None
        return type(node)({k: _strip(v) for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_strip(v) for v in node)
    return node


def _batch(num_classes, size=32, n=2):
    torch.manual_seed(0)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 255, (3, size, size)).float())
        lab = torch.full((1, size, size), 255, dtype=torch.long)
        lab[0, 2:4, 2:20] = 0
        lab[0, 20:22, 5:30] = min(i + 1, num_classes - 1)
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(
            data=torch.ones(1, size, size, dtype=torch.uint8))
        s.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def _setup(path):
    """What changes the code path of a step: head, backbone, mode,
    neighbourhood (H and P only change numbers)."""
    model = _parsed(path).model
    head = model.decode_head
    return (head.type, model.backbone.type, head.get('mode', 'soft'),
            head.neighbourhood.type)


def _distinct():
    seen, out = set(), []
    for p in CONFIGS:
        key = _setup(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def test_configs_found():
    assert len(CONFIGS) >= 32


def test_every_h_p_pair_once():
    from mmscribble.models.layers.potts import RELAXATIONS
    pairs = []
    for p in CONFIGS:
        cfg = _parsed(p)
        if 'shrink' in p or '-t4-' in p or 'r50' in p or 'r101' in p \
                or 'mscmr' in p:
            continue
        head = cfg.model.decode_head
        pairs.append((head.loss_self_label.cross_entropy, head.relaxation))
    assert sorted(pairs) == sorted(
        (h, r) for h in ('standard', 'reverse', 'collision')
        for r in RELAXATIONS)


@pytest.mark.parametrize(
    'path', _distinct(),
    ids=lambda p: osp.relpath(p, osp.join(ROOT, 'configs')))
def test_self_labeling_step(path):
    cfg = copy.deepcopy(_parsed(path))
    (hook, ) = [h for h in cfg.custom_hooks if h.type == 'PhaseSwitchHook']
    assert hook.phases[0].set == {'decode_head.self_labeling': True}
    assert 0 < hook.phases[0].begin < cfg.train_cfg.max_iters
    init_default_scope('mmseg')
    model_cfg = _strip(replace_sync_bn(copy.deepcopy(cfg.model)))
    model_cfg['data_preprocessor']['size'] = (32, 32)
    model_cfg['decode_head']['solver']['steps'] = 2
    model = MODELS.build(model_cfg)
    assert get_by_path(model, 'decode_head.self_labeling') is False
    model.decode_head.self_labeling = True
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(_batch(model.decode_head.num_classes), optim)
    assert 'decode.loss_self_label' in log_vars
    assert all(torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    gd = model.decode_head.mode == 'gd'
    assert ('decode.loss_potts' in log_vars) == gd
