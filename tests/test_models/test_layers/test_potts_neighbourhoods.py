"""Neighbourhoods of soft self-labeling against naive loops, and the
closed-form gradient of its energy against autograd
(mmscribble/models/layers/potts_neighbourhoods.py)."""
import math

import pytest
import torch

from mmscribble.models.layers.potts_neighbourhoods import (
    DenseNeighbourhood, GridNeighbourhood, rgb_guide, self_labeling_energy,
    self_labeling_energy_grad)
from mmscribble.models.layers.potts_relaxations import (CROSS_ENTROPIES,
                                                        LOG_RELAXATIONS,
                                                        RELAXATIONS,
                                                        potts_relaxation)


def _vec(*v):
    return torch.tensor(v, dtype=torch.float64)


# ---------------------------------------------------------------------------
# Neighbourhoods against naive loops.
# ---------------------------------------------------------------------------
def _naive_grid_weights(img, bandwidth, connectivity):
    n, _, h, w = img.shape
    offs = [(0, 1), (1, 0)] + ([(1, -1), (1, 1)] if connectivity == 8 else [])
    dense = torch.zeros(n, h * w, h * w, dtype=torch.float64)
    for b in range(n):
        for r in range(h):
            for c in range(w):
                for dy, dx in offs:
                    r2, c2 = r + dy, c + dx
                    if 0 <= r2 < h and 0 <= c2 < w:
                        d2 = ((img[b, :, r, c] - img[b, :, r2, c2])**2).sum()
                        wt = math.exp(-d2.item() / (2 * bandwidth**2))
                        dense[b, r * w + c, r2 * w + c2] = wt
                        dense[b, r2 * w + c2, r * w + c] = wt
    return dense


def _naive_pair_energy(y, dense, relaxation):
    n, k = y.shape[:2]
    flat = y.flatten(2)
    m = flat.shape[-1]
    out = torch.zeros(n, dtype=y.dtype)
    for b in range(n):
        for i in range(m):
            for j in range(i + 1, m):
                if dense[b, i, j] != 0:
                    out[b] += dense[b, i, j] * potts_relaxation(
                        flat[b, :, i], flat[b, :, j], relaxation, dim=0)
    return out


@pytest.mark.parametrize('connectivity', [4, 8])
def test_grid_neighbourhood_matches_loops(connectivity):
    torch.manual_seed(2)
    img = torch.rand(2, 3, 4, 5, dtype=torch.float64) * 40
    nb = GridNeighbourhood.from_image(img, 9., connectivity)
    naive = _naive_grid_weights(img, 9., connectivity)
    torch.testing.assert_close(nb.dense_weights(), naive)
    y = torch.randn(2, 3, 4, 5, dtype=torch.float64).softmax(1)
    for relaxation in ('quadratic', 'collision_divergence'):
        torch.testing.assert_close(
            nb.pair_energy(y, relaxation),
            _naive_pair_energy(y, naive, relaxation))


def test_grid_valid_mask_and_fixed_pairs():
    img = torch.rand(1, 3, 3, 3, dtype=torch.float64)
    valid = torch.ones(1, 3, 3)
    valid[0, :, 2] = 0
    nb = GridNeighbourhood.from_image(img, 9., 4, valid_mask=valid)
    dense = nb.dense_weights()[0]
    # Pixel (0, 1) -> (0, 2) touches padding: weight 0.
    assert dense[1, 2] == 0 and dense[0, 1] > 0
    fixed = torch.zeros(1, 3, 3, dtype=torch.bool)
    fixed[0, 0, 0] = fixed[0, 0, 1] = True
    dropped = nb.without_fixed_pairs(fixed).dense_weights()[0]
    assert dropped[0, 1] == 0 and dropped[1, 4] == dense[1, 4]


def test_dense_neighbourhood_matches_loops():
    torch.manual_seed(3)
    n, h, w = 1, 3, 4
    img = torch.rand(n, 3, h, w, dtype=torch.float64) * 30
    nb = DenseNeighbourhood.from_image(img, 9., 2.)
    naive = torch.zeros(n, h * w, h * w, dtype=torch.float64)
    for i in range(h * w):
        for j in range(h * w):
            if i != j:
                ri, ci, rj, cj = i // w, i % w, j // w, j % w
                d2 = ((img[0, :, ri, ci] - img[0, :, rj, cj])**2).sum()
                s2 = (ri - rj)**2 + (ci - cj)**2
                naive[0, i, j] = math.exp(-d2.item() / 162 - s2 / 8)
    torch.testing.assert_close(nb.weights, naive)
    y = torch.randn(n, 4, h, w, dtype=torch.float64).softmax(1)
    for relaxation in RELAXATIONS:
        torch.testing.assert_close(
            nb.pair_energy(y, relaxation),
            _naive_pair_energy(y, naive, relaxation))


