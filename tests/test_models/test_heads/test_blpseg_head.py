"""BLPSegHead: Eq. 12 wiring, LAM, self-training, DDP safety, sizes."""
import logging
import math
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.models.utils import resize
from mmseg.registry import HOOKS, MODELS
from mmseg.structures import SegDataSample

from mmscribble.models.heads import BLPSegHead
from mmscribble.models.heads.blpseg_head import SelfTrainingCfg
from mmscribble.models.losses import (annotation_probability_loss, blp_loss,
                                      partial_cross_entropy,
                                      partial_focal_loss)
from mmscribble.models.utils import self_training_target
from mmscribble.utils import replace_sync_bn

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
BLPSEG_CFG = osp.join(
    ROOT, 'configs/blpseg/'
    'blpseg_upernet_r50_2xb5-42k_voc12aug-scribble-384x384.py')
K = 3
H, W = 40, 56
IN_CHANNELS = [4, 6, 8, 8]
STRIDES = [4, 8, 16, 32]


def make_head(**kwargs):
    cfg = dict(
        in_channels=IN_CHANNELS,
        in_index=[0, 1, 2, 3],
        channels=8,
        num_classes=K,
        pool_scales=(1, 2),
        dropout_ratio=0,
        norm_cfg=dict(type='BN'),
        lam=dict(sigma=2.0, embed_dims=6, proj_channels=6))
    cfg.update(kwargs)
    return BLPSegHead(**cfg)


def make_inputs(n=2, h=H, w=W, requires_grad=False):
    """Backbone levels of an (h, w) image (ResNet sizes) and the image."""
    feats = [
        torch.randn(
            n,
            c,
            math.ceil(h / s),
            math.ceil(w / s),
            requires_grad=requires_grad) for c, s in zip(IN_CHANNELS, STRIDES)
    ]
    return feats, torch.randn(n, 3, h, w)


def make_samples(n=2, h=H, w=W, labeled=True, pad=8):
    """Scribbles of classes 0 and 1 + i, a padded right margin."""
    samples = []
    for i in range(n):
        lab = torch.full((1, h, w), 255, dtype=torch.long)
        tags = []
        if labeled:
            lab[0, 3:6, 2:30] = 0
            lab[0, 20:23, 5:40] = 1 + i % 2
            tags = [0, 1 + i % 2]
        valid = torch.ones(1, h, w, dtype=torch.uint8)
        valid[..., w - pad:] = 0
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(data=valid)
        s.set_metainfo(
            dict(
                img_shape=(h, w - pad),
                pad_shape=(h, w),
                ori_shape=(h, w - pad),
                img_tags=tags))
        samples.append(s)
    return samples


def head_loss(head, feats, img, samples):
    """What ScribbleEncoderDecoder.loss does for the decode head."""
    return head.loss(feats, samples, None, img=img, extract_feat=None)


def total(losses):
    return sum(v for k, v in losses.items() if 'loss' in k)


def decoder_params(head):
    """Parameters of the shared UPerNet decoder."""
    mods = [
        head.psp_modules, head.bottleneck, head.lateral_convs, head.fpn_convs,
        head.fpn_bottleneck
    ]
    return [p for m in mods for p in m.parameters()]


def stacked(samples):
    label = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    valid = torch.stack([s.gt_valid_mask.data[0] for s in samples])
    return label, valid


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------
def test_loss_keys_values_and_finiteness():
    torch.manual_seed(0)
    head = make_head()
    feats, img = make_inputs()
    samples = make_samples()
    losses = head_loss(head, feats, img, samples)
    assert set(losses) == {'loss_annot', 'loss_blp', 'acc_seg'}
    assert [k for k in losses if 'loss' in k] == ['loss_annot', 'loss_blp']
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert losses['loss_annot'] > 0 and losses['loss_blp'] > 0

    # Eq. 1-2 and Eq. 9-11 on the upsampled logits of the same forward.
    out = head.forward_intermediates(
        feats, img, valid_mask=stacked(samples)[1])
    label, valid = stacked(samples)
    seg = resize(out['seg_logits'], size=(H, W), mode='bilinear')
    scrib = resize(out['scrib_logits'], size=(H, W), mode='bilinear')
    torch.testing.assert_close(
        losses['loss_annot'],
        annotation_probability_loss(scrib, label, valid_mask=valid))
    torch.testing.assert_close(losses['loss_blp'],
                               blp_loss(seg, scrib, label, gamma=2.0))
    total(losses).backward()


