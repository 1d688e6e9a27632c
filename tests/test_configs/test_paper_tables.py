"""Each method's main VOC configs hold the values its page's "paper /
authors' code / here" table states (configs/<method>/README.md).

``TABLES[method]`` lists the main configs and, per value, the resolved
key path, the expected value and a phrase of the page's table that states
it: the test fails when a config drifts from its page, and when the page
no longer states what the config holds.
"""
import functools
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS

import mmscribble  # noqa: F401 (registers the heads)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

SPML = ('spml/spml_r50-d8_4xb3-30k_voc12aug-scribble-512x512.py',
        'spml/spml_r101-d8_4xb3-30k_voc12aug-scribble-512x512.py')
SOFTSL = ('softsl/softsl_deeplabv3plus_r50-d8_1xb12-53k_voc12aug-'
          'scribble-512x512.py',
          'softsl/softsl_deeplabv3plus_r101-d8_1xb12-53k_voc12aug-'
          'scribble-512x512.py')
BLPSEG = ('blpseg/blpseg_upernet_r50_2xb5-42k_voc12aug-scribble-384x384.py',
          'blpseg/blpseg_upernet_r101_2xb5-42k_voc12aug-scribble-'
          '384x384.py',
          'blpseg/blpseg_upernet_r101_2xb4-53k_pascal-context-scribble-'
          '384x384.py')
CDSP = ('cdsp/cdsp_deeplabv2_r50-d8_1xb16-33k_voc12aug-scribble-465x465.py',
        'cdsp/cdsp_deeplabv2_r101-d8_1xb16-33k_voc12aug-scribble-'
        '465x465.py')
URSS = ('urss/urss_deeplabv2_r50-d8_2xb8-66k_voc12aug-scribble-465x465.py',
        'urss/urss_deeplabv2_r101-d8_2xb8-66k_voc12aug-scribble-465x465.py')

