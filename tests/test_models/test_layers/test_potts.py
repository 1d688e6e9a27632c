"""Potts relaxations, cross-entropy terms, neighbourhoods and the
pseudo-label solvers of soft self-labeling (mmscribble/models/layers/potts.py).
"""
import math

import pytest
import torch

from mmscribble.models.layers.potts import (
    CROSS_ENTROPIES, FAST_SOLVER, LOG_RELAXATIONS, RELAXATIONS,
    REFERENCE_SOLVER, DenseNeighbourhood, GridNeighbourhood,
    potts_relaxation, quadratic_pseudo_labels, rgb_guide,
    self_label_cross_entropy, self_labeling_energy, self_labeling_energy_grad,
    soft_jaccard,
    solve_pseudo_labels)


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
                            0).item() == pytest.approx(0, abs=1e-12)
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
    assert val.item() == pytest.approx(-math.log(torch.finfo(dtype).tiny),
                                       rel=1e-6)
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
    with pytest.raises(ValueError, match='connectivity'):
        GridNeighbourhood.from_image(torch.rand(1, 3, 4, 4), 9., 6)


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
        nb.laplacian(y), (y.flatten(2) @ lap).view_as(y), atol=1e-12,
        rtol=0)
    torch.testing.assert_close(nb.degree().flatten(1), dense.sum(2))
    # L y is the gradient of sum w P_Q.
    torch.testing.assert_close(
        nb.laplacian(y), nb.pair_energy_grad(y, 'quadratic'), atol=1e-12,
        rtol=0)


def test_rgb_guide_inverts_normalisation():
    raw = torch.rand(1, 3, 2, 2) * 255
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(rgb_guide((raw - m) / s, mean, std), raw)


# ---------------------------------------------------------------------------
# Solvers: the closed-form oracle of the quadratic pair.
# ---------------------------------------------------------------------------
def _random_problem(seed, n=2, k=3, h=8, w=8):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, k, h, w, dtype=torch.float64, generator=g) * 2
    img = torch.rand(n, 3, h, w, dtype=torch.float64, generator=g) * 255
    scribble = torch.full((n, h, w), 255)
    mark = torch.rand(n, h, w, generator=g) < 0.1
    scribble[mark] = torch.randint(0, k, (n, h, w), generator=g)[mark]
    scribble[:, 0, 0] = 0  # at least one scribble per image
    return logits, img, scribble


def test_quadratic_oracle_is_stationary_and_on_simplex():
    logits, img, scribble = _random_problem(0)
    nb = GridNeighbourhood.from_image(img, 60., 4)
    opt = quadratic_pseudo_labels(logits, scribble, nb.dense_weights(), 0.3,
                                  6.)
    assert (opt >= 0).all()
    torch.testing.assert_close(opt.sum(1), torch.ones_like(opt[:, 0]))
    free = (scribble == 255)[:, None]
    y = opt.clone().requires_grad_(True)
    energy = self_labeling_energy(y, logits, scribble, nb, 'quadratic',
                                  'quadratic', 0.3, 6.).sum()
    (grad, ) = torch.autograd.grad(energy, y)
    # Stationary in every free y_i (the simplex constraint is inactive).
    assert grad.masked_fill(~free, 0).abs().max() < 1e-10


def test_quadratic_oracle_eta_to_zero_is_random_walker():
    # 1 x 3 chain, scribbles 0 and 1 at the ends, unit weights: the
    # random walker gives (1/2, 1/2) in the middle.
    logits = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    scribble = torch.tensor([[[0, 255, 1]]])
    weights = torch.tensor([[[0., 1, 0], [1, 0, 1], [0, 1, 0]]],
                           dtype=torch.float64)
    logits[0, 0, 0, 1] = 5  # sigma is ignored as eta -> 0
    opt = quadratic_pseudo_labels(logits, scribble, weights, 1e-9, 1.)
    torch.testing.assert_close(
        opt[0, :, 0, 1], _vec(.5, .5), atol=1e-6, rtol=0)