def test_padding_is_excluded_from_the_annotation_loss():
    """Padding is 255 like unlabeled pixels, but is not "not scribbled"."""
    torch.manual_seed(0)
    head = make_head()
    feats, img = make_inputs()
    samples = make_samples(pad=8)
    with_pad = head_loss(head, feats, img, samples)['loss_annot']
    for s in samples:
        s.gt_valid_mask.data[:] = 1
    no_pad = head_loss(head, feats, img, samples)['loss_annot']
    assert not torch.allclose(with_pad, no_pad)


@pytest.mark.parametrize('loss_cfg, key', [
    (dict(type='PartialCrossEntropyLoss'), 'loss_pce'),
    (dict(type='PartialFocalLoss', gamma=1.5), 'loss_focal'),
    (dict(type='BLPLoss', normalize='weights'), 'loss_blp'),
])
def test_table_ii_segmentation_losses(loss_cfg, key):
    """Each row of Table II: the head's segmentation loss is the
    functional form on the upsampled logits of the same forward."""
    torch.manual_seed(0)
    head = make_head(loss_decode=loss_cfg)
    feats, img = make_inputs()
    samples = make_samples()
    losses = head_loss(head, feats, img, samples)
    assert set(losses) == {'loss_annot', key, 'acc_seg'}

    label, valid = stacked(samples)
    out = head.forward_intermediates(feats, img, valid_mask=valid)
    seg = resize(out['seg_logits'], size=(H, W), mode='bilinear')
    scrib = resize(out['scrib_logits'], size=(H, W), mode='bilinear')
    want = {
        'loss_pce':
        lambda: partial_cross_entropy(seg, label),
        'loss_focal':
        lambda: partial_focal_loss(seg, label, gamma=1.5),
        'loss_blp':
        lambda: blp_loss(seg, scrib, label, gamma=2.0, normalize='weights'),
    }[key]()
    torch.testing.assert_close(losses[key], want, rtol=0, atol=1e-6)
    assert want > 0


def test_all_unlabeled_batch_gives_finite_loss():
    torch.manual_seed(0)
    head = make_head()
    feats, img = make_inputs(requires_grad=True)
    samples = make_samples(labeled=False)
    losses = head_loss(head, feats, img, samples)
    assert losses['loss_blp'].item() == 0.0
    # Every real pixel is "not scribbled": a finite, positive WCE.
    assert torch.isfinite(losses['loss_annot'])
    assert losses['loss_annot'] > 0
    head.self_training = True
    losses = head_loss(head, feats, img, samples)
    # No tag, no scribble: no pseudo-label at all.
    assert losses['loss_self'].item() == 0.0
    assert all(torch.isfinite(v) for v in losses.values())
    total(losses).backward()
    assert all(torch.isfinite(f.grad).all() for f in feats)


# ---------------------------------------------------------------------------
# Self-training
# ---------------------------------------------------------------------------
def reference_inputs(head, feats, img, samples):
    """What the head's self-training reads, recomputed outside it: labels,
    valid mask, segmentation and scribble logits at the labels' size, and
    the image tags."""
    label, valid = stacked(samples)
    out = head.forward_intermediates(feats, img, valid_mask=valid)
    seg = resize(out['seg_logits'], size=(H, W), mode='bilinear')
    scrib = resize(out['scrib_logits'], size=(H, W), mode='bilinear')
    return label, valid, seg, scrib, head.img_tags(samples, K)


