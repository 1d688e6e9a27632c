"""FeatureConsistencyLoss: URSS Eq. 7 on feature maps (Tab. 2 rows)."""
import pytest
import torch
from mmseg.registry import MODELS
from torch.autograd import gradcheck

from mmscribble.models.layers import ViewTransform, apply_view, crop_view
from mmscribble.models.losses.feature_consistency_loss import (
    FeatureConsistencyLoss, feature_consistency_loss)


def test_feature_consistency_loss_by_hand():
    f = torch.arange(6.).reshape(1, 1, 2, 3)
    flip = ViewTransform('flip')
    assert float(feature_consistency_loss(f, f.flip(-1), flip)) == 0.0
    # (T f - g)^2 = (f.flip - 0)^2 averaged over the 6 positions
    g = torch.zeros_like(f)
    assert float(feature_consistency_loss(f, g, flip)) == pytest.approx(
        (f**2).mean().item())
    # Shift right by one: view column 0 has no source and is not compared.
    right = ViewTransform('translate', (0, 1))
    g = torch.full_like(f, 100.)
    g[..., 1:] = f[..., :-1]
    assert float(feature_consistency_loss(f, g, right)) == 0.0
    # Padding of x (its first column, seen at view column 1) is not
    # compared either: only view column 2 is, off by 1.
    valid = torch.tensor([[[False, True, True], [False, True, True]]])
    g[..., 1:] = f[..., :-1] + 1
    g[..., 1] += 4
    loss = feature_consistency_loss(f, g, right, valid)
    assert float(loss) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='valid_mask'):
        feature_consistency_loss(f, g, right, valid[:, :1])


def test_cropped_feature_consistency_by_hand():
    f = torch.arange(12.).reshape(1, 1, 3, 4)
    down = ViewTransform('translate', (1, 0))  # keeps source rows 0-1
    g = f[..., :2, :].clone()
    assert float(feature_consistency_loss(f, g, down,
                                          view_cropped=True)) == 0.0
    g[..., 1, 3] += 2  # one cell off by 2 out of 8 compared
    assert float(feature_consistency_loss(
        f, g, down, view_cropped=True)) == pytest.approx(4 / 8)
    valid = torch.ones(1, 3, 4, dtype=torch.bool)
    valid[..., 3] = False  # that cell is padding: not compared
    assert float(
        feature_consistency_loss(f, g, down, valid, view_cropped=True)) == 0.0
    with pytest.raises(ValueError, match='feat_view must have shape'):
        feature_consistency_loss(f, f, down, view_cropped=True)


def test_channels_are_averaged_and_reductions_by_hand():
    # Two channels, errors (1, 3) at one position and (0, 0) elsewhere:
    # that position's error is (1 + 9) / 2 = 5, over 4 positions.
    f = torch.zeros(1, 2, 2, 2)
    g = torch.zeros(1, 2, 2, 2)
    g[0, :, 1, 0] = torch.tensor([1., 3.])
    flip = ViewTransform('flip')
    g = g.flip(-1)  # the error lands at view position (1, 1)
    assert float(feature_consistency_loss(f, g, flip)) == pytest.approx(5 / 4)
    assert float(feature_consistency_loss(f, g, flip, reduction='sum')) == 5.0
    per = feature_consistency_loss(f, g, flip, reduction='none')
    assert per.tolist() == [[[0., 0.], [0., 5.]]]
    assert float(feature_consistency_loss(f, g, flip,
                                          avg_factor=2)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match='reduction'):
        feature_consistency_loss(f, g, flip, reduction='max')


def test_nothing_compared_gives_zero_with_grad():
    f = torch.randn(2, 3, 2, 2, requires_grad=True)
    g = torch.randn(2, 3, 2, 2)
    valid = torch.zeros(2, 2, 2, dtype=torch.bool)
    loss = feature_consistency_loss(f, g, ViewTransform('flip'), valid)
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert torch.equal(f.grad, torch.zeros_like(f))


@pytest.mark.parametrize('phi, cropped', [
    (ViewTransform('flip'), False),
    (ViewTransform('translate', (1, -1)), False),
    (ViewTransform('translate', (-1, 2)), True),
])
def test_functional_equals_module(phi, cropped):
    torch.manual_seed(0)
    f = torch.randn(2, 3, 4, 5)
    g = torch.randn(2, 3, 4, 5)
    if cropped:
        g = crop_view(g, phi)
    valid = torch.rand(2, 4, 5) > 0.3
    loss_fn = MODELS.build(
        dict(type='FeatureConsistencyLoss', loss_weight=2.5))
    assert isinstance(loss_fn, FeatureConsistencyLoss)
    assert loss_fn.loss_name == 'loss_ss_feat'
    for red in ('mean', 'sum', 'none'):
        want = 2.5 * feature_consistency_loss(
            f, g, phi, valid, view_cropped=cropped, reduction=red)
        got = loss_fn(
            f,
            g,
            phi,
            valid_mask=valid,
            view_cropped=cropped,
            reduction_override=red)
        torch.testing.assert_close(got, want)


def test_translation_equivariant_features_give_zero():
    """Features that move with the image satisfy Eq. 7 exactly."""
    torch.manual_seed(0)
    f = torch.randn(1, 4, 5, 6)
    phi = ViewTransform('translate', (2, -1))
    g = apply_view(
        f, phi, fill=0) + torch.randn(1, 4, 5, 6) * (
            apply_view(torch.ones(1, 1, 5, 6), phi, fill=0) == 0)
    assert float(feature_consistency_loss(f, g, phi)) == 0.0


@pytest.mark.parametrize('detach', [True, False])
def test_detach_target(detach):
    f = torch.randn(1, 2, 3, 3, requires_grad=True)
    g = torch.randn(1, 2, 3, 3, requires_grad=True)
    loss_fn = FeatureConsistencyLoss(detach_target=detach)
    loss_fn(f, g, ViewTransform('flip')).backward()
    assert f.grad is not None
    assert (g.grad is None) == detach


@pytest.mark.parametrize('phi, cropped', [
    (ViewTransform('flip'), False),
    (ViewTransform('translate', (0, 1)), False),
    (ViewTransform('translate', (1, 0)), True),
])
def test_gradcheck(phi, cropped):
    torch.manual_seed(0)
    f = torch.randn(1, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    g = torch.randn(1, 2, 3, 4, dtype=torch.float64)
    if cropped:
        g = crop_view(g, phi)
    g.requires_grad_(True)
    valid = torch.ones(1, 3, 4, dtype=torch.bool)
    valid[..., 0] = False

    def loss(a, b):
        return feature_consistency_loss(a, b, phi, valid, view_cropped=cropped)

    assert gradcheck(loss, (f, g), eps=1e-6, atol=1e-6)


def test_module_arguments():
    with pytest.raises(ValueError, match='reduction'):
        FeatureConsistencyLoss(reduction='max')
    with pytest.raises(ValueError, match='loss_name'):
        FeatureConsistencyLoss(loss_name='ss_feat')
    f = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match='reduction_override'):
        FeatureConsistencyLoss()(
            f, f, ViewTransform('flip'), reduction_override='max')