@pytest.mark.parametrize('seed', [0, 1])
def test_solvers_reach_quadratic_oracle(seed):
    logits, img, scribble = _random_problem(seed)
    nb = GridNeighbourhood.from_image(img, 60., 4)
    eta, lam = 0.3, 6.
    opt = quadratic_pseudo_labels(logits, scribble, nb.dense_weights(), eta,
                                  lam)
    free = scribble == 255
    fixed_nb = nb.without_fixed_pairs(~free)

    def energy(y):
        return self_labeling_energy(y, logits, scribble, fixed_nb,
                                    'quadratic', 'quadratic', eta,
                                    lam).sum().item()

    ref = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                              eta, lam, **REFERENCE_SOLVER)
    # The paper reports 99.2% soft Jaccard to the optimum for its solver.
    assert soft_jaccard(ref, opt, free) > 0.99
    assert energy(ref) <= energy(opt) * 1.001
    # FAST_SOLVER with Adam (what it does for every other pair).
    fast = solve_pseudo_labels(logits, scribble, nb, 'quadratic',
                               'quadratic', eta, lam,
                               **dict(FAST_SOLVER, optimizer='adam'))
    assert soft_jaccard(fast, opt, free) > 0.9
    assert energy(fast) <= energy(opt) * 1.1
    for y in (ref, fast):
        onehot = torch.nn.functional.one_hot(
            scribble.clamp(max=2), 3).permute(0, 3, 1, 2).double()
        assert torch.equal(y * (~free[:, None]), onehot * (~free[:, None]))


def _one_hot(scribble, k):
    return torch.nn.functional.one_hot(scribble.clamp(max=k - 1),
                                       k).permute(0, 3, 1, 2).double()


@pytest.mark.parametrize('kind', ['grid4', 'grid8', 'dense'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_cg_solver_equals_quadratic_oracle(seed, kind):
    logits, img, scribble = _random_problem(seed, k=4)
    if kind == 'dense':
        nb = DenseNeighbourhood.from_image(img, 60., 3.)
    else:
        nb = GridNeighbourhood.from_image(img, 60., int(kind[-1]))
    eta, lam = 0.3, 6.
    opt = quadratic_pseudo_labels(logits, scribble, nb.dense_weights(), eta,
                                  lam)
    # FAST_SOLVER picks CG for the quadratic pair.
    y = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                            eta, lam, **FAST_SOLVER)
    torch.testing.assert_close(y, opt, atol=1e-8, rtol=0)
    cg = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                             eta, lam, steps=50, optimizer='cg')
    assert torch.equal(y, cg)
    # On the simplex, scribbles exactly one-hot.
    assert (y >= 0).all()
    torch.testing.assert_close(y.sum(1), torch.ones_like(y[:, 0]),
                               atol=1e-12, rtol=0)
    fixed = (scribble != 255)[:, None]
    assert torch.equal(y * fixed, _one_hot(scribble, 4) * fixed)
    # At most the reference solver's energy.
    ref = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                              eta, lam, **REFERENCE_SOLVER)
    fixed_nb = nb.without_fixed_pairs(fixed[:, 0])

    def energy(v):
        return self_labeling_energy(v, logits, scribble, fixed_nb,
                                    'quadratic', 'quadratic', eta, lam)

    assert (energy(y) <= energy(ref) + 1e-12).all()


def test_cg_solver_hand_worked_chain():
    # 1 x 3 chain, unit weights, scribbles 0 and 1 at the ends, sigma =
    # (0.8, 0.2) in the middle, eta 0.5, lambda 1:
    # (2 eta + 2 lam) y = 2 eta sigma + lam (e_0 + e_1)
    # -> y = ((0.8, 0.2) + (1, 1)) / 3 = (0.6, 0.4).
    logits = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    logits[0, 0, 0, 1] = math.log(4)
    scribble = torch.tensor([[[0, 255, 1]]])
    weights = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    weights[0, 0, 0, :2] = 1
    nb = GridNeighbourhood(weights, ((0, 1), (1, 0)))
    y = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                            0.5, 1., steps=3, optimizer='cg')
    torch.testing.assert_close(y[0, :, 0, 1], _vec(.6, .4), atol=1e-12,
                               rtol=0)
    # eta = 0: Grady's random walker, (1/2, 1/2).
    y = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                            0., 1., steps=3, optimizer='cg')
    torch.testing.assert_close(y[0, :, 0, 1], _vec(.5, .5), atol=1e-12,
                               rtol=0)