def test_self_training_on_and_off_via_attribute():
    torch.manual_seed(0)
    head = make_head(self_training_threshold=0.34)
    feats, img = make_inputs()
    samples = make_samples()
    assert head.self_training is False
    assert 'loss_self' not in head_loss(head, feats, img, samples)

    head.self_training = True
    losses = head_loss(head, feats, img, samples)
    assert set(losses) == {'loss_annot', 'loss_self', 'acc_seg'}
    # loss_self is the BLP loss on the sharpened, tag-restricted target.
    label, valid, seg, scrib, tags = reference_inputs(head, feats, img,
                                                      samples)
    target = self_training_target(seg, label, tags, valid, 0.34)
    labeled = label != 255
    assert (target[labeled] == label[labeled]).all()
    assert (target[~labeled] != 255).any()  # pseudo-labels exist
    assert (target[valid == 0] == 255).all()
    # Image 0 has tags {0, 1}: no pseudo-label of class 2.
    assert not (target[0] == 2).any()
    torch.testing.assert_close(losses['loss_self'],
                               blp_loss(seg, scrib, target, gamma=2.0))
    # The target is detached: only the prediction carries a gradient.
    total(losses).backward()

    head.self_training = False
    assert set(head_loss(head, feats, img,
                         samples)) == {'loss_annot', 'loss_blp', 'acc_seg'}


def test_self_training_add_mode_keeps_the_scribble_loss():
    torch.manual_seed(0)
    head = make_head(
        self_training=True, self_training_mode='add', self_training_weight=0.5)
    feats, img = make_inputs()
    losses = head_loss(head, feats, img, make_samples())
    assert set(losses) == {'loss_annot', 'loss_blp', 'loss_self', 'acc_seg'}
    head.self_training_weight = 1.0
    full = head_loss(head, feats, img, make_samples())['loss_self']
    torch.testing.assert_close(losses['loss_self'], 0.5 * full)


def test_self_training_agreement_uses_the_scribble_head():
    torch.manual_seed(0)
    head = make_head(
        self_training=True,
        self_training_threshold=0.34,
        self_training_agreement=True)
    feats, img = make_inputs()
    samples = make_samples()
    losses = head_loss(head, feats, img, samples)
    label, valid, seg, scrib, tags = reference_inputs(head, feats, img,
                                                      samples)
    plain = self_training_target(seg, label, tags, valid, 0.34)
    agreed = self_training_target(
        seg, label, tags, valid, 0.34, agree_logits=scrib)
    # the agreement only removes pseudo-labels, never a scribble
    kept = agreed != 255
    assert (agreed[kept] == plain[kept]).all()
    assert kept.sum() < (plain != 255).sum()
    labeled = label != 255
    assert (agreed[labeled] == label[labeled]).all()
    torch.testing.assert_close(losses['loss_self'],
                               blp_loss(seg, scrib, agreed, gamma=2.0))


def test_self_training_class_portion_reaches_the_target():
    torch.manual_seed(0)
    head = make_head(
        self_training=True,
        self_training_threshold=0.99,
        self_training_class_portion=0.3)
    feats, img = make_inputs()
    samples = make_samples()
    losses = head_loss(head, feats, img, samples)
    label, valid, seg, scrib, tags = reference_inputs(head, feats, img,
                                                      samples)
    want = self_training_target(
        seg, label, tags, valid, 0.99, class_portion=0.3)
    assert (want != 255).sum() > (self_training_target(seg, label, tags, valid,
                                                       0.99) != 255).sum()
    torch.testing.assert_close(losses['loss_self'],
                               blp_loss(seg, scrib, want, gamma=2.0))


def test_self_training_needs_img_tags():
    head = make_head(self_training=True)
    feats, img = make_inputs()
    samples = make_samples()
    samples[1].set_metainfo(dict(img_tags=None))
    with pytest.raises(KeyError, match='img_tags'):
        head_loss(head, feats, img, samples)


