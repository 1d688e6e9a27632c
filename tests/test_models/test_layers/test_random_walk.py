import math

import pytest
import torch
from torch.autograd import gradcheck
from torch.func import functional_call

from mmscribble.models.layers.random_walk import (RandomWalk,
                                                  transition_logits,
                                                  transition_matrix)


def test_transition_matrix_known_values():
    # One channel on a 1x2 map, f = [0, 1]: f^T f = [[0, 0], [0, 1]].
    f = torch.tensor([0., 1.]).reshape(1, 1, 1, 2)
    e = math.e
    expected = torch.tensor([[[0.5, 0.5], [1 / (1 + e), e / (1 + e)]]])
    assert torch.allclose(transition_matrix(f), expected)
    assert torch.allclose(
        transition_logits(f), torch.tensor([[[0., 0.], [0., 1.]]]))


def test_transition_matrix_is_row_stochastic():
    f = torch.randn(3, 5, 4, 6)
    trans = transition_matrix(f)
    assert trans.shape == (3, 24, 24)
    assert (trans > 0).all()
    assert torch.allclose(trans.sum(-1), torch.ones(3, 24))


def test_transition_matrix_raster_order():
    # Row i of P is position i of x.flatten(2): the only position that is
    # dissimilar from the rest must own the peaked row.
    f = torch.zeros(1, 1, 2, 3)
    f[0, 0, 1, 2] = 10.
    trans = transition_matrix(f)
    assert trans[0, 5, 5] > 0.99
    assert torch.allclose(trans[0, 0], torch.full((6, ), 1 / 6))


def test_transition_matrix_key():
    q, k = torch.randn(2, 3, 2, 2), torch.randn(2, 3, 2, 2)
    expected = torch.einsum('nci,ncj->nij', q.flatten(2),
                            k.flatten(2)).softmax(-1)
    assert torch.allclose(transition_matrix(q, k), expected, atol=1e-6)
    with pytest.raises(ValueError, match='key'):
        transition_matrix(q, torch.randn(2, 3, 2, 3))
    with pytest.raises(ValueError, match='query'):
        transition_matrix(torch.randn(2, 3, 4))


def test_low_precision_logits_do_not_overflow():
    # 8 * 100^2 = 80000 overflows float16 (max 65504).
    x = torch.full((1, 8, 2, 2), 100., dtype=torch.float16)
    trans = transition_matrix(x)
    assert trans.dtype == torch.float32
    assert torch.isfinite(trans).all()
    assert torch.allclose(trans.sum(-1), torch.ones(1, 4))
    out, _ = RandomWalk(8, alpha_init=1.)(x)
    assert out.dtype == torch.float16
    assert torch.isfinite(out).all()


def test_forward_is_eq5():
    torch.manual_seed(0)
    rw = RandomWalk(4, alpha_init=0.3)
    x = torch.randn(2, 4, 3, 5)
    out, trans = rw(x)
    f = x.flatten(2).transpose(1, 2)  # (N, HW, C)
    p = torch.softmax(f @ f.transpose(1, 2), dim=-1)
    expected = (0.3 * (p @ f) + f).transpose(1, 2).reshape(2, 4, 3, 5)
    assert torch.allclose(trans, p, atol=1e-6)
    assert torch.allclose(out, expected, atol=1e-5)


def test_walk_averages_uniform_features():
    # A constant map is a fixed point of the walk: P f = f.
    x = torch.ones(1, 3, 2, 2) * torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)
    out, trans = RandomWalk(3, alpha_init=1.)(x)
    assert torch.allclose(trans, torch.full((1, 4, 4), 0.25))
    assert torch.allclose(out, 2 * x)


def test_alpha_zero_is_identity_but_learns():
    rw = RandomWalk(4)
    assert rw.alpha.item() == 0.
    x = torch.randn(2, 4, 3, 3)
    out, _ = rw(x)
    assert torch.equal(out, x)
    out.square().sum().backward()
    assert rw.alpha.grad is not None and rw.alpha.grad.abs() > 0


def test_projected_similarity():
    torch.manual_seed(0)
    rw = RandomWalk(16, similarity='projected', alpha_init=0.5)
    assert rw.key_channels == 2
    assert sum(p.numel() for p in rw.parameters()) == 2 * (16 * 2 + 2) + 1
    x = torch.randn(2, 16, 3, 4)
    out, trans = rw(x)
    expected = transition_matrix(rw.query_conv(x), rw.key_conv(x))
    assert torch.allclose(trans, expected)
    walked = (x.flatten(2) @ trans.transpose(1, 2)).reshape(x.shape)
    assert torch.allclose(out, 0.5 * walked + x, atol=1e-6)
    assert RandomWalk(16, 'projected', key_channels=5).key_channels == 5


def test_value_proj_and_logits():
    torch.manual_seed(0)
    rw = RandomWalk(6, value_proj=True, alpha_init=1.)
    x = torch.randn(1, 6, 2, 3)
    out, trans, logits = rw(x, return_logits=True)
    assert torch.allclose(logits.softmax(-1), trans)
    value = rw.value_conv(x).flatten(2)
    expected = (value @ trans.transpose(1, 2)).reshape(x.shape) + x
    assert torch.allclose(out, expected, atol=1e-6)


def test_input_checks():
    with pytest.raises(ValueError, match='similarity'):
        RandomWalk(4, similarity='cosine')
    with pytest.raises(ValueError, match='key_channels'):
        RandomWalk(4, key_channels=2)
    with pytest.raises(ValueError, match='in_channels'):
        RandomWalk(0)
    with pytest.raises(ValueError, match='4 channels'):
        RandomWalk(4)(torch.randn(1, 3, 2, 2))
    with pytest.raises(ValueError, match='x must have shape'):
        RandomWalk(4)(torch.randn(4, 2, 2))


@pytest.mark.parametrize('similarity', ['raw', 'projected'])
def test_gradcheck(similarity):
    torch.manual_seed(0)
    rw = RandomWalk(
        4,
        similarity=similarity,
        key_channels=2 if similarity == 'projected' else None,
        alpha_init=0.7).double()
    params = dict(rw.named_parameters())
    names = list(params)
    x = torch.randn(2, 4, 2, 3, dtype=torch.float64, requires_grad=True)

    def fn(x, *values):
        out, trans = functional_call(rw, dict(zip(names, values)), (x, ))
        return out, trans

    values = [p.detach().clone().requires_grad_() for p in params.values()]
    assert gradcheck(fn, (x, *values), eps=1e-6, atol=1e-5)
