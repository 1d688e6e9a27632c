import math

import pytest
import torch
from mmseg.registry import MODELS
from torch.autograd import gradcheck

from mmscribble.models.losses.soft_entropy_loss import (SoftEntropyLoss,
                                                        soft_entropy_loss)


def test_uniform_logits_give_log_k():
    logits = torch.zeros(2, 5, 3, 4)
    assert torch.allclose(soft_entropy_loss(logits), torch.tensor(math.log(5)))


def test_one_hot_logits_give_zero():
    logits = torch.full((2, 4, 3, 3), -1e4)
    logits[:, 1] = 1e4
    loss = soft_entropy_loss(logits)
    assert loss.item() == 0.
    logits.requires_grad_()
    soft_entropy_loss(logits).backward()
    assert torch.isfinite(logits.grad).all()


def test_hand_worked_boundary_example():
    # Pixel 0: p = (0.5, 0.5), interior -> log 2.
    # Pixel 1: p = (1/(1+e^2), e^2/(1+e^2)), interior.
    # Pixel 2: uniform, boundary (1) -> left out.
    # Pixel 3: uniform, excluded (255) -> left out.
    logits = torch.tensor([[0., 0., 0., 0.], [0., 2., 0., 0.]])
    logits = logits.reshape(1, 2, 1, 4)
    boundary = torch.tensor([[[0, 0, 1, 255]]], dtype=torch.uint8)
    q = math.exp(2) / (1 + math.exp(2))
    h1 = -(q * math.log(q) + (1 - q) * math.log(1 - q))
    expected = (math.log(2) + h1) / 2
    loss = soft_entropy_loss(logits, boundary)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # A valid mask removes pixel 1 as well.
    valid = torch.tensor([[[1, 0, 1, 1]]], dtype=torch.uint8)
    loss = soft_entropy_loss(logits, boundary, valid_mask=valid)
    assert loss.item() == pytest.approx(math.log(2), rel=1e-6)
    # Without a boundary map every pixel counts (Eq. 2).
    loss = soft_entropy_loss(logits)
    assert loss.item() == pytest.approx((3 * math.log(2) + h1) / 4, rel=1e-6)


def test_matches_reference_and_averages_over_batch_pixels():
    torch.manual_seed(0)
    logits = torch.randn(3, 6, 5, 4) * 3
    boundary = torch.randint(0, 2, (3, 5, 4), dtype=torch.uint8)
    boundary[0] = 255
    boundary[1, :4] = 1
    prob = logits.softmax(1)
    ent = -(prob * prob.log()).sum(1)
    interior = boundary == 0
    # One mean over every counted pixel of the batch, not a mean of
    # per-image means.
    expected = ent[interior].mean()
    assert torch.allclose(soft_entropy_loss(logits, boundary), expected)
    none = soft_entropy_loss(logits, boundary, reduction='none')
    assert none.shape == (3, 5, 4)
    assert torch.allclose(none, ent * interior)
    assert torch.allclose(
        soft_entropy_loss(logits, boundary, reduction='sum'),
        ent[interior].sum())
    weight = torch.rand(3, 5, 4)
    assert torch.allclose(
        soft_entropy_loss(logits, boundary, weight=weight, avg_factor=7.),
        (ent * weight)[interior].sum() / 7.)


def test_accepts_channel_dim_maps():
    logits = torch.randn(2, 3, 4, 4)
    boundary = torch.randint(0, 2, (2, 4, 4), dtype=torch.uint8)
    assert torch.equal(
        soft_entropy_loss(logits, boundary[:, None]),
        soft_entropy_loss(logits, boundary))


def test_everything_excluded_is_a_finite_zero():
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    boundary = torch.full((2, 4, 4), 255, dtype=torch.uint8)
    loss = soft_entropy_loss(logits, boundary)
    assert loss.item() == 0. and loss.grad_fn is not None
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    loss = soft_entropy_loss(logits, valid_mask=torch.zeros(2, 4, 4))
    assert loss.item() == 0. and loss.grad_fn is not None


def test_shape_checks():
    logits = torch.randn(2, 3, 4, 4)
    with pytest.raises(ValueError, match='boundary_map'):
        soft_entropy_loss(logits, torch.zeros(2, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match='valid_mask'):
        soft_entropy_loss(logits, valid_mask=torch.ones(1, 4, 4))
    with pytest.raises(ValueError, match='logits'):
        soft_entropy_loss(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match='reduction'):
        soft_entropy_loss(logits, reduction='avg')


def test_module_matches_functional_and_registry():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 4, 5)
    boundary = torch.randint(0, 2, (2, 4, 5), dtype=torch.uint8)
    boundary[0, 0] = 255
    loss_fn = MODELS.build(dict(type='SoftEntropyLoss', loss_weight=0.3))
    assert isinstance(loss_fn, SoftEntropyLoss)
    assert loss_fn.loss_name == 'loss_entropy'
    assert torch.allclose(
        loss_fn(logits, boundary, ignore_index=255),
        0.3 * soft_entropy_loss(logits, boundary))
    assert torch.allclose(
        loss_fn(logits, boundary, reduction_override='none'),
        0.3 * soft_entropy_loss(logits, boundary, reduction='none'))
    # use_boundary=False counts boundary pixels, still not 255 ones.
    no_boundary = SoftEntropyLoss(use_boundary=False)
    assert torch.allclose(
        no_boundary(logits, boundary),
        soft_entropy_loss(logits, valid_mask=boundary != 255))
    with pytest.raises(ValueError, match='reduction'):
        SoftEntropyLoss(reduction='avg')


def test_gradcheck():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    boundary = torch.randint(0, 2, (2, 3, 4), dtype=torch.uint8)
    boundary[1, 0] = 255
    valid = torch.ones(2, 3, 4)
    valid[0, :, 0] = 0
    assert gradcheck(
        lambda x: soft_entropy_loss(x, boundary, valid_mask=valid), (logits, ))
    loss_fn = SoftEntropyLoss(loss_weight=2.)
    assert gradcheck(lambda x: loss_fn(x, boundary), (logits, ))


def test_avg_factor_is_an_exact_denominator():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    boundary = torch.randint(0, 2, (2, 4, 4), dtype=torch.uint8)
    total = soft_entropy_loss(logits, boundary, reduction='sum')
    # No eps added to avg_factor (mmseg adds float32's eps).
    assert soft_entropy_loss(logits, boundary, avg_factor=1.).item() == \
        total.item()
    assert soft_entropy_loss(logits, boundary, avg_factor=5.).item() == \
        (total / 5.).item()
    with pytest.raises(ValueError, match='avg_factor'):
        soft_entropy_loss(logits, boundary, avg_factor=-1.)
    with pytest.raises(ValueError, match='reduction_override'):
        SoftEntropyLoss()(logits, boundary, reduction_override='avg')