def test_cg_solver_padding():
    # A 6 x 7 image padded to 8 x 9 (bottom, right): the real pixels get
    # the optimum of the unpadded problem, the padding keeps
    # softmax(logits) as with the gradient solvers.
    logits, img, scribble = _random_problem(3, n=1, k=3, h=8, w=9)
    valid = torch.zeros(1, 8, 9)
    valid[:, :6, :7] = 1
    scribble[:, 6:] = 255
    scribble[:, :, 7:] = 255
    nb = GridNeighbourhood.from_image(img, 60., 4, valid_mask=valid)
    y = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                            0.3, 6., valid_mask=valid, **FAST_SOLVER)
    crop = (..., slice(0, 6), slice(0, 7))
    small_nb = GridNeighbourhood.from_image(img[crop], 60., 4)
    opt = quadratic_pseudo_labels(logits[crop], scribble[crop],
                                  small_nb.dense_weights(), 0.3, 6.)
    torch.testing.assert_close(y[crop], opt, atol=1e-8, rtol=0)
    pad = (valid == 0)[:, None].expand_as(y)
    torch.testing.assert_close(
        y[pad], logits.softmax(1)[pad], atol=1e-15, rtol=0)
    ref = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                              0.3, 6., valid_mask=valid, **REFERENCE_SOLVER)
    torch.testing.assert_close(y[pad], ref[pad], atol=1e-15, rtol=0)


def test_cg_solver_only_for_the_quadratic_pair():
    logits, img, scribble = _random_problem(0)
    nb = GridNeighbourhood.from_image(img, 9., 4)
    for pair in (('collision', 'collision_divergence'),
                 ('quadratic', 'bilinear'), ('standard', 'quadratic')):
        with pytest.raises(ValueError, match="optimizer='cg'"):
            solve_pseudo_labels(logits, scribble, nb, *pair, optimizer='cg')
    # 'auto' is Adam for every other pair.
    auto = solve_pseudo_labels(logits, scribble, nb, steps=5, lr=0.2,
                               optimizer='auto')
    adam = solve_pseudo_labels(logits, scribble, nb, steps=5, lr=0.2,
                               optimizer='adam')
    assert torch.equal(auto, adam)


def test_solver_lowers_energy_default_pair():
    logits, img, scribble = _random_problem(4, k=4)
    nb = GridNeighbourhood.from_image(img, 60., 4)
    free = scribble == 255
    fixed_nb = nb.without_fixed_pairs(~free)
    init = torch.where(free[:, None], logits.softmax(1),
                       torch.nn.functional.one_hot(
                           scribble.clamp(max=3), 4).permute(0, 3, 1,
                                                             2).double())

    def energy(y):
        return self_labeling_energy(y, logits, scribble,
                                    fixed_nb).sum().item()

    y = solve_pseudo_labels(logits, scribble, nb, steps=30, lr=0.3)
    assert energy(y) < energy(init)
    assert torch.isfinite(y).all()


def test_solver_checks_inputs():
    logits, img, scribble = _random_problem(0)
    nb = GridNeighbourhood.from_image(img, 9., 4)
    with pytest.raises(ValueError, match='scribble'):
        solve_pseudo_labels(logits, scribble[:, :4], nb)
    with pytest.raises(ValueError, match='neighbourhood'):
        solve_pseudo_labels(logits[..., :4], scribble[..., :4], nb)
    with pytest.raises(ValueError, match='optimizer'):
        solve_pseudo_labels(logits, scribble, nb, optimizer='lbfgs')
    with pytest.raises(ValueError, match='steps'):
        solve_pseudo_labels(logits, scribble, nb, steps=-1)


# ---------------------------------------------------------------------------
# The solver's closed-form gradient against autograd.
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('relaxation', RELAXATIONS)
@pytest.mark.parametrize('kind', CROSS_ENTROPIES)
def test_energy_grad_matches_autograd(kind, relaxation):
    logits, img, scribble = _random_problem(5, n=2, k=3, h=5, w=6)
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