class _Segmentor(nn.Module):
    """What the hook resolves paths on: a model with a decode_head."""

    def __init__(self, head):
        super().__init__()
        self.decode_head = head


def test_phase_switch_hook_turns_self_training_on():
    torch.manual_seed(0)
    head = make_head()
    runner = SimpleNamespace(
        iter=0, model=_Segmentor(head), logger=logging.getLogger('blpseg'))
    hook = HOOKS.build(
        dict(
            type='PhaseSwitchHook',
            phases=[dict(begin=10, set={'decode_head.self_training': True})]))
    hook.before_train(runner)
    feats, img = make_inputs()
    samples = make_samples()
    for it in (0, 9):
        runner.iter = it
        hook.before_train_iter(runner, it)
        assert head.self_training is False
    assert 'loss_self' not in head_loss(head, feats, img, samples)
    runner.iter = 10
    hook.before_train_iter(runner, 10)
    assert head.self_training is True
    assert 'loss_self' in head_loss(head, feats, img, samples)

    # Resuming past the switch point switches at the first iteration.
    head.self_training = False
    resumed = HOOKS.build(
        dict(
            type='PhaseSwitchHook',
            phases=[dict(begin=10, set={'decode_head.self_training': True})]))
    runner.iter = 25
    resumed.before_train_iter(runner, 25)
    assert head.self_training is True


# ---------------------------------------------------------------------------
# Gradients (DDP safety, detached scribble features)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('detach', [True, False])
def test_scribble_head_reads_detached_features(detach):
    torch.manual_seed(0)
    head = make_head(detach_scribble_feat=detach)
    feats, img = make_inputs(requires_grad=True)
    losses = head_loss(head, feats, img, make_samples())
    losses['loss_annot'].backward()
    scrib = list(head.scrib_convs.parameters()) + list(
        head.conv_scrib.parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in scrib)
    reached = [
        p.grad is not None and p.grad.abs().sum() > 0
        for p in decoder_params(head)
    ] + [f.grad is not None and f.grad.abs().sum() > 0 for f in feats]
    if detach:
        assert not any(reached)
    else:
        assert all(reached)
    # loss_annot never trains the segmentation head or the LAM.
    seg = list(head.seg_convs.parameters()) + list(
        head.conv_seg.parameters()) + list(head.lam.parameters())
    assert all(p.grad is None for p in seg)


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(
        lam=dict(
            sigma=2.0, learnable_sigma=True, embed_dims=6, proj_channels=6)),
    dict(
        lam=dict(sigma=2.0, similarity='both', embed_dims=6, proj_channels=6)),
    dict(lam=dict(mode='dense', embed_dims=6, proj_channels=6)),
    dict(use_lam=False),
    dict(self_training=True, self_training_threshold=0.34),
    dict(branch_norm=False, detach_scribble_feat=False),
])
def test_every_parameter_gets_a_gradient(kwargs):
    """DDP without find_unused_parameters: every parameter is used in
    every iteration, before and after the self-training switch."""
    torch.manual_seed(0)
    head = make_head(**kwargs)
    feats, img = make_inputs()
    total(head_loss(head, feats, img, make_samples())).backward()
    missing = [
        name for name, p in head.named_parameters()
        if p.grad is None or not p.grad.abs().sum() > 0
    ]
    assert not missing
    if not kwargs.get('use_lam', True):
        assert head.lam is None


