"""CDSP LoRM (Eq. 10-13): chunked == dense, the two masks, the loss."""
import pytest
import torch

from mmscribble.models.layers.lorm import (LoRM, lorm_affinity_dense,
                                           lorm_rectify, lorm_rectify_dense)
from mmscribble.models.losses.lorm_loss import LoRMLoss, lorm_mse_loss


def inputs(n=2, c=4, d=3, h=5, w=6, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    q = torch.randn(n, d, h, w, generator=g, dtype=dtype)
    k = torch.randn(n, d, h, w, generator=g, dtype=dtype)
    m = (torch.rand(n, h, w, generator=g) < 0.4).to(dtype)
    return feat, q, k, m


@pytest.mark.parametrize('mode', ['key', 'query'])
@pytest.mark.parametrize('chunk', [1, 7, 30, None])
def test_chunked_equals_dense_values_and_grads(mode, chunk):
    feat, q, k, m = inputs()
    args = [t.clone().requires_grad_() for t in (feat, q, k)]
    dargs = [t.clone().requires_grad_() for t in (feat, q, k)]
    delta = torch.tensor(0.7, dtype=torch.float64)
    out = lorm_rectify(*args, m, delta, mode, chunk_size=chunk)
    ref = lorm_rectify_dense(*dargs, m, delta, mode)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-10)
    w = torch.randn_like(out)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for a, b in zip(args, dargs):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-10)


def test_affinity_is_cosine_softmax_without_temperature():
    q = torch.tensor([[[[1.]], [[0.]]]]).expand(1, 2, 1, 2).clone()
    k = torch.zeros(1, 2, 1, 2)
    k[0, :, 0, 0] = torch.tensor([3., 0.])  # cos = 1 with q
    k[0, :, 0, 1] = torch.tensor([0., 5.])  # cos = 0 with q
    a = lorm_affinity_dense(q, k)
    e = torch.e
    torch.testing.assert_close(a[0, 0],
                               torch.tensor([e / (e + 1), 1 / (e + 1)]))
    assert torch.allclose(a.sum(-1), torch.ones(1, 2))


def test_the_two_masks():
    feat, q, k, m = inputs(n=1)
    key_out = lorm_rectify_dense(feat, q, k, m, 1.0, 'key')
    query_out = lorm_rectify_dense(feat, q, k, m, 1.0, 'query')
    bg = m[0] == 0
    # authors' code: background positions are rectified to 0
    assert (query_out[0][:, bg] == 0).all()
    assert (key_out[0][:, bg].abs() > 0).any()
    # paper: background features are never read (changing them does not
    # change F-hat, with the projections fixed), foreground ones are
    moved = feat.clone()
    moved[0][:, bg] += 10
    torch.testing.assert_close(
        lorm_rectify_dense(moved, q, k, m, 1.0, 'key'), key_out)
    moved = feat.clone()
    moved[0][:, ~bg] += 10
    assert not torch.allclose(
        lorm_rectify_dense(moved, q, k, m, 1.0, 'key'), key_out)
    # all foreground, constant features: rows sum to 1, F-hat = delta F
    const = torch.ones(1, 4, 5, 6, dtype=torch.float64) * 2
    ones = torch.ones(1, 5, 6, dtype=torch.float64)
    torch.testing.assert_close(
        lorm_rectify(const, q, k, ones, 0.5, 'key', chunk_size=4), const * 0.5)


def test_module_and_loss():
    torch.manual_seed(0)
    lorm = LoRM(4, mask_mode='query', chunk_size=8).double()
    assert lorm.delta.item() == 1.0 and lorm.query.out_channels == 4
    feat, _, _, m = inputs()
    out = lorm(feat, m)
    ref = lorm_rectify_dense(feat, lorm.query(feat), lorm.key(feat), m,
                             lorm.delta, 'query')
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-10)
    loss = LoRMLoss(loss_weight=2.0)
    assert loss.loss_name == 'loss_lorm'
    valid = torch.ones(2, 5, 6)
    valid[1, :, 4:] = 0
    diff = (feat - out).pow(2).sum(1)
    expect = (diff * valid).sum() / (valid.sum() * 4)
    torch.testing.assert_close(loss(feat, out, valid), 2 * expect)
    torch.testing.assert_close(
        lorm_mse_loss(feat, out), torch.nn.functional.mse_loss(feat, out))
    loss(feat, out, valid).backward()
    assert lorm.delta.grad is not None and lorm.query.weight.grad.abs().sum()


def test_gradcheck_chunked():
    feat, q, k, m = inputs(n=1, c=2, d=2, h=2, w=3)
    args = tuple(t.clone().requires_grad_() for t in (feat, q, k))
    assert torch.autograd.gradcheck(
        lambda f, a, b: lorm_mse_loss(
            f, lorm_rectify(f, a, b, m[:, :2, :3], 1.0, chunk_size=4)), args)


def test_errors():
    feat, q, k, m = inputs()
    with pytest.raises(ValueError, match='mask_mode'):
        LoRM(4, mask_mode='rows')
    with pytest.raises(ValueError, match='fg_mask'):
        lorm_rectify(feat, q, k, m[:, :2])
    with pytest.raises(ValueError, match='query and key'):
        lorm_rectify(feat, q, k[:, :2], m)
    with pytest.raises(ValueError, match='chunk_size'):
        lorm_rectify(feat, q, k, m, chunk_size=0)
    with pytest.raises(ValueError, match='feat and rectified'):
        lorm_mse_loss(feat, feat[:, :2])
    out = lorm_mse_loss(feat.requires_grad_(), feat * 0, torch.zeros(2, 5, 6))
    assert out.item() == 0 and out.grad_fn is not None
