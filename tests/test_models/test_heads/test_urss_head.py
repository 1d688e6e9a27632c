"""URSSHead: Eq. 11 wiring, the second view, DDP safety, the phase switch."""
import glob
import logging
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample
from torch.autograd import gradcheck

from mmscribble.models.heads import URSSHead
from mmscribble.models.heads import urss_head as urss_head_module
from mmscribble.models.layers import ViewTransform, apply_view
from mmscribble.models.losses import (FeatureConsistencyLoss, eigenspace_loss,
                                      feature_consistency_loss,
                                      soft_entropy_loss)
from mmscribble.utils import replace_sync_bn

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
URSS_CFG = osp.join(ROOT, 'configs/urss/urss_r50.py')
FEAT_CFGS = sorted(
    glob.glob(osp.join(ROOT, 'configs/urss/ablations/urss-ss-*-feat-*.py')))
# 33 = 8 * (5 - 1) + 1: the features of a flipped image are exactly the
# flipped features.
SIZE = 33
FEAT = 5


def make_samples(n=2, size=SIZE, labeled=True, pad=4):
    """Samples with scribbles, a padded right margin and SLIC-like maps."""
    samples = []
    for i in range(n):
        lab = torch.full((1, size, size), 255, dtype=torch.long)
        if labeled:
            lab[0, 3:6, 2:20] = 0
            lab[0, 20:23, 5:25] = 1 + i % 2
        valid = torch.ones(1, size, size, dtype=torch.uint8)
        valid[..., size - pad:] = 0
        bmap = torch.zeros(1, size, size, dtype=torch.uint8)
        bmap[..., ::4, :] = 1
        bmap[..., size - pad:] = 255
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(data=valid)
        s.gt_boundary_map = PixelData(data=bmap)
        s.set_metainfo(
            dict(
                img_shape=(size, size - pad),
                pad_shape=(size, size),
                ori_shape=(size, size - pad),
                img_tags=[0, 1 + i % 2] if labeled else []))
        samples.append(s)
    return samples


def make_head(**kwargs):
    cfg = dict(
        in_channels=8,
        channels=6,
        num_classes=3,
        dilations=(1, 2),
        dropout_ratio=0,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='PartialCrossEntropyLoss'))
    cfg.update(kwargs)
    return URSSHead(**cfg)