def test_lam_is_trained_by_the_segmentation_loss():
    torch.manual_seed(0)
    head = make_head(
        lam=dict(
            sigma=2.0, learnable_sigma=True, embed_dims=6, proj_channels=6))
    feats, img = make_inputs()
    head_loss(head, feats, img, make_samples())['loss_blp'].backward()
    for name, p in head.lam.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_lam_sees_the_padding_of_the_batch():
    torch.manual_seed(0)
    head = make_head()
    seen = {}
    lam_forward = head.lam.forward

    def spy(logits, img=None, feat=None, valid_mask=None):
        seen['valid_mask'] = valid_mask
        return lam_forward(logits, img=img, feat=feat, valid_mask=valid_mask)

    head.lam.forward = spy
    feats, img = make_inputs()
    head_loss(head, feats, img, make_samples(pad=8))
    mask = seen['valid_mask']
    assert mask.shape == (2, H // 4, W // 4)
    assert mask[..., :12].all() and not mask[..., 12:].any()


def test_lam_mask_reads_the_cell_centres():
    """53 columns give 14 stride-4 cells, centred on pixels 0, 4, ..., 52.
    With 3 columns of padding, cell 13 is centred on padding (52) and is
    masked; nearest resizing (before the heads shared the mask) read pixel
    49, a real one, and let the LAM aggregate from that cell."""
    torch.manual_seed(0)
    head = make_head()
    seen = {}
    lam_forward = head.lam.forward

    def spy(logits, img=None, feat=None, valid_mask=None):
        seen['valid_mask'] = valid_mask
        return lam_forward(logits, img=img, feat=feat, valid_mask=valid_mask)

    head.lam.forward = spy
    feats, img = make_inputs(h=37, w=53)
    head_loss(head, feats, img, make_samples(h=37, w=53, pad=3))
    mask = seen['valid_mask']
    assert mask.shape == (2, 10, 14)
    assert mask[..., :13].all() and not mask[..., 13].any()
    valid = torch.ones(1, 1, 37, 53)
    valid[..., 50:] = 0
    nearest = nn.functional.interpolate(valid, (10, 14))[0, 0] != 0
    assert nearest[:, 13].all()


# ---------------------------------------------------------------------------
# Inference and sizes
# ---------------------------------------------------------------------------
def test_predict_returns_k_channels_from_the_lam():
    torch.manual_seed(0)
    head = make_head().eval()
    feats, img = make_inputs()
    metas = [dict(img_shape=(H, W), pad_shape=(H, W))] * 2
    with torch.no_grad():
        pred = head.predict(feats, metas, None, img=img)
        out = head.forward_intermediates(feats, img)
    assert pred.shape == (2, K, H, W)
    torch.testing.assert_close(
        pred, resize(out['seg_logits'], size=(H, W), mode='bilinear'))
    assert not torch.allclose(
        pred, resize(out['seg_logits_raw'], size=(H, W), mode='bilinear'))
    with pytest.raises(ValueError, match='input image'):
        head.predict(feats, metas, None)


def test_use_lam_false_predicts_the_raw_logits():
    torch.manual_seed(0)
    head = make_head(use_lam=False).eval()
    feats, img = make_inputs()
    with torch.no_grad():
        out = head.forward_intermediates(feats, img)
    assert out['seg_logits'] is out['seg_logits_raw']
    assert not any('lam' in n for n, _ in head.named_parameters())


@pytest.mark.parametrize('size', [(40, 56), (37, 53), (24, 96)])
def test_any_input_size(size):
    """No buffer sized for a 384 crop (96 x 96 cells): any size works."""
    torch.manual_seed(0)
    h, w = size
    head = make_head()
    feats, img = make_inputs(h=h, w=w)
    out = head.forward(feats, img)
    assert out.shape == (2, K, math.ceil(h / 4), math.ceil(w / 4))
    losses = head_loss(head, feats, img, make_samples(h=h, w=w, pad=4))
    assert all(torch.isfinite(v) for v in losses.values())


def test_segmentor_end_to_end_at_40x56():
    """ScribbleEncoderDecoder passes the image to the head at training,
    prediction and in tensor mode."""
    cfg = Config.fromfile(BLPSEG_CFG)
    cfg.model.backbone.update(
        depth=18, stem_channels=8, base_channels=8, init_cfg=None)
    cfg.model.decode_head.update(
        in_channels=[8, 16, 32, 64],
        channels=8,
        pool_scales=(1, 2),
        lam=dict(sigma=2.0, embed_dims=6, proj_channels=6))
    cfg.model.data_preprocessor['size'] = (H, W)
    torch.manual_seed(0)
    model = MODELS.build(replace_sync_bn(cfg.model))
    model.decode_head.self_training = True
    samples = make_samples(h=H, w=W, pad=0)
    inputs = [torch.randint(0, 255, (3, H, W)).float() for _ in samples]
    data = model.data_preprocessor(
        dict(inputs=inputs, data_samples=samples), True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_annot', 'decode.loss_self'} <= set(losses)
    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')
        pred = model.predict(data['inputs'], data['data_samples'])
    assert logits.shape == (2, 21, H // 4, W // 4)
    assert pred[0].seg_logits.data.shape == (21, H, W)


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('kwargs, match', [
    (dict(self_training_mode='both'), 'self_training_mode'),
    (dict(self_training_threshold=0.0), 'self_training_threshold'),
    (dict(self_training_threshold=1.5), 'self_training_threshold'),
    (dict(self_training_class_portion=0.0), 'self_training_class_portion'),
    (dict(num_branch_convs=-1), 'num_branch_convs'),
    (dict(branch_channels=0), 'branch_channels'),
    (dict(lam='local'), 'lam'),
    (dict(
        loss_annot=dict(
            type='AnnotationProbabilityLoss', loss_name='loss_blp')),
     'distinct'),
    (dict(sampler=dict(type='OHEMPixelSampler')), 'sampler'),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make_head(**kwargs)


def test_loss_needs_img_and_valid_mask():
    head = make_head()
    feats, img = make_inputs()
    samples = make_samples()
    with pytest.raises(ValueError, match='img'):
        head.loss(feats, samples, None)
    for s in samples:
        del s.gt_valid_mask
    with pytest.raises(KeyError, match='gt_valid_mask'):
        head_loss(head, feats, img, samples)


# ---------------------------------------------------------------------------
# The grouped self-training options
# ---------------------------------------------------------------------------
def test_self_training_cfg_groups_and_converts_the_options():
    head = make_head(
        self_training_threshold=1,
        self_training_mode='add',
        self_training_weight=2,
        self_training_agreement=1,
        self_training_class_portion=0.25)
    assert head.self_training_cfg == SelfTrainingCfg(
        threshold=1.0,
        mode='add',
        weight=2.0,
        agreement=True,
        class_portion=0.25)
    assert type(head.self_training_threshold) is float
    assert type(head.self_training_weight) is float
    assert head.self_training_agreement is True
    assert head.self_training_mode == 'add'
    assert head.self_training_class_portion == 0.25
    assert make_head().self_training_cfg == SelfTrainingCfg()
    assert SelfTrainingCfg() == SelfTrainingCfg(0.9, 'replace', 1.0, False,
                                                None)


def test_self_training_cfg_is_frozen_and_setting_an_option_rechecks():
    head = make_head()
    with pytest.raises(AttributeError):
        head.self_training_cfg.threshold = 0.5
    head.self_training_threshold = 0.5
    assert head.self_training_cfg.threshold == 0.5
    assert head.self_training_threshold == 0.5
    with pytest.raises(ValueError, match='self_training_threshold'):
        head.self_training_threshold = 2.0
    assert head.self_training_threshold == 0.5
    head.self_training = True  # the phase flag stays a plain attribute
    assert head.self_training is True


@pytest.mark.parametrize('kwargs, message', [
    (dict(mode='both'),
     "self_training_mode must be one of ('replace', 'add'), got 'both'"),
    (dict(threshold=0.0), 'self_training_threshold must be in (0, 1], '
     'got 0.0'),
    (dict(threshold=True), 'self_training_threshold must be in (0, 1], '
     'got True'),
    (dict(class_portion=1.5), 'self_training_class_portion must be None or '
     'in (0, 1], got 1.5'),
])
def test_self_training_cfg_messages(kwargs, message):
    with pytest.raises(ValueError) as info:
        SelfTrainingCfg(**kwargs)
    assert str(info.value) == message
