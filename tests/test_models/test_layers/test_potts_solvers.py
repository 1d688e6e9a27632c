"""Pseudo-label solvers of soft self-labeling against the closed-form
oracle of the quadratic pair (mmscribble/models/layers/potts_solvers.py)."""
import math

import pytest
import torch

from mmscribble.models.layers.potts_neighbourhoods import (DenseNeighbourhood,
                                                           GridNeighbourhood,
                                                           self_labeling_energy
                                                           )
from mmscribble.models.layers.potts_solvers import (FAST_SOLVER,
                                                    REFERENCE_SOLVER,
                                                    quadratic_pseudo_labels,
                                                    soft_jaccard,
                                                    solve_pseudo_labels)


def _vec(*v):
    return torch.tensor(v, dtype=torch.float64)


# ---------------------------------------------------------------------------
# Solvers: the closed-form oracle of the quadratic pair.
# ---------------------------------------------------------------------------
def test_quadratic_oracle_is_stationary_and_on_simplex(potts_problem):
    logits, img, scribble = potts_problem(0)
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
def test_solvers_reach_quadratic_oracle(seed, potts_problem):
    logits, img, scribble = potts_problem(seed)
    nb = GridNeighbourhood.from_image(img, 60., 4)
    eta, lam = 0.3, 6.
    opt = quadratic_pseudo_labels(logits, scribble, nb.dense_weights(), eta,
                                  lam)
    free = scribble == 255
    fixed_nb = nb.without_fixed_pairs(~free)

    def energy(y):
        return self_labeling_energy(y, logits, scribble, fixed_nb, 'quadratic',
                                    'quadratic', eta, lam).sum().item()

    ref = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                              eta, lam, **REFERENCE_SOLVER)
    # The paper reports 99.2% soft Jaccard to the optimum for its solver.
    assert soft_jaccard(ref, opt, free) > 0.99
    assert energy(ref) <= energy(opt) * 1.001
    # FAST_SOLVER with Adam (what it does for every other pair).
    fast = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                               eta, lam, **dict(FAST_SOLVER, optimizer='adam'))
    assert soft_jaccard(fast, opt, free) > 0.9
    assert energy(fast) <= energy(opt) * 1.1
    for y in (ref, fast):
        onehot = torch.nn.functional.one_hot(scribble.clamp(max=2),
                                             3).permute(0, 3, 1, 2).double()
        assert torch.equal(y * (~free[:, None]), onehot * (~free[:, None]))


def _one_hot(scribble, k):
    return torch.nn.functional.one_hot(scribble.clamp(max=k - 1),
                                       k).permute(0, 3, 1, 2).double()