class CountingBackbone(nn.Module):
    """Stride-8 conv stack that records whether grad mode was on."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1),
            nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1))
        self.grad_modes = []

    def forward(self, img):
        self.grad_modes.append(torch.is_grad_enabled())
        return [self.body(img)]


def head_loss(head, backbone, img, samples):
    """What ScribbleEncoderDecoder.loss does for the decode head."""
    return head.loss(
        backbone(img), samples, None, img=img, extract_feat=backbone)


def total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def test_loss_keys_and_finiteness():
    torch.manual_seed(0)
    head, backbone = make_head(), CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    losses = head_loss(head, backbone, img, make_samples())
    assert set(losses) == {'loss_pce', 'loss_entropy', 'acc_seg'}
    head.loss_eigen.loss_weight = 30.0
    losses = head_loss(head, backbone, img, make_samples())
    assert set(losses) == {'loss_pce', 'loss_entropy', 'loss_eigen', 'acc_seg'}
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert all(losses[k] > 0 for k in ('loss_pce', 'loss_entropy'))
    total(losses).backward()


def test_all_unlabeled_batch_gives_finite_loss():
    torch.manual_seed(0)
    head = make_head(loss_eigen=dict(type='EigenspaceLoss', loss_weight=30.0))
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    samples = make_samples(labeled=False)
    for s in samples:  # no interior pixel either
        s.gt_boundary_map.data[s.gt_boundary_map.data == 0] = 1
    losses = head_loss(head, backbone, img, samples)
    assert losses['loss_pce'].item() == 0.0
    assert losses['loss_entropy'].item() == 0.0
    assert all(torch.isfinite(v) for v in losses.values())
    loss = total(losses)
    assert torch.isfinite(loss) and loss.grad_fn is not None
    loss.backward()


def test_second_view_only_when_weight_positive():
    head, backbone = make_head(), CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    head_loss(head, backbone, img, make_samples())
    assert backbone.grad_modes == [True]  # the segmentor's own call only
    head.loss_eigen.loss_weight = 1.0
    backbone.grad_modes.clear()
    head_loss(head, backbone, img, make_samples())
    assert len(backbone.grad_modes) == 2
    head.loss_eigen = None  # self-supervision not configured at all
    backbone.grad_modes.clear()
    head_loss(head, backbone, img, make_samples())
    assert backbone.grad_modes == [True]


@pytest.mark.parametrize('detach', [True, False])
def test_detach_target_runs_view_under_no_grad(detach):
    torch.manual_seed(0)
    head = make_head(
        view='flip',
        loss_eigen=dict(
            type='EigenspaceLoss', loss_weight=1.0, detach_target=detach))
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    samples = make_samples()
    losses = head_loss(head, backbone, img, samples)
    assert backbone.grad_modes == [True, not detach]
    losses['loss_eigen'].backward()
    grad = backbone.body[0].weight.grad.clone()
    # The same loss with the view computed separately under no_grad: the
    # gradient equals it only when the head detached the view.
    backbone.zero_grad()
    out = head.forward_intermediates(backbone(img), classify=False)
    with torch.no_grad():
        view = head.forward_intermediates(
            backbone(apply_view(img, ViewTransform('flip'))), classify=False)
    valid = head.feature_valid_mask(samples, (FEAT, FEAT), 8)
    ref = head.loss_eigen(
        out['transition'],
        view['transition'],
        ViewTransform('flip'), (FEAT, FEAT),
        valid_mask=valid)
    torch.testing.assert_close(ref, losses['loss_eigen'])
    ref.backward()
    assert torch.allclose(grad, backbone.body[0].weight.grad) == detach


@pytest.mark.parametrize('phi', [
    ViewTransform('flip'),
    ViewTransform('translate', (-2, 0)),
    ViewTransform('translate', (1, 1))
])
@pytest.mark.parametrize('from_logits', [True, False])
def test_eigen_loss_compares_p_of_x_and_of_its_view(monkeypatch, phi,
                                                    from_logits):
    torch.manual_seed(0)
    monkeypatch.setattr(urss_head_module, 'sample_view',
                        lambda *args, **kwargs: phi)
    head = make_head(
        random_walk=dict(similarity='raw', alpha_init=0.3),
        loss_eigen=dict(
            type='EigenspaceLoss',
            loss_weight=2.0,
            gamma=0.5,
            trace_loss='l1',
            from_logits=from_logits))
    head.eval()  # same batch-norm statistics in both calls below
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    samples = make_samples()
    got = head_loss(head, backbone, img, samples)['loss_eigen']
    x = head.random_walk.logits(head._forward_feature(backbone(img)))
    img_view = apply_view(img, phi, stride=8, fill=0)
    xv = head.random_walk.logits(head._forward_feature(backbone(img_view)))
    valid = torch.stack([s.gt_valid_mask.data[0, ::8, ::8] for s in samples])
    if not from_logits:
        x, xv = x.softmax(-1), xv.softmax(-1)
    expect = 2.0 * eigenspace_loss(
        x,
        xv,
        phi, (FEAT, FEAT),
        gamma=0.5,
        trace_loss='l1',
        from_logits=from_logits,
        valid_mask=valid)
    torch.testing.assert_close(got, expect)


@pytest.mark.parametrize('ss_on', ['feat_before', 'feat_after'])
def test_feature_self_supervision(monkeypatch, ss_on):
    phi = ViewTransform('translate', (0, -1))
    monkeypatch.setattr(urss_head_module, 'sample_view',
                        lambda *args, **kwargs: phi)
    torch.manual_seed(0)
    head = make_head(
        ss_on=ss_on,
        random_walk=dict(similarity='raw', alpha_init=0.5),
        loss_feat=dict(type='FeatureConsistencyLoss', loss_weight=3.0))
    assert head.loss_eigen is None and head.ss_loss is head.loss_feat
    head.eval()
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    samples = make_samples()
    losses = head_loss(head, backbone, img, samples)
    assert 'loss_eigen' not in losses
    out = head.forward_intermediates(backbone(img))
    view = head.forward_intermediates(backbone(apply_view(img, phi, 8)))
    valid = head.feature_valid_mask(samples, (FEAT, FEAT), 8)
    expect = 3.0 * feature_consistency_loss(out[ss_on], view[ss_on], phi,
                                            valid)
    torch.testing.assert_close(losses['loss_ss_feat'], expect)
    assert losses['loss_ss_feat'] > 0


def test_entropy_wiring_excludes_boundaries_and_padding():
    torch.manual_seed(0)
    head = make_head(loss_eigen=None)
    feats = [torch.randn(2, 8, FEAT, FEAT)]
    samples = make_samples()
    losses = head.loss_by_feat(head.forward(feats), samples)
    up = nn.functional.interpolate(
        head.forward(feats), (SIZE, SIZE), mode='bilinear')
    expect = soft_entropy_loss(
        up, torch.stack([s.gt_boundary_map.data[0] for s in samples]),
        torch.stack([s.gt_valid_mask.data[0] for s in samples]))
    torch.testing.assert_close(losses['loss_entropy'], expect)
    # Eq. 2 without boundaries: the map is optional.
    head = make_head(
        loss_eigen=None,
        loss_entropy=dict(type='SoftEntropyLoss', use_boundary=False))
    for s in samples:
        del s.gt_boundary_map
    assert torch.isfinite(
        head.loss_by_feat(head.forward(feats), samples)['loss_entropy'])
    head = make_head(loss_eigen=None)
    with pytest.raises(KeyError, match='gt_boundary_map'):
        head.loss_by_feat(head.forward(feats), samples)


def test_entropy_through_head_gradcheck():
    torch.manual_seed(0)
    head = make_head(
        in_channels=4,
        channels=3,
        dilations=(1, ),
        norm_cfg=None,
        act_cfg=None,
        random_walk=dict(similarity='raw', alpha_init=0.5),
        loss_eigen=None).double().eval()
    samples = make_samples(n=1, size=6, pad=1)

    def entropy(x):
        return head.loss_by_feat(head.forward([x]), samples)['loss_entropy']

    x = torch.randn(1, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert gradcheck(entropy, (x, ), eps=1e-6, atol=1e-5)


def test_predict_and_transition():
    head = make_head(loss_eigen=None).eval()
    feats = [torch.randn(1, 8, FEAT, FEAT)]
    logits, trans = head(feats, return_transition=True)
    assert logits.shape == (1, 3, FEAT, FEAT)
    assert trans.shape == (1, FEAT * FEAT, FEAT * FEAT)
    torch.testing.assert_close(trans.sum(-1), torch.ones(1, FEAT * FEAT))
    meta = dict(img_shape=(SIZE, SIZE), pad_shape=(SIZE, SIZE))
    pred = head.predict(feats, [meta], dict(mode='whole'))
    assert pred.shape == (1, 3, SIZE, SIZE)
    out = head.forward_intermediates(feats, with_logits=True)
    torch.testing.assert_close(out['transition_logits'].softmax(-1), trans)
    no_walk = make_head(random_walk=None, loss_eigen=None).eval()
    out = no_walk.forward_intermediates(feats)
    assert out['transition'] is None
    assert out['feat_after'] is out['feat_before']


def test_feature_valid_mask_sampling():
    head = make_head()
    samples = make_samples(size=32, pad=8)
    mask = head.feature_valid_mask(samples, (4, 4), head.view_stride)
    assert mask.shape == (2, 4, 4)
    assert mask[:, :, :3].all() and not mask[:, :, 3].any()
    # Sizes that a stride-8 backbone does not give are an error, not a
    # silently resized mask (the view would be misaligned as well).
    with pytest.raises(ValueError, match='output stride 8'):
        head.feature_valid_mask(samples, (3, 3), head.view_stride)


def test_argument_errors():
    with pytest.raises(ValueError, match='ss_on'):
        make_head(ss_on='feat')
    with pytest.raises(ValueError, match='view'):
        make_head(view='rotate')
    with pytest.raises(ValueError, match='max_shift'):
        make_head(view='translate', max_shift=0)
    with pytest.raises(ValueError, match='max_shift'):
        make_head(max_shift=(1, 2, 3))
    with pytest.raises(ValueError, match='random_walk'):
        make_head(random_walk=None)  # the default ss_on='eigen' needs P
    make_head(random_walk=None, ss_on='feat_before')
    make_head(random_walk=None, loss_eigen=None)
    with pytest.raises(ValueError, match='loss_name'):
        make_head(
            loss_entropy=dict(type='SoftEntropyLoss', loss_name='loss_pce'))
    with pytest.raises(ValueError, match='distinct'):
        make_head(
            loss_eigen=dict(type='EigenspaceLoss', loss_name='loss_entropy'))
    with pytest.raises(ValueError, match="already used by loss_entropy"):
        make_head(
            ss_on='feat_before',
            loss_feat=dict(
                type='FeatureConsistencyLoss', loss_name='loss_entropy'))
    # Each self-supervised loss belongs to its ss_on.
    with pytest.raises(ValueError, match='loss_feat=None'):
        make_head(loss_feat=dict(type='FeatureConsistencyLoss'))
    with pytest.raises(ValueError, match='random_walk'):
        make_head(
            random_walk=None,
            ss_on='feat_after',
            loss_feat=dict(type='FeatureConsistencyLoss'))
    make_head(random_walk=None, ss_on='feat_after')  # no self-supervision
    head = make_head(loss_eigen=dict(type='EigenspaceLoss', loss_weight=1.0))
    with pytest.raises(ValueError, match='extract_feat'):
        head.loss([torch.randn(2, 8, FEAT, FEAT)], make_samples(), None)


def build_tiny_segmentor(config=URSS_CFG, **head):
    """A URSS ResNet-50 config with a tiny ResNet-18-V1c and BN."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    cfg.model.decode_head.update(in_channels=64, channels=16, **head)
    cfg.model.data_preprocessor.size = (SIZE, SIZE)
    model = MODELS.build(replace_sync_bn(cfg.model))
    model.init_weights()
    return cfg, model