# method -> (configs, [(key path, expected value, phrase of the table)]).
TABLES = {
    'spml': (SPML, [
        ('model.decode_head.embedding', 'aspp_direct',
         "`SPMLHead(embedding='aspp_direct')`"),
        ('model.decode_head.dilations', (6, 12, 18, 24),
         'rates 6, 12, 18, 24'),
        ('model.decode_head.in_channels.1', 2048,
         'from the 2048 channels of the last stage straight to 64'),
        ('model.decode_head.embed_dims', 64, 'straight to 64'),
        ('optim_wrapper.paramwise_cfg.custom_keys.decode_head.lr_mult', 10.,
         '`decode_head` at 10x'),
        ('model.backbone.frozen_stages', 1, '`backbone.frozen_stages=1`'),
        ('model.backbone.strides', (1, 2, 1, 1), 'output stride 8'),
        ('optim_wrapper.optimizer.weight_decay', 5e-4, '`WD=5e-4`'),
    ]),
    'softsl': (SOFTSL, [
        ('optim_wrapper.optimizer.weight_decay', 5e-4, "5e-4, rloss's"),
        ('optim_wrapper.optimizer.lr', 0.007, "0.007, rloss's"),
        ('train_cfg.max_iters', 60 * (10582 // 12), '= 52,860'),
        ('model.backbone.strides', (1, 2, 1, 1), '| output stride |'),
        ('model.backbone.dilations', (1, 1, 2, 4), 'mmseg\'s DeepLabV3+ `d8`'),
        ('crop_size', (512, 512), '512x512 (mmseg\'s VOC crop)'),
        ('model.decode_head.solver.steps', 200, '200 steps, lr 0.075'),
        ('model.decode_head.solver.lr', 0.075, '200 steps, lr 0.075'),
        ('model.auxiliary_head', None, '`auxiliary_head=None`'),
    ]),
    'blpseg': (BLPSEG, [
        ('optim_wrapper.type', 'AmpOptimWrapper',
         '`AmpOptimWrapper`, dynamic loss scale'),
        ('optim_wrapper.loss_scale', 'dynamic', 'dynamic loss scale'),
        ('optim_wrapper.optimizer.type', 'AdamW', None),
        ('model.auxiliary_head', None, '`auxiliary_head=None`'),
        ('model.decode_head.dropout_ratio', 0.0, '`dropout_ratio=0`'),
        ('model.decode_head.self_training_mode', 'replace',
         "`self_training_mode='replace'`"),
    ]),
    'cdsp': (CDSP, [
        ('optim_wrapper.type', 'OptimWrapper',
         'the configs keep `OptimWrapper`'),
        ('optim_wrapper.optimizer.weight_decay', 5e-4, None),
        ('train_cfg.max_iters', 33100, None),
        ('crop_size', (465, 465), '465x465'),
    ]),
    'urss': (URSS, [
        ('model.decode_head.random_walk.similarity', 'raw',
         "`random_walk=dict(similarity='raw')`"),
        ('model.decode_head.dropout_ratio', 0.1, 'dropout 0.1'),
        ('model.decode_head.dilations', (6, 12, 18, 24),
         'rates 6, 12, 18, 24'),
        ('model.decode_head.loss_eigen.trace_loss', 'l1',
         'L1, `gamma = 0.01`'),
        ('model.decode_head.loss_eigen.gamma', 0.01, 'L1, `gamma = 0.01`'),
        ('model.decode_head.loss_eigen.detach_target', True,
         '`detach_target=True`'),
        ('custom_hooks.0.phases.0.begin', 33100, 'at iteration 33100'),
        ('custom_hooks.0.phases.0.set.decode_head.loss_eigen.loss_weight',
         30.0, '`omega2 = 30`'),
    ]),
}
CASES = [(method, path, key, value, phrase)
         for method, (paths, rows) in TABLES.items() for path in paths
         for key, value, phrase in rows]


@functools.lru_cache(maxsize=None)
def _config(path):
    return Config.fromfile(osp.join(ROOT, 'configs', path))


@functools.lru_cache(maxsize=None)
def _table(method):
    """The page's "paper / authors' code / here" section."""
    with open(osp.join(ROOT, 'configs', method, 'README.md')) as f:
        text = f.read()
    m = re.search(r"^## Paper[^\n]*authors' code.*?(?=^## )", text,
                  re.M | re.S)
    assert m, f'configs/{method}/README.md has no paper / code / here table'
    return m.group(0)


def resolve(node, path):
    """``node`` at a dotted ``path``; digits index lists. The keys of the
    ``set`` dict of a phase are dotted themselves, so a key that is not
    found whole is tried with the rest of the path joined."""
    parts = path.split('.')
    while parts:
        part = parts.pop(0)
        if isinstance(node, (list, tuple)):
            node = node[int(part)]
        elif part in node:
            node = node[part]
        else:
            rest = '.'.join([part] + parts)
            assert rest in node, f'{path}: no {part!r} in {sorted(node)}'
            return node[rest]
    return node


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize(
    'method,path,key,value,phrase',
    CASES,
    ids=[f'{c[1].split("/")[-1][:24]}-{c[2]}' for c in CASES])
def test_config_holds_what_the_page_states(method, path, key, value, phrase):
    got = resolve(_config(path), key)
    if isinstance(value, float):
        assert got == pytest.approx(value), (path, key)
    else:
        assert _plain(got) == _plain(value), (path, key)
    if phrase is not None:
        assert phrase in _table(method), (
            f'configs/{method}/README.md no longer states {phrase!r}')


@pytest.mark.parametrize('path', SPML + SOFTSL)
def test_no_photometric_distortion(path):
    """Neither SPML nor soft self-labeling (paper or code) distorts
    colours; their pages say so."""
    cfg = _config(path)
    names = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert 'PhotoMetricDistortion' not in names
    assert names[-1] == 'PackScribbleInputs'
    method = path.split('/')[0]
    assert 'no photometric distortion' in _table(method)


def test_spml_head_is_the_authors_aspp_sum_upsampled_twice():
    """The VOC config's head against the authors' forward written out:
    sum of the dilated 3x3 convolutions (with bias, no BN, no ReLU) of the
    last stage, bilinear x2, unit length; the stride-4 input unused."""
    head_cfg = _config(SPML[1]).model.decode_head.to_dict()
    head_cfg.update(in_channels=[3, 5], norm_cfg=dict(type='BN'))
    torch.manual_seed(0)
    head = MODELS.build(head_cfg).eval()
    assert not hasattr(head, 'fuse') and not hasattr(head, 'low_proj')
    feats = [torch.randn(2, 3, 12, 12), None, None, torch.randn(2, 5, 6, 6)]
    emb, logits = head.forward_embedding(feats)
    x = sum(
        F.conv2d(feats[3], b.conv.weight, b.conv.bias, padding=d, dilation=d)
        for b, d in zip(head.aspp, (6, 12, 18, 24)))
    ref = F.normalize(
        F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False),
        dim=1)
    assert emb.shape == (2, 64, 12, 12)
    torch.testing.assert_close(emb, ref)
    torch.testing.assert_close(logits, head.conv_seg(emb))
    assert head.gather_across_ranks  # the authors' cross-GPU pool


def test_spml_lr_mult_and_frozen_stages_act_on_the_model():
    """The paramwise key names the segmentor's head (10x its rate) and
    frozen_stages=1 stops the stem and the first stage, as the authors'
    optimizer leaves out conv1 and res2."""
    cfg = _config(SPML[0])

    class Segmentor(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.backbone = torch.nn.Conv2d(1, 1, 1)
            self.decode_head = torch.nn.Conv2d(1, 1, 1)

    optim = build_optim_wrapper(Segmentor(), cfg.optim_wrapper)
    lrs = sorted({g['lr'] for g in optim.optimizer.param_groups})
    assert lrs == pytest.approx([0.003, 0.03])
    backbone = cfg.model.backbone.to_dict()
    backbone.update(depth=18, init_cfg=None, norm_cfg=dict(type='BN'))
    net = MODELS.build(backbone)
    net.train()
    frozen = {
        n.split('.')[0]
        for n, p in net.named_parameters() if not p.requires_grad
    }
    assert frozen == {'stem', 'layer1'}
    assert not net.stem[1].training and net.layer2[0].bn1.training