@pytest.mark.parametrize('kind', ['grid4', 'grid8', 'dense'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_cg_solver_equals_quadratic_oracle(seed, kind, potts_problem):
    logits, img, scribble = potts_problem(seed, k=4)
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
    cg = solve_pseudo_labels(
        logits,
        scribble,
        nb,
        'quadratic',
        'quadratic',
        eta,
        lam,
        steps=50,
        optimizer='cg')
    assert torch.equal(y, cg)
    # On the simplex, scribbles exactly one-hot.
    assert (y >= 0).all()
    torch.testing.assert_close(
        y.sum(1), torch.ones_like(y[:, 0]), atol=1e-12, rtol=0)
    fixed = (scribble != 255)[:, None]
    assert torch.equal(y * fixed, _one_hot(scribble, 4) * fixed)
    # At most the reference solver's energy.
    ref = solve_pseudo_labels(logits, scribble, nb, 'quadratic', 'quadratic',
                              eta, lam, **REFERENCE_SOLVER)
    fixed_nb = nb.without_fixed_pairs(fixed[:, 0])

    def energy(v):
        return self_labeling_energy(v, logits, scribble, fixed_nb, 'quadratic',
                                    'quadratic', eta, lam)

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
    y = solve_pseudo_labels(
        logits,
        scribble,
        nb,
        'quadratic',
        'quadratic',
        0.5,
        1.,
        steps=3,
        optimizer='cg')
    torch.testing.assert_close(y[0, :, 0, 1], _vec(.6, .4), atol=1e-12, rtol=0)
    # eta = 0: Grady's random walker, (1/2, 1/2).
    y = solve_pseudo_labels(
        logits,
        scribble,
        nb,
        'quadratic',
        'quadratic',
        0.,
        1.,
        steps=3,
        optimizer='cg')
    torch.testing.assert_close(y[0, :, 0, 1], _vec(.5, .5), atol=1e-12, rtol=0)


def test_cg_solver_padding(potts_problem):
    # A 6 x 7 image padded to 8 x 9 (bottom, right): the real pixels get
    # the optimum of the unpadded problem, the padding keeps
    # softmax(logits) as with the gradient solvers.
    logits, img, scribble = potts_problem(3, n=1, k=3, h=8, w=9)
    valid = torch.zeros(1, 8, 9)
    valid[:, :6, :7] = 1
    scribble[:, 6:] = 255
    scribble[:, :, 7:] = 255
    nb = GridNeighbourhood.from_image(img, 60., 4, valid_mask=valid)
    y = solve_pseudo_labels(
        logits,
        scribble,
        nb,
        'quadratic',
        'quadratic',
        0.3,
        6.,
        valid_mask=valid,
        **FAST_SOLVER)
    crop = (..., slice(0, 6), slice(0, 7))
    small_nb = GridNeighbourhood.from_image(img[crop], 60., 4)
    opt = quadratic_pseudo_labels(logits[crop], scribble[crop],
                                  small_nb.dense_weights(), 0.3, 6.)
    torch.testing.assert_close(y[crop], opt, atol=1e-8, rtol=0)
    pad = (valid == 0)[:, None].expand_as(y)
    torch.testing.assert_close(
        y[pad], logits.softmax(1)[pad], atol=1e-15, rtol=0)
    ref = solve_pseudo_labels(
        logits,
        scribble,
        nb,
        'quadratic',
        'quadratic',
        0.3,
        6.,
        valid_mask=valid,
        **REFERENCE_SOLVER)
    torch.testing.assert_close(y[pad], ref[pad], atol=1e-15, rtol=0)


def test_cg_solver_only_for_the_quadratic_pair(potts_problem):
    logits, img, scribble = potts_problem(0)
    nb = GridNeighbourhood.from_image(img, 9., 4)
    for pair in (('collision', 'collision_divergence'),
                 ('quadratic', 'bilinear'), ('standard', 'quadratic')):
        with pytest.raises(ValueError, match="optimizer='cg'"):
            solve_pseudo_labels(logits, scribble, nb, *pair, optimizer='cg')
    # 'auto' is Adam for every other pair.
    auto = solve_pseudo_labels(
        logits, scribble, nb, steps=5, lr=0.2, optimizer='auto')
    adam = solve_pseudo_labels(
        logits, scribble, nb, steps=5, lr=0.2, optimizer='adam')
    assert torch.equal(auto, adam)


def test_solver_lowers_energy_default_pair(potts_problem):
    logits, img, scribble = potts_problem(4, k=4)
    nb = GridNeighbourhood.from_image(img, 60., 4)
    free = scribble == 255
    fixed_nb = nb.without_fixed_pairs(~free)
    init = torch.where(
        free[:, None], logits.softmax(1),
        torch.nn.functional.one_hot(scribble.clamp(max=3),
                                    4).permute(0, 3, 1, 2).double())

    def energy(y):
        return self_labeling_energy(y, logits, scribble, fixed_nb).sum().item()

    y = solve_pseudo_labels(logits, scribble, nb, steps=30, lr=0.3)
    assert energy(y) < energy(init)
    assert torch.isfinite(y).all()


def test_solver_checks_inputs(potts_problem):
    logits, img, scribble = potts_problem(0)
    nb = GridNeighbourhood.from_image(img, 9., 4)
    with pytest.raises(ValueError, match='scribble'):
        solve_pseudo_labels(logits, scribble[:, :4], nb)
    with pytest.raises(ValueError, match='neighbourhood'):
        solve_pseudo_labels(logits[..., :4], scribble[..., :4], nb)
    with pytest.raises(ValueError, match='optimizer'):
        solve_pseudo_labels(logits, scribble, nb, optimizer='lbfgs')
    with pytest.raises(ValueError, match='steps'):
        solve_pseudo_labels(logits, scribble, nb, steps=-1)
