"""Potts relaxations and the cross-entropy terms of soft self-labeling
(mmscribble/models/layers/potts_relaxations.py)."""
import math

import pytest
import torch

from mmscribble.models.layers.potts_relaxations import (
    CROSS_ENTROPIES, LOG_RELAXATIONS, RELAXATIONS, potts_relaxation,
    self_label_cross_entropy)


def _vec(*v):
    return torch.tensor(v, dtype=torch.float64)


# p = (1, 0, 0), q = (1/2, 1/2, 0): p.q = 1/2, |p|^2 = 1, |q|^2 = 1/2.
HAND = {
    'bilinear': 0.5,  # 1 - 1/2
    'quadratic': 0.25,  # (1/4 + 1/4) / 2
    'normalized_quadratic': 1 - 1 / math.sqrt(2),  # 1 - (1/2) / sqrt(1/2)
    'collision_cross_entropy': math.log(2),  # -ln 1/2
    'collision_divergence': 0.5 * math.log(2),  # -ln (1 / sqrt 2)
    'log_quadratic': -math.log(0.75),  # -ln(1 - 1/4)
}


@pytest.mark.parametrize('relaxation', RELAXATIONS)
def test_relaxation_hand_values(relaxation):
    val = potts_relaxation(_vec(1, 0, 0), _vec(.5, .5, 0), relaxation, dim=0)
    assert val.item() == pytest.approx(HAND[relaxation], abs=1e-12)
    # Symmetric, and zero for equal one-hot labels.
    back = potts_relaxation(_vec(.5, .5, 0), _vec(1, 0, 0), relaxation, dim=0)
    assert back.item() == pytest.approx(HAND[relaxation], abs=1e-12)
    same = potts_relaxation(_vec(0, 1, 0), _vec(0, 1, 0), relaxation, dim=0)
    assert same.item() == pytest.approx(0, abs=1e-12)


def test_figure1_moves():
    # Fig. 1(a): bilinear charges 1/2 midway through a joint relabeling.
    mid = _vec(.5, .5, 0)
    assert potts_relaxation(mid, mid, 'bilinear', 0).item() == 0.5
    assert potts_relaxation(mid, mid, 'quadratic', 0).item() == 0
    assert potts_relaxation(mid, mid, 'normalized_quadratic',
                            0).item() == pytest.approx(
                                0, abs=1e-12)
    # Fig. 1(b): quadratic prefers the soft state (0, 1/2, 1/2): 3/4 < 1.
    a, soft = _vec(1, 0, 0), _vec(0, .5, .5)
    assert potts_relaxation(a, soft, 'quadratic', 0).item() == 0.75
    assert potts_relaxation(a, _vec(0, 0, 1), 'quadratic', 0).item() == 1
    # Normalised quadratic: 1 for both (no local minimum).
    assert potts_relaxation(a, soft, 'normalized_quadratic', 0).item() == 1


@pytest.mark.parametrize('relaxation', LOG_RELAXATIONS)
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_log_guard_orthogonal_one_hot(relaxation, dtype):
    # p.q = 0 (and 1 - |p - q|^2 / 2 = 0): -ln 0 is clamped at eps.
    p = torch.tensor([1., 0., 0.], dtype=dtype, requires_grad=True)
    q = torch.tensor([0., 1., 0.], dtype=dtype, requires_grad=True)
    val = potts_relaxation(p, q, relaxation, dim=0)
    assert val.item() == pytest.approx(
        -math.log(torch.finfo(dtype).tiny), rel=1e-6)
    val.backward()
    assert torch.isfinite(p.grad).all() and torch.isfinite(q.grad).all()
    # A user eps caps the value at -ln(eps).
    assert potts_relaxation(p, q, relaxation, 0, eps=1e-4).item() == \
        pytest.approx(-math.log(1e-4), rel=1e-6)


@pytest.mark.parametrize('relaxation', RELAXATIONS)
def test_relaxation_gradcheck(relaxation):
    torch.manual_seed(0)
    lp = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    lq = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: potts_relaxation(a.softmax(1), b.softmax(1), relaxation),
        (lp, lq))


# y = (1/2, 1/2), sigma = softmax(0, ln 3) = (1/4, 3/4).
CE_HAND = {
    'standard': -0.5 * (math.log(.25) + math.log(.75)),
    'reverse': math.log(2),  # -(1/4 + 3/4) ln 1/2
    'collision': math.log(2),  # -ln(1/8 + 3/8)
    'quadratic': 0.125,  # 2 * (1/4)^2
}


@pytest.mark.parametrize('kind', CROSS_ENTROPIES)
def test_cross_entropy_hand_values(kind):
    y = _vec(.5, .5).view(1, 2, 1, 1)
    logits = _vec(0, math.log(3)).view(1, 2, 1, 1)
    val = self_label_cross_entropy(y, logits, kind)
    assert val.shape == (1, 1, 1)
    assert val.item() == pytest.approx(CE_HAND[kind], abs=1e-12)


def test_cross_entropy_one_hot_is_nll():
    logits = torch.randn(2, 5, 3, 3, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.randint(0, 5, (2, 3, 3)),
                                    5).permute(0, 3, 1, 2).double()
    nll = -(y * logits.log_softmax(1)).sum(1)
    for kind in ('standard', 'collision'):
        torch.testing.assert_close(
            self_label_cross_entropy(y, logits, kind), nll)


@pytest.mark.parametrize('kind', CROSS_ENTROPIES)
def test_cross_entropy_gradcheck(kind):
    torch.manual_seed(1)
    ly = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(2, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: self_label_cross_entropy(a.softmax(1), b, kind),
        (ly, logits))


def test_cross_entropy_zero_label_no_nan():
    # Reverse / collision take ln y: a zero y^k gives a finite value and
    # a finite gradient.
    y = _vec(1, 0).view(1, 2, 1, 1).requires_grad_(True)
    logits = _vec(0, 1).view(1, 2, 1, 1).requires_grad_(True)
    for kind in ('reverse', 'collision'):
        val = self_label_cross_entropy(y, logits, kind).sum()
        assert torch.isfinite(val)
        gy, gl = torch.autograd.grad(val, (y, logits))
        assert torch.isfinite(gy).all() and torch.isfinite(gl).all()


def test_bad_choices_raise():
    p = torch.rand(1, 2, 2, 2)
    with pytest.raises(ValueError, match='relaxation'):
        potts_relaxation(p, p, 'potts')
    with pytest.raises(ValueError, match='kind'):
        self_label_cross_entropy(p, p, 'kl')
