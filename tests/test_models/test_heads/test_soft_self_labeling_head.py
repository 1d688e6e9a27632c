"""Soft self-labeling heads: partial CE, then the Eq. 8 terms once
self_labeling is switched on."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmscribble.models.heads import (SoftSelfLabelingHead,
                                     SoftSelfLabelingV2Head)
from mmscribble.models.layers.potts import (GridNeighbourhood, rgb_guide,
                                            solve_pseudo_labels)
from mmscribble.models.losses import soft_self_labeling_loss

SOLVER = dict(steps=5, lr=0.2, optimizer='adam')


def _samples(n=2, size=16, scribbled=True):
    out = []
    for i in range(n):
        label = torch.full((1, size, size), 255, dtype=torch.long)
        if scribbled:
            label[0, 2, 2:10] = 0
            label[0, 12, 4:12] = 1 + i
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=label)
        valid = torch.ones(1, size, size, dtype=torch.uint8)
        valid[0, :, -2:] = 0
        s.gt_valid_mask = PixelData(data=valid)
        s.set_metainfo(dict(img_shape=(size, size)))
        out.append(s)
    return out


def _v2(**kwargs):
    return SoftSelfLabelingV2Head(
        in_channels=8, channels=8, num_classes=3, dilations=(1, 2),
        dropout_ratio=0, solver=SOLVER, **kwargs)


def test_pretraining_phase_is_partial_ce_only():
    torch.manual_seed(0)
    head = _v2()
    losses = head.loss([torch.randn(2, 8, 4, 4)], _samples(), {},
                       img=torch.randn(2, 3, 16, 16))
    assert 'loss_self_label' not in losses and 'loss_ce' in losses


@pytest.mark.parametrize('denominator', ['scribbled', 'unlabeled'])
def test_self_label_loss_is_the_solved_target(denominator):
    torch.manual_seed(0)
    head = _v2(self_labeling=True, self_label_denominator=denominator)
    feats, img, samples = torch.randn(2, 8, 4, 4), torch.randn(
        2, 3, 16, 16), _samples()
    losses = head.loss([feats], samples, {}, img=img)
    # The same maths by hand: logits at label size, grid on the RGB image.
    logits = torch.nn.functional.interpolate(
        head.forward([feats]), size=(16, 16), mode='bilinear')
    label = torch.stack([s.gt_sem_seg.data[0] for s in samples])
    valid = torch.stack([s.gt_valid_mask.data[0] for s in samples]) != 0
    guide = rgb_guide(img, head.img_mean, head.img_std)
    nb = GridNeighbourhood.from_image(guide, 9.0, 4, valid)
    y = solve_pseudo_labels(logits, label, nb, 'collision',
                            'collision_divergence', 0.3, 6.0,
                            valid_mask=valid, **SOLVER)
    free = (label == 255) & valid
    total = soft_self_labeling_loss(logits, y, free, reduction='sum')
    scribbled = (label != 255) & valid
    # 2 images x 16 scribbled pixels, none in the padding (last 2 columns)
    assert scribbled.sum() == 32 and free.sum() == 2 * 16 * 14 - 32
    # Eq. 8's sums over the partial CE's denominator, or a mean per term.
    count = scribbled.sum() if denominator == 'scribbled' else free.sum()
    expected = 0.3 * total / count
    torch.testing.assert_close(losses['loss_self_label'], expected)
    # Logged, not a loss: the term's weight in units of the partial CE's,
    # 0.3 * 416 / 32 = 3.9 unscribbled pixels per scribbled one, or eta.
    share = 0.3 * 416 / 32 if denominator == 'scribbled' else 0.3
    torch.testing.assert_close(losses['self_label_share'],
                               torch.tensor(share))
    assert not losses['self_label_share'].requires_grad
    if denominator == 'unlabeled':
        torch.testing.assert_close(
            expected, 0.3 * soft_self_labeling_loss(logits, y, free))
    losses['loss_self_label'].backward()
    assert head.conv_seg.branches[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('mode', ['soft', 'hard', 'gd'])
@pytest.mark.parametrize('scribbled', [True, False])
def test_modes_finite_with_and_without_scribbles(mode, scribbled):
    torch.manual_seed(1)
    head = _v2(self_labeling=True, mode=mode, solve_scale=0.5)
    feats, img = torch.randn(2, 8, 4, 4), torch.randn(2, 3, 16, 16)
    losses = head.loss([feats], _samples(scribbled=scribbled), {}, img=img)
    assert all(torch.isfinite(v) for k, v in losses.items() if 'loss' in k)
    assert ('loss_potts' in losses) == (mode == 'gd')
    # No labelled pixel, no accuracy (mmseg's logged 100.0).
    assert ('acc_seg' in losses) == scribbled
    if mode != 'gd' and not scribbled:
        # Issue 26: no scribbled pixel, nothing for the default
        # denominator (the scribble count) to keep in proportion: the term
        # is 0 with a gradient path (it divided the sum by 1 and logged
        # 16474 on MSCMR), and so is the share.
        assert losses['loss_self_label'].item() == 0
        assert losses['loss_self_label'].grad_fn is not None
        assert losses['self_label_share'].item() == 0
        losses['loss_self_label'].backward()
        grad = head.conv_seg.branches[0].weight.grad
        assert torch.isfinite(grad).all() and grad.abs().sum() == 0
        # The mean over the unscribbled pixels has them to average.
        head.self_label_denominator = 'unlabeled'
        mean = head.loss([feats], _samples(scribbled=False), {}, img=img)
        assert mean['loss_self_label'] > 0


@pytest.mark.parametrize('mode', ['soft', 'gd'])
def test_counts_above_float16_max_in_float32(mode):
    # Issue 26: the counts were cast to the logits' dtype; under AMP a
    # VOC batch's ~94k scribbled pixels are inf in float16, so
    # loss_self_label was 0 and self_label_share NaN ('soft'), and the
    # Potts term 0 ('gd'). 160 x 512 = 81920 pixels, 70k of them
    # scribbled (the 'scribbled' denominator), all above 65504.
    torch.manual_seed(0)
    head = _v2(self_labeling=True, mode=mode)
    h, w = 160, 512
    label = torch.full((1, 1, h, w), 255, dtype=torch.long)
    label[0, 0, :137] = torch.randint(0, 3, (137, w))
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=label[0])
    sample.set_metainfo(dict(img_shape=(h, w)))
    logits = torch.randn(1, 3, h, w)
    img = torch.randn(1, 3, h, w)
    ref = head.self_label_losses(logits, [sample], img)
    half = head.self_label_losses(logits.half(), [sample], img)
    assert set(half) == set(ref)
    for key, value in ref.items():
        assert value.dtype == torch.float32 and value != 0, key
        torch.testing.assert_close(
            half[key].float(), value, rtol=1e-2, atol=0,
            msg=f'{key}: {half[key]} in half, {value} in float32')
    assert all(v.dtype == torch.float32 for v in half.values())


def test_dense_neighbourhood_and_v3plus_head():
    torch.manual_seed(2)
    head = SoftSelfLabelingHead(
        in_channels=16, in_index=1, channels=8, c1_in_channels=8,
        c1_channels=4, dilations=(1, 2), num_classes=3, dropout_ratio=0,
        self_labeling=True, solve_scale=0.5, solver=SOLVER,
        neighbourhood=dict(type='dense', bandwidth=9.0, spatial_sigma=8.0))
    inputs = [torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)]
    losses = head.loss(inputs, _samples(), {}, img=torch.randn(2, 3, 16, 16))
    assert torch.isfinite(losses['loss_self_label'])


def test_bad_arguments():
    with pytest.raises(ValueError, match='relaxation'):
        _v2(relaxation='potts')
    with pytest.raises(ValueError, match='mode'):
        _v2(mode='graphcut')
    with pytest.raises(ValueError, match='neighbourhood.type'):
        _v2(neighbourhood=dict(type='sparse', bandwidth=9.))
    with pytest.raises(ValueError, match='solve_scale'):
        _v2(solve_scale=2)
    with pytest.raises(ValueError, match='self_label_denominator'):
        _v2(self_label_denominator='all')
    with pytest.raises(ValueError, match='needs the input image'):
        _v2(self_labeling=True).loss([torch.randn(1, 8, 4, 4)],
                                     _samples(1), {})


def test_half_precision_logits_solve_in_float32():
    head = _v2()
    label = torch.full((1, 4, 4), 255)
    label[0, 0, 0] = 1
    logits = torch.randn(1, 3, 4, 4).half()
    guide = torch.rand(1, 3, 4, 4) * 255
    nb = GridNeighbourhood.from_image(guide, 9.0, 4)
    y = head.solve(logits, label, None, nb)
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
