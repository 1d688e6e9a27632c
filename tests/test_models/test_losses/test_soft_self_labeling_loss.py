"""SoftSelfLabelingLoss: Eq. 8's eta * H(y, sigma) with y a fixed target."""
import math

import pytest
import torch

from mmscribble.models.losses import (SoftSelfLabelingLoss,
                                      soft_self_labeling_loss)


def _pixel(y, logits):
    return (torch.tensor(y, dtype=torch.float64).view(1, -1, 1, 1),
            torch.tensor(logits, dtype=torch.float64).view(1, -1, 1, 1))


@pytest.mark.parametrize('kind,value', [
    ('standard', -0.5 * (math.log(.25) + math.log(.75))),
    ('reverse', math.log(2)),
    ('collision', math.log(2)),
    ('quadratic', 0.125),
])
def test_hand_values(kind, value):
    # y = (1/2, 1/2), sigma = (1/4, 3/4).
    y, logits = _pixel([.5, .5], [0., math.log(3)])
    assert soft_self_labeling_loss(
        logits, y, cross_entropy=kind).item() == pytest.approx(value)


def test_mean_over_weighted_pixels_only():
    y1, l1 = _pixel([.5, .5], [0., math.log(3)])  # collision: ln 2
    y2, l2 = _pixel([1., 0.], [0., 0.])  # collision: ln 2 as well
    y3, l3 = _pixel([0., 1.], [5., -5.])  # large, but weight 0
    y = torch.cat([y1, y2, y3], dim=3)
    logits = torch.cat([l1, l2, l3], dim=3)
    weight = torch.tensor([[[1., 1., 0.]]])
    out = soft_self_labeling_loss(logits, y, weight)
    assert out.item() == pytest.approx(math.log(2))
    assert soft_self_labeling_loss(
        logits, y, weight, reduction='sum').item() == pytest.approx(
            2 * math.log(2))


def test_no_counted_pixel_is_finite_zero_with_grad():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    y = torch.zeros(2, 3, 4, 4)
    y[:, 0] = 1
    out = SoftSelfLabelingLoss()(logits, y, weight=torch.zeros(2, 4, 4))
    assert out.item() == 0 and out.grad_fn is not None
    out.backward()
    assert torch.isfinite(logits.grad).all()


def test_module_is_eta_times_functional_and_target_detached():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 3, 3, requires_grad=True)
    y = torch.randn(2, 4, 3, 3).softmax(1).requires_grad_(True)
    weight = (torch.rand(2, 3, 3) > 0.3).float()
    loss = SoftSelfLabelingLoss(cross_entropy='reverse', loss_weight=0.3)
    out = loss(logits, y, weight)
    torch.testing.assert_close(
        out, 0.3 * soft_self_labeling_loss(logits, y, weight, 'reverse'))
    out.backward()
    assert y.grad is None
    assert loss.loss_name == 'loss_self_label'


@pytest.mark.parametrize('kind', ['standard', 'reverse', 'collision',
                                  'quadratic'])
def test_gradcheck(kind):
    torch.manual_seed(1)
    logits = torch.randn(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    y = torch.randn(1, 3, 2, 2, dtype=torch.float64).softmax(1)
    weight = torch.tensor([[[1., 0.], [1., 1.]]], dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda x: soft_self_labeling_loss(x, y, weight, kind), (logits, ))


def test_bad_inputs():
    x = torch.randn(1, 3, 2, 2)
    with pytest.raises(ValueError, match='cross_entropy'):
        SoftSelfLabelingLoss(cross_entropy='kl')
    with pytest.raises(ValueError, match='target'):
        soft_self_labeling_loss(x, x[:, :2])
    with pytest.raises(ValueError, match='weight'):
        soft_self_labeling_loss(x, x.softmax(1), torch.ones(1, 3, 3))


@pytest.mark.parametrize('kind', ['reverse', 'collision'])
def test_half_logits_keep_float32_targets_and_log_guard(kind):
    # Issue 26: the pseudo-labels were cast to the logits' dtype, which
    # moved the log guard to float16's smallest normal (6e-5): a 1e-6
    # probability of y counted as 6e-5. Half logits give the value of
    # their float32 copy, in float32.
    torch.manual_seed(0)
    logits = (torch.randn(2, 3, 4, 4) * 4).half()
    y = torch.full((2, 3, 4, 4), 1e-6)
    y[:, 0] = 1 - 2e-6
    out = soft_self_labeling_loss(logits, y, cross_entropy=kind)
    ref = soft_self_labeling_loss(logits.float(), y, cross_entropy=kind)
    torch.testing.assert_close(out.float(), ref, rtol=1e-6, atol=0)
    assert out.dtype == torch.float32