def fake_batch(n=2):
    torch.manual_seed(0)
    samples = make_samples(n)
    inputs = [torch.randint(0, 255, (3, SIZE, SIZE)).float() for _ in samples]
    return dict(inputs=inputs, data_samples=samples)


def count_extract_feat(model):
    calls = []
    original = model.extract_feat

    def counted(inputs):
        calls.append(torch.is_grad_enabled())
        return original(inputs)

    model.extract_feat = counted
    return calls


@pytest.mark.parametrize('ss_on', ['eigen', 'feat_before', 'feat_after'])
@pytest.mark.parametrize('similarity', ['raw', 'projected'])
@pytest.mark.parametrize('omega2', [0.0, 30.0])
def test_every_parameter_gets_a_gradient(ss_on, similarity, omega2):
    """DDP without find_unused_parameters, before and after the switch."""
    feat = None if ss_on == 'eigen' else dict(type='FeatureConsistencyLoss')
    _, model = build_tiny_segmentor(
        ss_on=ss_on, random_walk=dict(similarity=similarity), loss_feat=feat)
    model.decode_head.ss_loss.loss_weight = omega2
    model.train()
    data = model.data_preprocessor(fake_batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    key = 'decode.loss_eigen' if ss_on == 'eigen' else 'decode.loss_ss_feat'
    assert (key in losses) == (omega2 > 0)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    missing = [
        name for name, p in model.named_parameters()
        if p.requires_grad and p.grad is None
    ]
    assert not missing


def test_phase_switch_hook_on_built_model():
    cfg, model = build_tiny_segmentor()
    hook_cfg = cfg.custom_hooks[0]
    begin = hook_cfg.phases[0]['begin']
    # The learning-rate drop and the switch happen at the same iteration.
    assert cfg.param_scheduler[0].milestones == [begin]
    hook = HOOKS.build(hook_cfg)
    runner = SimpleNamespace(
        iter=0, model=model, logger=logging.getLogger('urss-test'))
    hook.before_train(runner)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    calls = count_extract_feat(model)
    for it, weight, views in ((0, 0.0, 1), (begin - 1, 0.0, 1),
                              (begin, 30.0, 2), (begin + 5, 30.0, 2)):
        runner.iter = it
        hook.before_train_iter(runner, it)
        assert model.decode_head.loss_eigen.loss_weight == weight
        calls.clear()
        log_vars = model.train_step(fake_batch(), optim)
        assert len(calls) == views
        assert ('decode.loss_eigen' in log_vars) == (weight > 0)
        assert all(
            torch.isfinite(torch.as_tensor(v)) for v in log_vars.values())
    # The view of a detached target never builds a graph.
    assert calls == [True, False]


@pytest.mark.parametrize('config', FEAT_CFGS, ids=osp.basename)
def test_feat_ablations_switch_their_own_loss(config):
    """Tab. 2's feature rows raise loss_feat, at the iteration and to the
    weight at which the full method raises loss_eigen."""
    cfg, model = build_tiny_segmentor(config)
    head = model.decode_head
    assert head.loss_eigen is None
    assert isinstance(head.loss_feat, FeatureConsistencyLoss)
    base = Config.fromfile(URSS_CFG).custom_hooks[0].phases[0]
    phase = cfg.custom_hooks[0].phases[0]
    assert phase['begin'] == base['begin']
    assert phase['set'] == {
        'decode_head.loss_feat.loss_weight':
        base['set']['decode_head.loss_eigen.loss_weight']
    }
    hook = HOOKS.build(cfg.custom_hooks[0])
    runner = SimpleNamespace(
        iter=0, model=model, logger=logging.getLogger('urss-test'))
    hook.before_train(runner)
    model.train()
    data = model.data_preprocessor(fake_batch(), True)
    assert not head.ss_enabled()
    assert 'decode.loss_ss_feat' not in model.loss(data['inputs'],
                                                   data['data_samples'])
    runner.iter = phase['begin']
    hook.before_train_iter(runner, phase['begin'])
    assert head.ss_enabled()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert losses['decode.loss_ss_feat'] > 0
    assert 'decode.loss_eigen' not in losses


def test_switching_loss_eigen_of_a_feat_variant_fails_before_training():
    """A hook still aimed at loss_eigen would otherwise switch nothing."""
    cfg, model = build_tiny_segmentor(
        ss_on='feat_before', loss_feat=dict(type='FeatureConsistencyLoss'))
    hook = HOOKS.build(cfg.custom_hooks[0])
    runner = SimpleNamespace(
        iter=0, model=model, logger=logging.getLogger('urss-test'))
    with pytest.raises(AttributeError, match='loss_eigen.loss_weight'):
        hook.before_train(runner)


@pytest.mark.parametrize('size, warned', [(SIZE, False), (32, True)])
def test_flip_misalignment_is_reported(monkeypatch, size, warned):
    monkeypatch.setattr(urss_head_module, 'sample_view',
                        lambda *args, **kwargs: ViewTransform('flip'))
    head = make_head(loss_eigen=dict(type='EigenspaceLoss', loss_weight=1.0))
    head_loss(head, CountingBackbone(), torch.randn(2, 3, size, size),
              make_samples(size=size))
    assert head._warned_flip == warned


def bn_buffers(model):
    return {
        name: buf.clone()
        for name, buf in model.named_buffers()
        if name.rsplit('.', 1)[-1] in ('running_mean', 'running_var',
                                       'num_batches_tracked')
    }


@pytest.mark.parametrize('mode', ['keep', 'update'])
def test_view_bn_stats(mode):
    """'keep': the second view leaves every running statistic as one
    first-view step leaves it; 'update' (authors) folds the view in."""
    torch.manual_seed(0)
    _, model = build_tiny_segmentor(view_bn_stats=mode)
    _, reference = build_tiny_segmentor()
    reference.load_state_dict(model.state_dict())
    model.train()
    reference.train()
    data = model.data_preprocessor(fake_batch(), True)
    model.decode_head.loss_eigen.loss_weight = 30.0
    losses = model.loss(data['inputs'], data['data_samples'])
    # Backward still works: the first view's saved tensors are untouched.
    model.parse_losses(losses)[0].backward()
    reference.decode_head.loss_eigen.loss_weight = 0.0
    reference.loss(data['inputs'], data['data_samples'])
    got, want = bn_buffers(model), bn_buffers(reference)
    assert got.keys() == want.keys() and len(got) > 10
    same = [torch.equal(got[k], want[k]) for k in got]
    if mode == 'keep':
        assert all(same)
    else:
        # The view counts as one more batch in every BatchNorm.
        counts = [k for k in got if k.endswith('num_batches_tracked')]
        assert all(int(got[k]) == int(want[k]) + 1 for k in counts)
        assert not all(same)


def test_view_bn_stats_argument():
    with pytest.raises(ValueError, match='view_bn_stats'):
        make_head(view_bn_stats='freeze')


@pytest.mark.parametrize('ss_on', ['eigen', 'feat_before'])
@pytest.mark.parametrize('shift', [(-2, 0), (1, 1)])
def test_cropped_translation_view(monkeypatch, ss_on, shift):
    """translate_view='crop': the view is the crop that stays in frame."""
    from mmscribble.models.layers import crop_view
    phi = ViewTransform('translate', shift)
    monkeypatch.setattr(urss_head_module, 'sample_view',
                        lambda *args, **kwargs: phi)
    torch.manual_seed(0)
    ss_loss = dict(
        loss_eigen=dict(
            type='EigenspaceLoss',
            loss_weight=2.0,
            gamma=0.5,
            from_logits=True)) if ss_on == 'eigen' else dict(
                loss_feat=dict(type='FeatureConsistencyLoss', loss_weight=2.0))
    head = make_head(
        ss_on=ss_on,
        translate_view='crop',
        random_walk=dict(similarity='projected', alpha_init=0.3),
        **ss_loss)
    head.eval()
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    samples = make_samples()
    seen = []
    counted = lambda x: seen.append(tuple(x.shape[-2:])) or backbone(x)  # noqa
    losses = head.loss(
        backbone(img), samples, None, img=img, extract_feat=counted)
    crop = crop_view(img, phi, stride=8)
    assert seen == [tuple(crop.shape[-2:])]
    valid = head.feature_valid_mask(samples, (FEAT, FEAT), 8)
    if ss_on == 'eigen':
        x = head.random_walk.logits(head._forward_feature(backbone(img)))
        xv = head.random_walk.logits(head._forward_feature(backbone(crop)))
        expect = 2.0 * eigenspace_loss(
            x,
            xv,
            phi, (FEAT, FEAT),
            gamma=0.5,
            from_logits=True,
            valid_mask=valid,
            view_cropped=True)
        torch.testing.assert_close(losses['loss_eigen'], expect)
    else:
        f = head._forward_feature(backbone(img))
        fv = head._forward_feature(backbone(crop))
        expect = 2.0 * feature_consistency_loss(
            f, fv, phi, valid, view_cropped=True)
        torch.testing.assert_close(losses['loss_ss_feat'], expect)
        assert expect > 0


def test_translate_view_argument_and_stride_check(monkeypatch):
    with pytest.raises(ValueError, match='translate_view'):
        make_head(translate_view='pad')
    phi = ViewTransform('translate', (2, 0))
    monkeypatch.setattr(urss_head_module, 'sample_view',
                        lambda *args, **kwargs: phi)
    # A view stride that is not the backbone's: the 33 - 2 * 4 = 25 pixel
    # crop has 4 feature rows, not the 5 - 2 = 3 kept in frame.
    head = make_head(
        translate_view='crop',
        view_stride=4,
        loss_eigen=dict(type='EigenspaceLoss', loss_weight=1.0))
    backbone = CountingBackbone()
    img = torch.randn(2, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match='output stride'):
        head_loss(head, backbone, img, make_samples())
