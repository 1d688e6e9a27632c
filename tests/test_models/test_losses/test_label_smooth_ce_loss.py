"""CDSP L_segc (Eq. 9): label-smoothed CE on pseudo-labels."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmscribble.models.losses.label_smooth_ce_loss import (
    LabelSmoothCrossEntropyLoss, label_smooth_cross_entropy)


def two_pixels():
    # pixel 0: p = (.5, .5), label 0; pixel 1: p = (.75, .25), label 1;
    # pixel 2: no pseudo-label.
    logits = torch.tensor([[0., math.log(3), 5.], [0., 0., 0.]])
    return logits.view(1, 2, 1, 3), torch.tensor([[[0, 1, 255]]])


def test_hand_worked_value():
    pred, label = two_pixels()
    eps = 0.1
    p0 = math.log(2)
    p1 = (1 - eps) * math.log(4) + eps * (math.log(4 / 3) + math.log(4)) / 2
    out = label_smooth_cross_entropy(pred, label, epsilon=eps)
    assert out.item() == pytest.approx((p0 + p1) / 2, rel=1e-6)
    per = label_smooth_cross_entropy(pred, label, reduction='none')
    torch.testing.assert_close(per, torch.tensor([[[p0, p1, 0.]]]))
    # epsilon 0: plain CE; matches torch's label_smoothing everywhere
    assert label_smooth_cross_entropy(pred, label, epsilon=0).item() == \
        pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-6)
    torch.manual_seed(0)
    x = torch.randn(2, 5, 4, 6)
    y = torch.randint(0, 5, (2, 4, 6))
    y[0, 0] = 255
    torch.testing.assert_close(
        label_smooth_cross_entropy(x, y, epsilon=0.3),
        F.cross_entropy(x, y, ignore_index=255, label_smoothing=0.3))


def test_valid_mask_excludes_padding_not_background():
    pred, label = two_pixels()
    valid = torch.tensor([[[1, 0, 1]]])
    # pixel 1 (padding) leaves the sum and the count; pixel 2 is ignored,
    # not trained as background as the authors' in-place rewrite does.
    out = label_smooth_cross_entropy(pred, label, valid_mask=valid)
    assert out.item() == pytest.approx(math.log(2), rel=1e-6)


def test_nothing_counted_is_a_finite_zero_with_grad():
    pred = torch.randn(1, 3, 2, 2, requires_grad=True)
    label = torch.full((1, 2, 2), 255)
    out = label_smooth_cross_entropy(pred, label)
    assert out.item() == 0 and out.grad_fn is not None
    out.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() == 0


def test_gradcheck_and_module():
    torch.manual_seed(1)
    pred = torch.randn(2, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    label = torch.tensor([[[0, 1, 255], [2, 2, 0]], [[1, 255, 0], [0, 1, 2]]])
    valid = torch.ones(2, 2, 3)
    valid[1, 1, 2] = 0
    assert torch.autograd.gradcheck(
        lambda p: label_smooth_cross_entropy(p, label, valid, epsilon=0.1),
        (pred, ))
    loss = MODELS.build(
        dict(type='LabelSmoothCrossEntropyLoss', loss_weight=2.))
    assert isinstance(loss, LabelSmoothCrossEntropyLoss)
    assert loss.loss_name == 'loss_segc'
    torch.testing.assert_close(
        loss(pred, label, valid_mask=valid),
        2 * label_smooth_cross_entropy(pred, label, valid))


@pytest.mark.parametrize('kwargs, err, match', [
    (dict(epsilon=1.5), ValueError, 'epsilon'),
    (dict(reduction='avg'), ValueError, 'reduction'),
])
def test_argument_errors(kwargs, err, match):
    with pytest.raises(err, match=match):
        LabelSmoothCrossEntropyLoss(**kwargs)


def test_input_errors():
    pred = torch.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match='label'):
        label_smooth_cross_entropy(pred, torch.zeros(1, 3, 2).long())
    with pytest.raises(ValueError, match='valid_mask'):
        label_smooth_cross_entropy(
            pred, torch.zeros(1, 2, 2).long(), valid_mask=torch.ones(1, 3, 3))
    with pytest.raises(ValueError, match='class ids'):
        label_smooth_cross_entropy(pred, torch.full((1, 2, 2), 7))
