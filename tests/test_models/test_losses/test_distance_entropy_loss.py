"""CDSP distance entropy loss (Eq. 15, 17, 18)."""
import math

import pytest
import torch
from mmseg.registry import MODELS

from mmscribble.models.losses.distance_entropy_loss import (
    DistanceEntropyLoss, distance_entropy_loss)


def three_pixels():
    # entropies: log 2, H(.75, .25), and a weight-0 pixel
    logits = torch.tensor([[0., math.log(3), 1.], [0., 0., 0.]])
    dmap = torch.tensor([[[255., 51., 0.]]])
    return logits.view(1, 2, 1, 3), dmap


H = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))


def test_hand_worked_values_and_normalisations():
    pred, dmap = three_pixels()
    total = math.log(2) + 0.2 * H
    assert distance_entropy_loss(pred, dmap).item() == pytest.approx(
        total / 2, rel=1e-6)
    assert distance_entropy_loss(pred, dmap, normalize='all').item() == \
        pytest.approx(total / 3, rel=1e-6)
    torch.testing.assert_close(
        distance_entropy_loss(pred, dmap, reduction='none'),
        torch.tensor([[[math.log(2), 0.2 * H, 0.]]]))
    # padding leaves the count too
    valid = torch.tensor([[[1, 0, 1]]])
    assert distance_entropy_loss(pred, dmap, valid).item() == \
        pytest.approx(math.log(2), rel=1e-6)
    assert distance_entropy_loss(
        pred, dmap, valid, normalize='all').item() == pytest.approx(
            math.log(2) / 2, rel=1e-6)


def test_minimises_entropy():
    # The printed Eq. 15 (d p log p) would be maximised entropy: a descent
    # step on this loss makes the prediction more confident.
    pred = torch.tensor([[[[0.3]], [[0.]], [[-0.2]]]], requires_grad=True)
    dmap = torch.full((1, 1, 1), 255.)
    before = distance_entropy_loss(pred, dmap)
    before.backward()
    after = distance_entropy_loss(pred.detach() - 0.5 * pred.grad, dmap)
    assert after.item() < before.item()


def test_no_weight_is_a_finite_zero_with_grad():
    pred = torch.randn(2, 4, 3, 3, requires_grad=True)
    out = distance_entropy_loss(pred, torch.zeros(2, 3, 3))
    assert out.item() == 0 and out.grad_fn is not None
    out.backward()
    assert torch.isfinite(pred.grad).all()


def test_gradcheck_and_module():
    torch.manual_seed(0)
    pred = torch.randn(2, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    dmap = torch.randint(0, 256, (2, 3, 2)).double()
    dmap[0, 0, 0] = 0
    for norm in ('nonzero', 'all'):
        assert torch.autograd.gradcheck(
            lambda p: distance_entropy_loss(p, dmap, normalize=norm), (pred, ))
    loss = MODELS.build(
        dict(
            type='DistanceEntropyLoss',
            normalize='all',
            loss_weight=0.5,
            loss_name='loss_ds'))
    assert isinstance(loss, DistanceEntropyLoss)
    assert loss.loss_name == 'loss_ds'
    torch.testing.assert_close(
        loss(pred, dmap),
        0.5 * distance_entropy_loss(pred, dmap, normalize='all'))


def test_errors():
    with pytest.raises(ValueError, match='normalize'):
        DistanceEntropyLoss(normalize='paper')
    with pytest.raises(ValueError, match='scale'):
        DistanceEntropyLoss(scale=0)
    with pytest.raises(ValueError, match='distance_map'):
        distance_entropy_loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='pred'):
        distance_entropy_loss(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3))
