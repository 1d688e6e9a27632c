"""Tests of BLPSeg's Local Aggregation Module (Eq. 3-8)."""
import math

import pytest
import torch

from mmscribble.models.layers import (LocalAggregationModule,
                                      LowLevelEmbedding, dense_affinity,
                                      dense_affinity_aggregate,
                                      local_affinity_aggregate)
from mmscribble.models.layers import local_aggregation, window_affinity
from mmscribble.models.layers.local_aggregation import window_radii


def _inputs(n=2, c=4, k=3, h=13, w=17, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(n, c, h, w, generator=g, dtype=dtype)
    logits = torch.randn(n, k, h, w, generator=g, dtype=dtype)
    return feat, logits


def _full_window(h, w):
    # Covers every pixel from every pixel: the local form is then Eq. 4
    # without truncation.
    return 2 * max(h, w) + 1


def test_columns_of_affinity_sum_to_one():
    feat, logits = _inputs(h=5, w=7)
    a = dense_affinity(feat, 1.5)
    assert a.shape == (2, 35, 35)
    # Eq. 4 normalises over the first index i: A[n, :, j] sums to one ...
    torch.testing.assert_close(a.sum(1), torch.ones(2, 35, dtype=a.dtype))
    # ... rows in general do not (A is not symmetric once normalised).
    assert (a.sum(2) - 1).abs().max() > 1e-3
    # and X_out = X_in A (Eq. 3): out_j = sum_i A[i, j] x_i.
    out = dense_affinity_aggregate(feat, logits, 1.5)
    ref = torch.einsum('nki,nij->nkj', logits.flatten(2), a)
    torch.testing.assert_close(out.flatten(2), ref)
    # The local form is a convex combination too: constants are kept.
    ones = torch.ones_like(logits)
    torch.testing.assert_close(
        local_affinity_aggregate(
            feat, ones, 1.5, valid_mask=torch.rand(2, 5, 7) > 0.5), ones)


def _literal_lam(feat, x_in, sigma, valid=None):
    """Eq. 3-5 of BLPSeg as printed, on the real pixels of each image.

    ``X_in`` is D x N (pixels as columns), ``X_out = X_in A`` (Eq. 3),
    ``A_ij = P_low(i, j) P_dis(i, j) / sum_k P_low(k, j) P_dis(k, j)``
    (Eq. 4), ``P_low(i, j) = e^{f_i^T f_j} / sum_k e^{f_k^T f_j}`` and
    ``P_dis(i, j) = exp(-||s_i - s_j||^2 / (2 sigma^2))`` (Eq. 5), every
    sum over all N pixels: no window, no log-sum-exp. Padding is not part
    of the paper's image, so the N pixels are the valid ones; padded
    outputs are left at zero.
    """
    n, _, h, w = feat.shape
    out = torch.zeros_like(x_in)
    for b in range(n):
        keep = torch.ones(h * w, dtype=torch.bool) if valid is None else \
            valid[b].flatten().bool()
        idx = keep.nonzero()[:, 0]
        f = feat[b].flatten(1)[:, idx]  # C x N
        s = torch.stack([idx // w, idx % w], dim=1).to(feat.dtype)  # N x 2
        x = x_in[b].flatten(1)[:, idx]  # D x N
        e = torch.exp(f.T @ f)  # e[i, j] = exp(f_i^T f_j)
        p_low = e / e.sum(dim=0, keepdim=True)  # sum_k over the first index
        d2 = ((s[:, None, :] - s[None, :, :])**2).sum(-1)
        p_dis = torch.exp(-d2 / (2 * sigma**2))
        num = p_low * p_dis
        a = num / num.sum(dim=0, keepdim=True)  # Eq. 4
        out[b].flatten(1)[:, idx] = x @ a  # Eq. 3
    return out


def _truncation_bound(feat, x_in, sigma, ry, rx, valid):
    """Error bound of the windowed form (window_affinity's docstring)."""
    n, _, h, w = feat.shape
    lattice = torch.arange(-60, 61, dtype=torch.float64)
    dy, dx = torch.meshgrid(lattice, lattice, indexing='ij')
    outside = (dy.abs() > ry) | (dx.abs() > rx)
    g = torch.exp(-(dy**2 + dx**2) / (2 * sigma**2))[outside].sum()
    bound = torch.zeros_like(x_in)
    for b in range(n):
        idx = valid[b].flatten().nonzero()[:, 0]
        f = feat[b].flatten(1)[:, idx]
        ys, xs = idx // w, idx % w
        far = ((ys[:, None] - ys[None, :]).abs() > ry) | \
            ((xs[:, None] - xs[None, :]).abs() > rx)  # i not in W(j)
        gain = (f.T @ f) - (f * f).sum(0)[None, :]  # (f_i - f_j) . f_j
        top = gain.masked_fill(~far, float('-inf')).amax(dim=0)
        big_b = torch.exp(top) * g
        eps = big_b / (1 + big_b)
        x = x_in[b].flatten(1)[:, idx]
        spread = x.amax(dim=1) - x.amin(dim=1)
        bound[b].flatten(1)[:, idx] = spread[:, None] * eps[None, :]
    return bound


def test_literal_equations_3_to_5():
    # N = 2 images, C = 3 feature channels, h x w = 5 x 6, D = 4 input
    # dimensions; features scaled so that the truncation bound is tight.
    g = torch.Generator().manual_seed(7)
    feat = 0.4 * torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    x_in = torch.randn(2, 4, 5, 6, generator=g, dtype=torch.float64)
    sigma = 1.0
    # Second image: a 4 x 5 image padded to the batch's 5 x 6.
    valid = torch.ones(2, 5, 6, dtype=torch.bool)
    valid[1, 4:] = False
    valid[1, :, 5:] = False
    for m in (None, valid):
        literal = _literal_lam(feat, x_in, sigma, m)
        real = torch.ones(2, 1, 5, 6, dtype=torch.bool) if m is None else \
            m[:, None]
        real = real.expand_as(x_in)
        dense = dense_affinity_aggregate(feat, x_in, sigma, valid_mask=m)
        full = local_affinity_aggregate(
            feat, x_in, sigma, _full_window(5, 6), valid_mask=m)
        # Padded outputs are outside the paper's image: not compared.
        for out in (dense, full):
            torch.testing.assert_close(
                out[real], literal[real], rtol=0, atol=1e-12)
        # The default window (r = 3 < 4, 5) truncates P_dis: within the
        # documented bound, and the bound is not vacuous.
        default = local_affinity_aggregate(feat, x_in, sigma, valid_mask=m)
        ry, rx = window_radii(sigma, None, 5, 6)
        assert (ry, rx) == (3, 3)
        mask = real[:, 0] if m is not None else torch.ones(2, 5, 6).bool()
        bound = _truncation_bound(feat, x_in, sigma, ry, rx, mask)
        err = (default - literal).abs()
        assert (err[real] <= bound[real] + 1e-12).all()
        assert err[real].max() > 1e-6
        assert bound[real].max() < 0.05


def test_lam_functions_are_the_window_engine():
    feat, logits = _inputs(h=6, w=7)
    valid = torch.rand(2, 6, 7, generator=torch.Generator().manual_seed(5))
    valid = valid > 0.3
    assert local_aggregation.window_radii is window_affinity.window_radii
    assert local_aggregation.WINDOW_SIGMAS == window_affinity.WINDOW_SIGMAS
    torch.testing.assert_close(
        local_affinity_aggregate(feat, logits, 1.2, 5, valid),
        window_affinity.window_softmax_aggregate(feat, logits, 1.2, 5, valid),
        rtol=0,
        atol=0)
    torch.testing.assert_close(
        dense_affinity(feat, 1.2, None, valid),
        window_affinity.dense_window_softmax(feat, 1.2, None, valid),
        rtol=0,
        atol=0)
    torch.testing.assert_close(
        dense_affinity_aggregate(feat, logits, 1.2, 5, valid),
        window_affinity.dense_window_softmax_aggregate(feat, logits, 1.2, 5,
                                                       valid),
        rtol=0,
        atol=0)


def test_learnable_sigma_gradient():
    feat, logits = _inputs(n=1, c=3, k=2, h=4, w=5)
    weights = torch.linspace(-1, 1, logits.numel()).view_as(logits).double()
    grads = []
    for mode in ('local', 'dense'):
        lam = LocalAggregationModule(
            sigma=1.5,
            learnable_sigma=True,
            similarity='high',
            mode=mode,
            window=9).double()
        assert isinstance(lam.log_sigma, torch.nn.Parameter)
        assert lam.sigma.item() == pytest.approx(1.5)
        (lam(logits, feat=feat) * weights).sum().backward()
        grads.append(lam.log_sigma.grad)
    assert grads[0].abs() > 0
    torch.testing.assert_close(grads[0], grads[1])
    log_sigma = torch.tensor(
        math.log(1.5), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda ls: local_affinity_aggregate(feat, logits, ls.exp(), 5),
        (log_sigma, ))


def test_module_local_equals_dense_and_options():
    torch.manual_seed(0)
    img = torch.randn(2, 3, 30, 34)
    logits = torch.randn(2, 5, 8, 9)
    lam_local = LocalAggregationModule(
        sigma=1.0, embed_dims=8, proj_channels=6, window=17)
    lam_dense = LocalAggregationModule(
        sigma=1.0, embed_dims=8, proj_channels=6, mode='dense')
    lam_dense.load_state_dict(lam_local.state_dict())
    out = lam_local(logits, img=img)
    assert out.shape == logits.shape
    torch.testing.assert_close(
        out, lam_dense(logits, img=img), rtol=0, atol=1e-5)

    feat = torch.randn(2, 7, 8, 9)
    high = LocalAggregationModule(sigma=1.0, similarity='high')
    torch.testing.assert_close(
        high(logits, feat=feat), local_affinity_aggregate(feat, logits, 1.0))
    both = LocalAggregationModule(
        sigma=1.0, similarity='both', embed_dims=8, proj_channels=None)
    both.embedding.load_state_dict({
        k: v
        for k, v in lam_local.embedding.state_dict().items()
        if not k.startswith('proj')
    })
    emb = both.embedding(img)
    torch.testing.assert_close(
        both(logits, img=img, feat=feat),
        local_affinity_aggregate(torch.cat([emb, feat], 1), logits, 1.0))
    # Distance only (Table III) and features only (needs a window locally).
    none = LocalAggregationModule(sigma=1.0, similarity='none')
    assert none.embedding is None
    torch.testing.assert_close(
        none(logits), dense_affinity_aggregate(None, logits, 1.0, window=7))
    no_dis = LocalAggregationModule(
        similarity='high', use_distance=False, mode='dense')
    torch.testing.assert_close(
        no_dis(logits, feat=feat),
        dense_affinity_aggregate(feat, logits, None))


def test_module_resizes_features_and_takes_valid_mask():
    torch.manual_seed(1)
    logits = torch.randn(1, 2, 6, 7)
    feat = torch.randn(1, 3, 12, 14)
    lam = LocalAggregationModule(sigma=1.0, similarity='high')
    small = torch.nn.functional.interpolate(
        feat, (6, 7), mode='bilinear', align_corners=False)
    torch.testing.assert_close(
        lam(logits, feat=feat), local_affinity_aggregate(small, logits, 1.0))
    valid = torch.ones(1, 6, 7)
    valid[..., 5:] = 0
    torch.testing.assert_close(
        lam(logits, feat=feat, valid_mask=valid),
        local_affinity_aggregate(small, logits, 1.0, valid_mask=valid))


def test_low_level_embedding_shapes():
    emb = LowLevelEmbedding(embed_dims=16, proj_channels=32)
    assert emb(torch.randn(2, 3, 30, 33)).shape == (2, 32, 8, 9)
    assert emb(torch.randn(1, 3, 32, 32)).shape == (1, 32, 8, 8)
    emb = LowLevelEmbedding(embed_dims=16, proj_channels=None)
    assert emb.proj is None and emb.out_channels == 16
    assert emb(torch.randn(1, 3, 8, 8)).shape == (1, 16, 2, 2)


def test_input_checks_name_the_argument():
    feat, logits = _inputs(h=5, w=6)
    with pytest.raises(ValueError, match='logits'):
        local_affinity_aggregate(feat, logits[0], 1.0)
    with pytest.raises(ValueError, match='feat'):
        local_affinity_aggregate(feat[..., :5], logits, 1.0)
    with pytest.raises(ValueError, match='sigma'):
        local_affinity_aggregate(feat, logits, 0.0)
    with pytest.raises(ValueError, match='sigma'):
        local_affinity_aggregate(feat, logits, torch.tensor(-1.0))
    with pytest.raises(ValueError, match='window'):
        local_affinity_aggregate(feat, logits, 1.0, window=4)
    with pytest.raises(ValueError, match='window'):
        local_affinity_aggregate(feat, logits, None)
    with pytest.raises(ValueError, match='valid_mask'):
        local_affinity_aggregate(feat, logits, 1.0, valid_mask=torch.ones(5))
    with pytest.raises(ValueError, match='mode'):
        LocalAggregationModule(mode='global')
    with pytest.raises(ValueError, match='similarity'):
        LocalAggregationModule(similarity='mid')
    with pytest.raises(ValueError, match='window'):
        LocalAggregationModule(use_distance=False)
    with pytest.raises(ValueError, match='img'):
        LocalAggregationModule()(logits.float())
    with pytest.raises(ValueError, match='feat'):
        LocalAggregationModule(similarity='high')(logits.float())


def test_embedding_patch_size_is_the_decoder_stride():
    # For a decoder at stride 8 the embedding must see 8x8 patches: a patch
    # that is constant gives every output cell the same embedding, and
    # ceil(H / 8) x ceil(W / 8) cells (padded at the bottom and right).
    torch.manual_seed(0)
    emb = LowLevelEmbedding(
        embed_dims=4, patch_size=8, proj_channels=None).double()
    img = torch.ones(1, 3, 16, 20, dtype=torch.float64)
    out = emb(img)
    assert out.shape == (1, 4, 2, 3)
    # The last column of cells covers 4 real and 4 padded (zero) columns.
    assert torch.allclose(out[..., :2], out[..., :1, :1].expand(1, 4, 2, 2))
    assert not torch.allclose(out[..., 2], out[..., 0])