@pytest.mark.parametrize('kind', ['grid4', 'grid8', 'dense'])
def test_laplacian_and_degree_match_dense(kind):
    torch.manual_seed(5)
    img = torch.rand(2, 3, 4, 5, dtype=torch.float64) * 40
    valid = torch.ones(2, 4, 5)
    valid[1, :, 3:] = 0
    if kind == 'dense':
        nb = DenseNeighbourhood.from_image(img, 9., 2., valid_mask=valid)
    else:
        nb = GridNeighbourhood.from_image(
            img, 9., int(kind[-1]), valid_mask=valid)
    dense = nb.dense_weights()
    lap = torch.diag_embed(dense.sum(2)) - dense
    y = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(
        nb.laplacian(y), (y.flatten(2) @ lap).view_as(y), atol=1e-12, rtol=0)
    torch.testing.assert_close(nb.degree().flatten(1), dense.sum(2))
    # L y is the gradient of sum w P_Q.
    torch.testing.assert_close(
        nb.laplacian(y),
        nb.pair_energy_grad(y, 'quadratic'),
        atol=1e-12,
        rtol=0)


def test_rgb_guide_inverts_normalisation():
    raw = torch.rand(1, 3, 2, 2) * 255
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_guide((raw - m) / s, mean, std), raw)


def test_bad_connectivity_raises():
    with pytest.raises(ValueError, match='connectivity'):
        GridNeighbourhood.from_image(torch.rand(1, 3, 4, 4), 9., 6)


# ---------------------------------------------------------------------------
# The solver's closed-form gradient against autograd.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('relaxation', RELAXATIONS)
@pytest.mark.parametrize('kind', CROSS_ENTROPIES)
def test_energy_grad_matches_autograd(kind, relaxation, potts_problem):
    logits, img, scribble = potts_problem(5, n=2, k=3, h=5, w=6)
    valid = torch.ones(2, 5, 6)
    valid[1, :, -1] = 0
    y = torch.randn(2, 3, 5, 6, dtype=torch.float64).softmax(1)
    for nb in (GridNeighbourhood.from_image(img, 60., 4, valid),
               GridNeighbourhood.from_image(img, 60., 8),
               DenseNeighbourhood.from_image(img, 60., 2., valid)):
        nb = nb.without_fixed_pairs(scribble != 255)
        args = (logits, scribble, nb, kind, relaxation, 0.3, 6.0)
        yg = y.clone().requires_grad_(True)
        energy = self_labeling_energy(yg, *args, valid_mask=valid).sum()
        (expected, ) = torch.autograd.grad(energy, yg)
        torch.testing.assert_close(
            self_labeling_energy_grad(y, *args, valid_mask=valid), expected)


@pytest.mark.parametrize('relaxation', LOG_RELAXATIONS)
def test_energy_grad_under_the_log_guard(relaxation):
    # A free pixel exactly orthogonal to its scribbled neighbour: the
    # clamped log gives 0, like autograd, and nothing is NaN.
    logits = torch.zeros(1, 2, 1, 2, dtype=torch.float64)
    scribble = torch.tensor([[[0, 255]]])
    y = _vec(1, 0, 0, 1).view(2, 2).t().reshape(1, 2, 1, 2).contiguous()
    weights = torch.zeros(1, 2, 1, 2, dtype=torch.float64)
    weights[0, 0, 0, 0] = 1  # the one pair inside the 1 x 2 map
    nb = GridNeighbourhood(weights, ((0, 1), (1, 0)))
    args = (logits, scribble, nb, 'collision', relaxation)
    yg = y.clone().requires_grad_(True)
    (expected, ) = torch.autograd.grad(
        self_labeling_energy(yg, *args).sum(), yg)
    got = self_labeling_energy_grad(y, *args)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_dense_neighbourhood_float32_under_autocast(dtype):
    # Issue 26: under autocast the (M, M) products ran in half precision
    # and the log guard fell to its smallest normal. A VOC-like case:
    # near one-hot labels (a solved y) over a 16 x 16 grid; energy,
    # gradient and Laplacian equal their float32 values, in float32.
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1, 3, 16, 16, generator=g) * 255
    nb = DenseNeighbourhood.from_image(img, 9., 4.)
    y = (torch.randn(1, 21, 16, 16, generator=g) * 12).softmax(1)
    for relaxation in RELAXATIONS:
        ref = (nb.pair_energy(y, relaxation),
               nb.pair_energy_grad(y, relaxation), nb.laplacian(y))
        for inp in (y, y.to(dtype)):
            with torch.autocast('cpu', dtype=dtype):
                got = (nb.pair_energy(inp, relaxation),
                       nb.pair_energy_grad(inp, relaxation),
                       nb.laplacian(inp))
            for a, b in zip(got, ref):
                assert a.dtype == torch.float32, relaxation
                assert torch.isfinite(a).all(), relaxation
                if inp is y:
                    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
