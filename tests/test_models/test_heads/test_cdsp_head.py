"""CDSPHead: Eq. 5 / 7 = the sum of the functional forms; LoRM training
only; terms switch off for Table 2."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmscribble.models.heads import CDSPHead
from mmscribble.models.layers.lorm import lorm_rectify_dense
from mmscribble.models.losses import (distance_entropy_loss,
                                      label_smooth_cross_entropy,
                                      lorm_mse_loss, partial_cross_entropy)
from mmscribble.models.utils import cell_centre_mask

K, C, S = 3, 6, 16  # classes, feature channels, image side (stride 4)


def samples(n=2):
    torch.manual_seed(0)
    out = []
    for i in range(n):
        s = SegDataSample()
        lab = torch.full((1, S, S), 255)
        lab[0, 1, 2:9] = 0
        lab[0, 10, 3:12] = i + 1
        pseudo = torch.zeros(1, S, S, dtype=torch.uint8)
        pseudo[0, 6:14, 2:13] = i + 1
        valid = torch.ones(1, S, S, dtype=torch.uint8)
        valid[0, :, 13:] = 0
        pseudo[0, :, 13:] = 255
        s.gt_sem_seg = PixelData(data=lab)
        s.gt_valid_mask = PixelData(data=valid)
        s.gt_pseudo_seg = PixelData(data=pseudo)
        s.gt_distance_map = PixelData(data=torch.rand(1, S, S) * 255)
        s.gt_distance_pseudo = PixelData(data=torch.rand(1, S, S) * 255)
        s.set_metainfo(dict(img_shape=(S, S), ori_shape=(S, S)))
        out.append(s)
    return out


def head(**kwargs):
    cfg = dict(
        type='CDSPHead',
        in_channels=C,
        channels=C,
        in_index=-1,
        num_classes=K,
        dilations=(1, 2),
        lorm_in_channels=C,
        dropout_ratio=0,
        loss_decode=dict(type='PartialCrossEntropyLoss'))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_losses_equal_functional_forms():
    h = head(lorm=dict(chunk_size=5)).double()
    feats = [torch.randn(2, C, 4, 4, dtype=torch.float64)]
    ss = samples()
    losses = h.loss(feats, ss, None)
    assert set(losses) == {
        'loss_pce', 'acc_seg', 'loss_segc', 'loss_ds', 'loss_dc', 'loss_lorm'
    }
    logits = torch.nn.functional.interpolate(
        h.forward(feats), (S, S), mode='bilinear', align_corners=False)
    st = lambda f: torch.stack([s.get(f).data[0] for s in ss])  # noqa
    valid = st('gt_valid_mask')
    pseudo = st('gt_pseudo_seg').long()
    torch.testing.assert_close(losses['loss_pce'],
                               partial_cross_entropy(logits, st('gt_sem_seg')))
    torch.testing.assert_close(
        losses['loss_segc'],
        label_smooth_cross_entropy(logits, pseudo, valid, epsilon=0.1))
    torch.testing.assert_close(
        losses['loss_ds'],
        distance_entropy_loss(logits,
                              st('gt_distance_map').double(), valid))
    torch.testing.assert_close(
        losses['loss_dc'],
        distance_entropy_loss(logits,
                              st('gt_distance_pseudo').double(), valid))
    fg = cell_centre_mask((pseudo != 0) & (pseudo != 255), (4, 4), 4)
    f = feats[0]
    rect = lorm_rectify_dense(f, h.lorm.query(f), h.lorm.key(f), fg,
                              h.lorm.delta, 'key')
    torch.testing.assert_close(
        losses['loss_lorm'],
        lorm_mse_loss(f, rect, cell_centre_mask(valid, (4, 4), 4)))
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert h.lorm.delta.grad is not None


def test_prediction_never_runs_lorm(monkeypatch):
    h = head().eval()
    monkeypatch.setattr(h.lorm, 'forward', None)  # would fail if called
    out = h.predict([torch.randn(1, C, 4, 4)],
                    [dict(img_shape=(S, S), ori_shape=(S, S))], None)
    assert out.shape == (1, K, S, S)


def test_terms_switch_off():
    h = head(loss_segc=None, loss_ds=None, loss_dc=None, loss_lorm=None)
    assert h.lorm is None
    ss = samples()
    for s in ss:  # no CDSP map is read
        for f in ('gt_pseudo_seg', 'gt_distance_map', 'gt_distance_pseudo'):
            delattr(s, f)
    assert set(h.loss([torch.randn(2, C, 4, 4)], ss,
                      None)) == {'loss_pce', 'acc_seg'}
    h = head(lorm=dict(mask_mode='query'))
    assert h.lorm.mask_mode == 'query'
    assert isinstance(h, CDSPHead)


def test_missing_map_and_name_clash():
    h = head()
    ss = samples()
    for s in ss:
        delattr(s, 'gt_distance_pseudo')
    with pytest.raises(KeyError, match='gt_distance_pseudo'):
        h.loss([torch.randn(2, C, 4, 4)], ss, None)
    with pytest.raises(ValueError, match='already used'):
        head(loss_dc=dict(type='DistanceEntropyLoss', loss_name='loss_ds'))


def test_empty_scribble_and_pseudo_are_finite():
    h = head()
    ss = samples()
    for s in ss:
        s.gt_sem_seg.data[:] = 255
        s.gt_pseudo_seg.data[:] = 255
        s.gt_distance_map.data[:] = 0
    losses = h.loss([torch.randn(2, C, 4, 4)], ss, None)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_pce'] == 0 and losses['loss_segc'] == 0
