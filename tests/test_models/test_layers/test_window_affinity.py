"""Tests of the windowed affinity engine: softmax aggregation (local form
against its dense reference) and the pairwise weights of a neighbourhood."""
import math

import pytest
import torch

from mmscribble.models.layers.window_affinity import (
    dense_window_softmax, dense_window_softmax_aggregate, window_neighbours,
    window_offsets, window_pairwise_weights, window_radii,
    window_softmax_aggregate)


def _inputs(n=2, c=4, k=3, h=13, w=17, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    values = torch.randn(n, k, h, w, generator=g, dtype=dtype)
    return feat, values


def _full_window(h, w):
    # Covers every pixel from every pixel: the local form is then the
    # softmax over the whole map, without truncation.
    return 2 * max(h, w) + 1


# ---------------------------------------------------------------------------
# Softmax aggregation.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('sigma', [0.7, 1.5, 3.0])
def test_local_equals_untruncated_dense_float32(sigma):
    feat, values = _inputs(dtype=torch.float32)
    local = window_softmax_aggregate(
        feat, values, sigma, window=_full_window(13, 17))
    dense = dense_window_softmax_aggregate(feat, values, sigma)
    assert local.dtype == torch.float32
    torch.testing.assert_close(local, dense, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    'shape,sigma,window',
    [
        ((2, 13, 17), 1.0, None),
        ((2, 13, 17), 2.0, 5),
        ((3, 6, 50), 1.0, None),  # several tiles per row, wrap to next row
        ((1, 1, 9), 1.0, None),
        ((2, 9, 1), 1.5, None),
    ])
def test_local_equals_dense_with_same_window(shape, sigma, window):
    n, h, w = shape
    feat, values = _inputs(n=n, h=h, w=w)
    valid = torch.rand(n, h, w, generator=torch.Generator().manual_seed(1))
    valid = valid > 0.3
    ry, rx = window_radii(sigma, window, h, w)
    dense_window = 2 * max(ry, rx) + 1
    for f, s, m in [(feat, sigma, None), (feat, sigma, valid),
                    (None, sigma, valid), (feat, None, valid)]:
        win = window if s is not None or window else dense_window
        local = window_softmax_aggregate(f, values, s, win, m)
        dense = dense_window_softmax_aggregate(f, values, s, dense_window, m)
        torch.testing.assert_close(local, dense, rtol=0, atol=1e-12)


def test_default_window_truncates_only_the_gaussian_tail():
    # Without features the neglected weight is the 2D Gaussian mass beyond
    # 3 sigma in x or y: about 2 * 2 * sum_{k > 3} exp(-k^2 / 2) / 2.5066
    # = 5.4e-4 for sigma = 1.
    _, values = _inputs(h=15, w=15)
    local = window_softmax_aggregate(None, values, 1.0)
    dense = dense_window_softmax_aggregate(None, values, 1.0)
    err = (local - dense).abs().max() / values.abs().max()
    assert 0 < err < 2 * 5.4e-4


def test_convex_combination_keeps_constants():
    feat, _ = _inputs(h=5, w=7)
    ones = torch.ones(2, 3, 5, 7, dtype=torch.float64)
    valid = torch.rand(2, 5, 7, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(
        window_softmax_aggregate(feat, ones, 1.5, valid_mask=valid > 0.5),
        ones)
    a = dense_window_softmax(feat, 1.5, valid_mask=valid > 0.5)
    torch.testing.assert_close(a.sum(1), torch.ones(2, 35, dtype=a.dtype))


def test_hand_computed_border_pixel_ignores_outside_window():
    # 1 x 3 image, equal features: A[i, 0] = k(i, 0) / sum over the 3
    # image pixels. Zero-padded features would add exp(-1/2) + exp(-2)
    # from the two pixels left of the border to the denominator.
    feat = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    values = torch.tensor([[[[1., 2., 4.]]]], dtype=torch.float64)
    weights = torch.tensor([1, math.exp(-0.5), math.exp(-2)],
                           dtype=torch.float64)
    expected = (weights * values[0, 0, 0]).sum() / weights.sum()
    for fn in (window_softmax_aggregate, dense_window_softmax_aggregate):
        out = fn(feat, values, 1.0)
        assert out[0, 0, 0, 0].item() == pytest.approx(expected.item())


def test_sigma_to_zero_gives_identity():
    feat, values = _inputs(h=6, w=7)
    out = window_softmax_aggregate(feat, values, 1e-3)
    torch.testing.assert_close(out, values, rtol=0, atol=1e-12)
    a = dense_window_softmax(feat, 1e-3)
    torch.testing.assert_close(a,
                               torch.eye(42, dtype=a.dtype).expand(2, -1, -1))


def test_large_feature_dot_products_are_stable():
    # BLPSeg's embeddings are not normalised: f_i . f_j reaches 1e4 here.
    feat, values = _inputs(c=8, h=7, w=9, dtype=torch.float32)
    feat = feat * 40
    local = window_softmax_aggregate(feat, values, 2.0, window=19)
    dense = dense_window_softmax_aggregate(feat, values, 2.0)
    assert torch.isfinite(local).all()
    torch.testing.assert_close(local, dense, rtol=0, atol=1e-5)


def test_valid_mask_makes_batch_padding_invisible():
    feat, values = _inputs(n=1, h=6, w=8)
    pad_feat = torch.cat([feat, 50 * torch.randn(1, 4, 6, 5).double()], 3)
    pad_values = torch.cat([values, 9 + torch.zeros(1, 3, 6, 5).double()], 3)
    valid = torch.zeros(1, 6, 13, dtype=torch.bool)
    valid[..., :8] = True
    ref = window_softmax_aggregate(feat, values, 1.5)
    out = window_softmax_aggregate(pad_feat, pad_values, 1.5, valid_mask=valid)
    torch.testing.assert_close(out[..., :8], ref, rtol=0, atol=1e-12)
    assert torch.isfinite(out).all()


def test_gradients_match_dense():
    feat, values = _inputs(h=7, w=20)
    valid = torch.rand(2, 7, 20) > 0.2
    grads = []
    for fn in (window_softmax_aggregate, dense_window_softmax_aggregate):
        f = feat.clone().requires_grad_()
        x = values.clone().requires_grad_()
        s = torch.tensor(1.3, dtype=torch.float64, requires_grad=True)
        out = fn(f, x, s, 9, valid)
        (out *
         torch.linspace(-1, 2, out.numel()).view_as(out)).sum().backward()
        grads.append((f.grad, x.grad, s.grad))
    for g_local, g_dense in zip(*grads):
        torch.testing.assert_close(g_local, g_dense, rtol=1e-9, atol=1e-10)


def test_gradcheck_local_float64():
    feat, values = _inputs(n=2, c=3, k=2, h=4, w=6)
    valid = torch.rand(2, 4, 6, generator=torch.Generator().manual_seed(3))
    valid = valid > 0.25
    feat.requires_grad_()
    values.requires_grad_()
    sigma = torch.tensor(1.2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f, x, s: window_softmax_aggregate(f, x, s, 5, valid),
        (feat, values, sigma))
    assert torch.autograd.gradcheck(
        lambda x, s: window_softmax_aggregate(None, x, s, 3), (values, sigma))


def test_half_inputs_are_computed_in_float32():
    feat, values = _inputs(h=5, w=6, dtype=torch.float32)
    out = window_softmax_aggregate(feat.half(), values.half(), 1.0)
    assert out.dtype == torch.float32
    ref = window_softmax_aggregate(feat.half().float(),
                                   values.half().float(), 1.0)
    torch.testing.assert_close(out, ref)


def test_softmax_input_checks_name_the_argument():
    feat, values = _inputs(h=5, w=6)
    with pytest.raises(ValueError, match='values'):
        window_softmax_aggregate(feat, values[0], 1.0)
    with pytest.raises(ValueError, match='feat'):
        window_softmax_aggregate(feat[..., :5], values, 1.0)
    with pytest.raises(TypeError, match='values'):
        window_softmax_aggregate(feat, values.long(), 1.0)
    with pytest.raises(ValueError, match='sigma'):
        window_softmax_aggregate(feat, values, 0.0)
    with pytest.raises(ValueError, match='sigma'):
        window_softmax_aggregate(feat, values, torch.tensor(-1.0))
    with pytest.raises(ValueError, match='window'):
        window_softmax_aggregate(feat, values, 1.0, window=4)
    with pytest.raises(ValueError, match='window'):
        window_softmax_aggregate(feat, values, None)
    with pytest.raises(ValueError, match='valid_mask'):
        window_softmax_aggregate(feat, values, 1.0, valid_mask=torch.ones(5))
    with pytest.raises(ValueError, match='feat and sigma'):
        window_softmax_aggregate(None, values, None, window=3)


# ---------------------------------------------------------------------------
# Pairwise weights of a neighbourhood.
# ---------------------------------------------------------------------------
def _naive_pairwise(guide, bandwidth, ry, rx, sigma=None, valid=None):
    """Pixel-by-pixel loops over the definition."""
    n, _, h, w = guide.shape
    offsets = [(dy, dx) for dy in range(-ry, ry + 1)
               for dx in range(-rx, rx + 1)]
    out = torch.zeros(n, len(offsets), h, w, dtype=torch.float64)
    for b in range(n):
        for o, (dy, dx) in enumerate(offsets):
            for y in range(h):
                for x in range(w):
                    qy, qx = y + dy, x + dx
                    if not (0 <= qy < h and 0 <= qx < w):
                        continue
                    if valid is not None and not (valid[b, y, x]
                                                  and valid[b, qy, qx]):
                        continue
                    d2 = ((guide[b, :, y, x] - guide[b, :, qy, qx])**2).sum()
                    wgt = math.exp(-float(d2) / (2 * bandwidth**2))
                    if sigma is not None:
                        wgt *= math.exp(-(dy * dy + dx * dx) / (2 * sigma**2))
                    out[b, o, y, x] = wgt
    return out


def test_window_offsets_order():
    off = window_offsets(1, 2)
    assert off.shape == (15, 2) and off.dtype == torch.int64
    assert off[0].tolist() == [-1, -2] and off[1].tolist() == [-1, -1]
    assert off[15 // 2].tolist() == [0, 0]
    torch.testing.assert_close(off.flip(0), -off)


def test_pairwise_weights_hand_computed_row():
    # 1 x 3 guide [0, 1, 3], s = 1, window 3: ry clips to 0, offsets are
    # dx = -1, 0, +1; w = exp(-(g_p - g_q)^2 / 2), 0 off the map.
    guide = torch.tensor([[[[0., 1., 3.]]]], dtype=torch.float64)
    w = window_pairwise_weights(guide, 1.0, window=3)
    e = math.exp
    expect = torch.tensor(
        [[0., e(-0.5), e(-2.)], [1., 1., 1.], [e(-0.5), e(-2.), 0.]],
        dtype=torch.float64)
    torch.testing.assert_close(w[0, :, 0], expect, rtol=0, atol=1e-15)


@pytest.mark.parametrize('window,sigma', [(3, None), (5, 1.5), (None, 0.5)])
def test_pairwise_weights_equal_naive_loops(window, sigma):
    g = torch.Generator().manual_seed(4)
    guide = torch.rand(2, 3, 5, 7, generator=g, dtype=torch.float64) * 20
    valid = torch.ones(2, 5, 7, dtype=torch.bool)
    valid[1, 3:] = False  # batch padding of the second image
    valid[1, :, 6] = False
    ry, rx = window_radii(sigma, window, 5, 7)
    for m in (None, valid):
        out = window_pairwise_weights(
            guide, 9.0, window=window, sigma=sigma, valid_mask=m)
        ref = _naive_pairwise(guide, 9.0, ry, rx, sigma, m)
        assert out.shape == ref.shape == (2, (2 * ry + 1) * (2 * rx + 1), 5, 7)
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-14)


def test_pairwise_weights_are_symmetric():
    guide = torch.rand(1, 3, 6, 8, dtype=torch.float64)
    w = window_pairwise_weights(guide, 0.3, window=5)
    off = window_offsets(2, 2)
    k = off.shape[0]
    for o in range(k):
        dy, dx = off[o].tolist()
        ys = slice(max(0, -dy), min(6, 6 - dy))
        xs = slice(max(0, -dx), min(8, 8 - dx))
        qs = slice(ys.start + dy, ys.stop + dy)
        qx = slice(xs.start + dx, xs.stop + dx)
        # w(p, p + o) == w(p + o, (p + o) - o)
        torch.testing.assert_close(w[0, o, ys, xs], w[0, k - 1 - o, qs, qx])


def test_window_neighbours_shift_and_fill():
    x = torch.arange(12.).view(1, 1, 3, 4)
    nb = window_neighbours(x, 1, 1, fill=-1.0)
    assert nb.shape == (1, 1, 9, 3, 4)
    torch.testing.assert_close(nb[0, 0, 4], x[0, 0])  # offset (0, 0)
    # offset (-1, +1): the pixel up and to the right
    assert nb[0, 0, 2, 1, 1].item() == x[0, 0, 0, 2].item()
    assert (nb[0, 0, 2, 0] == -1).all() and (nb[0, 0, 2, :, 3] == -1).all()
    # The weights are the Gaussian of the neighbour differences.
    guide = torch.rand(2, 3, 4, 5, dtype=torch.float64)
    nb = window_neighbours(guide, 1, 1)
    d2 = (nb - guide[:, :, None]).square().sum(1)
    w = window_pairwise_weights(guide, 0.5, window=3)
    inside = window_neighbours(torch.ones(1, 1, 4, 5), 1, 1)[:, 0] > 0
    torch.testing.assert_close(
        w, torch.where(inside, (-d2 / 0.5).exp(),
                       torch.zeros(()).double()))


def test_gradcheck_pairwise_weights():
    guide = torch.rand(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    bandwidth = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(1.1, dtype=torch.float64, requires_grad=True)
    valid = torch.ones(1, 4, 5, dtype=torch.bool)
    valid[0, 3] = False
    assert torch.autograd.gradcheck(
        lambda g, b, s: window_pairwise_weights(g, b, 3, s, valid),
        (guide, bandwidth, sigma))


def test_pairwise_input_checks_name_the_argument():
    guide = torch.rand(1, 3, 4, 5)
    with pytest.raises(ValueError, match='guide'):
        window_pairwise_weights(guide[0], 1.0, 3)
    with pytest.raises(TypeError, match='guide'):
        window_pairwise_weights((guide * 255).to(torch.uint8), 1.0, 3)
    for bad in (0.0, -1.0, None, torch.tensor([1.0, 2.0])):
        with pytest.raises(ValueError, match='bandwidth'):
            window_pairwise_weights(guide, bad, 3)
    with pytest.raises(ValueError, match='window'):
        window_pairwise_weights(guide, 1.0)
    with pytest.raises(ValueError, match='window'):
        window_pairwise_weights(guide, 1.0, 2)
    with pytest.raises(ValueError, match='valid_mask'):
        window_pairwise_weights(guide, 1.0, 3, valid_mask=torch.ones(4, 5))
    with pytest.raises(ValueError, match='ry'):
        window_offsets(-1, 1)
    with pytest.raises(ValueError, match='rx'):
        window_neighbours(guide, 1, 1.5)
