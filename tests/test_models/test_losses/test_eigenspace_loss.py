import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch.autograd import gradcheck

from mmscribble.models.layers.random_walk import RandomWalk
from mmscribble.models.layers.transition_ops import (
    ViewTransform, apply_view, transform_transition,
    transform_transition_dense, view_valid_mask)
from mmscribble.models.losses.eigenspace_loss import (EigenspaceLoss,
                                                      eigenspace_loss)

FLIP = ViewTransform('flip')
VIEWS = [FLIP] + [
    ViewTransform('translate', s)
    for s in [(0, 2), (-1, 0), (2, -3), (-2, -1), (1, 4)]
]


def _random_transitions(n, hw, scale=2., dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, hw, hw, generator=gen, dtype=dtype) * scale
    return logits


def _reference(trans, trans_view, phi, size, gamma, trace_loss, kl_reduction,
               from_logits, valid_mask):
    """Eq. 9 image by image, with dense Eq. 10 and boolean indexing."""
    h, w = size
    moved = transform_transition_dense(trans, h, w, phi)
    in_view = view_valid_mask(h, w, phi).flatten()
    losses = []
    for i in range(trans.shape[0]):
        keep = in_view.clone()
        if valid_mask is not None:
            keep &= apply_view(valid_mask[i] != 0, phi, fill=False).flatten()
        if not keep.any():
            losses.append(trans.new_zeros(()))
            continue
        a = moved[i][keep][:, keep]
        b = trans_view[i][keep][:, keep]
        if from_logits:
            a, b = a.softmax(-1), b.softmax(-1)
        else:
            a, b = a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True)
        kl = (b * (b.log() - a.log())).sum(-1).mean()
        if kl_reduction == 'element':
            kl = kl / keep.sum()
        diff = a.trace() - b.trace()
        trace = diff**2 if trace_loss == 'l2' else diff.abs()
        losses.append(kl + gamma * trace)
    return torch.stack(losses).mean()


def test_hand_worked_flip():
    # 1x2 map. T_flip(P)[i, j] = P[1 - i, 1 - j].
    trans = torch.tensor([[[0.7, 0.3], [0.4, 0.6]]])
    target = torch.tensor([[[0.5, 0.5], [0.1, 0.9]]])
    moved = [[0.6, 0.4], [0.3, 0.7]]
    kl0 = 0.5 * math.log(0.5 / moved[0][0]) + 0.5 * math.log(0.5 / moved[0][1])
    kl1 = 0.1 * math.log(0.1 / moved[1][0]) + 0.9 * math.log(0.9 / moved[1][1])
    # Traces: 0.6 + 0.7 = 1.3 against 0.5 + 0.9 = 1.4.
    for trace_loss, trace in [('l2', 0.01), ('l1', 0.1)]:
        loss = eigenspace_loss(
            trans, target, FLIP, (1, 2), gamma=0.5, trace_loss=trace_loss)
        assert loss.item() == pytest.approx(
            (kl0 + kl1) / 2 + 0.5 * trace, rel=1e-5)


def test_hand_worked_translation():
    # 1x3 map, content moved right by one: view cells 1, 2 hold source
    # cells 0, 1; cell 0 of the view and cell 2 of the source are dropped
    # and the kept rows are renormalised.
    trans = torch.tensor([[[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]]])
    target = torch.tensor([[[0.9, 0.05, 0.05], [0.2, 0.4, 0.4],
                            [0.1, 0.45, 0.45]]])
    a = [[0.625, 0.375], [1 / 7, 6 / 7]]
    kl0 = 0.5 * math.log(0.5 / a[0][0]) + 0.5 * math.log(0.5 / a[0][1])
    kl1 = 0.5 * math.log(0.5 / a[1][0]) + 0.5 * math.log(0.5 / a[1][1])
    trace = (0.625 + 6 / 7 - 1.0)**2
    phi = ViewTransform('translate', (0, 1))
    loss = eigenspace_loss(trans, target, phi, (1, 3), gamma=0.1)
    assert loss.item() == pytest.approx(
        (kl0 + kl1) / 2 + 0.1 * trace, rel=1e-5)


def test_kl_direction_matches_kl_div():
    # The view's rows are the target distribution, as in the authors'
    # KLDivLoss(log P(x), T(P(t(x)))) (the same value in either frame for
    # a flip).
    trans = _random_transitions(2, 12).softmax(-1)
    target = _random_transitions(2, 12, seed=1).softmax(-1)
    moved = transform_transition(trans, 3, 4, FLIP)
    loss = eigenspace_loss(trans, target, FLIP, (3, 4), gamma=0.)
    assert torch.allclose(
        loss,
        F.kl_div(moved.log(), target, reduction='sum') / (2 * 12))
    # KLDivLoss(reduction='mean'): the sum over all N * HW * HW entries.
    authors = F.kl_div(
        trans.log(), transform_transition(target, 3, 4, FLIP),
        reduction='sum') / trans.numel()
    loss = eigenspace_loss(
        trans, target, FLIP, (3, 4), gamma=0., kl_reduction='element')
    assert torch.allclose(loss, authors)


@pytest.mark.parametrize('phi', VIEWS, ids=str)
@pytest.mark.parametrize('from_logits', [False, True])
def test_index_equals_dense_and_reference(phi, from_logits):
    h, w = 5, 7
    trans = _random_transitions(3, h * w)
    view = _random_transitions(3, h * w, seed=1)
    if not from_logits:
        trans, view = trans.softmax(-1), view.softmax(-1)
    valid = torch.ones(3, h, w)
    valid[0, :, -2:] = 0
    valid[1, 3:] = 0
    for trace_loss, kl_reduction, mask in [('l2', 'row', None),
                                           ('l1', 'element', None),
                                           ('l2', 'row', valid),
                                           ('l1', 'element', valid)]:
        kwargs = dict(
            gamma=0.3,
            trace_loss=trace_loss,
            kl_reduction=kl_reduction,
            from_logits=from_logits,
            valid_mask=mask)
        fast = eigenspace_loss(trans, view, phi, (h, w), **kwargs)
        dense = eigenspace_loss(
            trans, view, phi, (h, w), impl='dense', **kwargs)
        ref = _reference(trans, view, phi, (h, w), 0.3, trace_loss,
                         kl_reduction, from_logits, mask)
        assert torch.allclose(fast, dense, atol=1e-12)
        assert torch.allclose(fast, ref, atol=1e-12)


def test_logits_and_probabilities_agree():
    phi = ViewTransform('translate', (1, -2))
    logits = _random_transitions(2, 20)
    view = _random_transitions(2, 20, seed=1)
    assert torch.allclose(
        eigenspace_loss(logits, view, phi, (4, 5), from_logits=True),
        eigenspace_loss(logits.softmax(-1), view.softmax(-1), phi, (4, 5)))


def _equivariant_features(channels=4):
    # Pixel-wise features: t_phi(f(x)) == f(t_phi(x)) for any view.
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, channels, 1), nn.Tanh()).double()


@pytest.mark.parametrize('similarity', ['raw', 'projected'])
@pytest.mark.parametrize('phi', VIEWS, ids=str)
@pytest.mark.parametrize('cropped', [False, True], ids=['shift', 'crop'])
def test_zero_for_equivariant_features(similarity, phi, cropped):
    from mmscribble.models.layers.transition_ops import crop_view
    feat = _equivariant_features()
    walk = RandomWalk(
        4,
        similarity=similarity,
        key_channels=2 if similarity == 'projected' else None).double()
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    if cropped and phi.kind == 'translate':
        x_view = crop_view(x, phi)  # the authors' translation: a crop
    else:
        x_view = apply_view(x, phi, fill=0.)
    _, trans, logits = walk(feat(x), return_logits=True)
    _, trans_view, logits_view = walk(feat(x_view), return_logits=True)
    cases = [(trans, trans_view, dict(impl='index')),
             (trans, trans_view, dict(impl='dense')),
             (logits, logits_view, dict(from_logits=True))]
    for a, b, kw in cases:
        loss = eigenspace_loss(
            a, b, phi, (5, 7), gamma=1., view_cropped=cropped, **kw)
        assert abs(loss.item()) < 1e-12


def test_positive_for_non_equivariant_features():
    torch.manual_seed(0)
    feat = nn.Conv2d(3, 4, 3, padding=1).double()
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    trans = RandomWalk(4).double()(feat(x))[1]
    for phi in VIEWS:
        view = RandomWalk(4).double()(feat(apply_view(x, phi)))[1]
        assert eigenspace_loss(trans, view, phi, (5, 7)).item() > 1e-4


def test_dropped_positions_do_not_matter():
    h, w = 4, 5
    phi = ViewTransform('translate', (-1, 2))
    trans = _random_transitions(2, h * w).softmax(-1)
    view = _random_transitions(2, h * w, seed=1).softmax(-1)
    valid = torch.ones(2, h, w)
    valid[0, 0] = 0
    loss = eigenspace_loss(trans, view, phi, (h, w), valid_mask=valid)
    # Scramble every entry of the view that lies in a dropped row or
    # column (out of frame, or padding of x seen through the view).
    kept = view_valid_mask(h, w, phi).flatten() & apply_view(
        valid != 0, phi, fill=False).flatten(1)
    pair = kept[:, :, None] & kept[:, None, :]
    scrambled = torch.where(pair, view, torch.rand_like(view))
    assert torch.allclose(
        eigenspace_loss(trans, scrambled, phi, (h, w), valid_mask=valid), loss)


def test_detach_target():
    trans = _random_transitions(2, 12).requires_grad_()
    view = _random_transitions(2, 12, seed=1).requires_grad_()
    eigenspace_loss(trans.softmax(-1), view.softmax(-1), FLIP,
                    (3, 4)).backward()
    assert trans.grad.abs().sum() > 0 and view.grad is None
    eigenspace_loss(
        trans.softmax(-1), view.softmax(-1), FLIP, (3, 4),
        detach_target=False).backward()
    assert view.grad.abs().sum() > 0


def test_nothing_compared_is_a_finite_zero():
    trans = _random_transitions(2, 12).softmax(-1).requires_grad_()
    view = _random_transitions(2, 12, seed=1).softmax(-1)
    cases = [
        dict(phi=FLIP, valid_mask=torch.zeros(2, 3, 4)),
        dict(phi=ViewTransform('translate', (3, 0))),
        dict(phi=ViewTransform('translate', (0, -4)), impl='dense'),
    ]
    for kwargs in cases:
        phi = kwargs.pop('phi')
        loss = eigenspace_loss(trans, view, phi, (3, 4), **kwargs)
        assert loss.item() == 0. and loss.grad_fn is not None
        loss.backward()
        assert torch.isfinite(trans.grad).all()


def test_saturated_rows_stay_finite():
    # Very peaked P (raw 512-channel similarities): exact zeros in both
    # matrices, including zeros where the other one has mass, and rows
    # that lose all their mass to the cut-off region.
    logits = (_random_transitions(2, 12, dtype=torch.float32) *
              1e3).requires_grad_()
    view = _random_transitions(2, 12, dtype=torch.float32, seed=1) * 1e3
    for phi in [FLIP, ViewTransform('translate', (1, 1))]:
        for from_logits in (False, True):
            trans = logits if from_logits else logits.softmax(-1)
            target = view if from_logits else view.softmax(-1)
            loss = eigenspace_loss(
                trans,
                target,
                phi, (3, 4),
                from_logits=from_logits,
                detach_target=False)
            assert torch.isfinite(loss)
            logits.grad = None
            loss.backward()
            assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize('trace_loss', ['l2', 'l1'])
@pytest.mark.parametrize('from_logits', [False, True])
def test_gradcheck(trace_loss, from_logits):
    h, w = 2, 3
    trans = _random_transitions(2, h * w, scale=1.).requires_grad_()
    view = _random_transitions(2, h * w, scale=1., seed=1).requires_grad_()
    # A cropped view of a (-1, 1) translation keeps a 1x2 block.
    crop = _random_transitions(2, 2, scale=1., seed=2).requires_grad_()
    valid = torch.ones(2, h, w)
    valid[1, 1, 0] = 0
    shift = ViewTransform('translate', (-1, 1))
    for phi, target, cropped in [(FLIP, view, False), (shift, view, False),
                                 (shift, crop, True)]:

        def fn(a, b):
            if not from_logits:
                a, b = a.softmax(-1), b.softmax(-1)
            return eigenspace_loss(
                a,
                b,
                phi, (h, w),
                gamma=0.5,
                trace_loss=trace_loss,
                from_logits=from_logits,
                detach_target=False,
                valid_mask=valid,
                view_cropped=cropped)

        assert gradcheck(fn, (trans, target))


def test_module_matches_functional_and_registry():
    trans = _random_transitions(3, 12).softmax(-1)
    view = _random_transitions(3, 12, seed=1).softmax(-1)
    phi = ViewTransform('translate', (1, 0))
    loss_fn = MODELS.build(
        dict(
            type='EigenspaceLoss',
            loss_weight=2.,
            gamma=0.1,
            trace_loss='l1',
            kl_reduction='element'))
    assert isinstance(loss_fn, EigenspaceLoss)
    assert loss_fn.loss_name == 'loss_eigen'
    expected = eigenspace_loss(
        trans,
        view,
        phi, (3, 4),
        gamma=0.1,
        trace_loss='l1',
        kl_reduction='element',
        reduction='none')
    assert expected.shape == (3, )
    assert torch.allclose(
        loss_fn(trans, view, phi, (3, 4), ignore_index=255),
        2 * expected.mean())
    assert torch.allclose(
        loss_fn(trans, view, phi, (3, 4), reduction_override='sum'),
        2 * expected.sum())
    weight = torch.tensor([1., 0., 2.])
    assert torch.allclose(
        loss_fn(trans, view, phi, (3, 4), weight=weight, avg_factor=4.),
        2 * (expected * weight).sum() / 4)


def test_input_checks():
    trans = torch.rand(2, 12, 12)
    with pytest.raises(ValueError, match='trans must have shape'):
        eigenspace_loss(trans, trans, FLIP, (4, 4))
    with pytest.raises(ValueError, match='trans_view'):
        eigenspace_loss(trans, trans[:1], FLIP, (3, 4))
    with pytest.raises(ValueError, match='size'):
        eigenspace_loss(trans, trans, FLIP, (12, ))
    with pytest.raises(ValueError, match='valid_mask'):
        eigenspace_loss(
            trans, trans, FLIP, (3, 4), valid_mask=torch.ones(2, 4, 3))
    with pytest.raises(ValueError, match='weight'):
        eigenspace_loss(trans, trans, FLIP, (3, 4), weight=torch.ones(3))
    with pytest.raises(ValueError, match='trace_loss'):
        eigenspace_loss(trans, trans, FLIP, (3, 4), trace_loss='l3')
    with pytest.raises(ValueError, match='impl'):
        eigenspace_loss(trans, trans, FLIP, (3, 4), impl='sparse')
    with pytest.raises(ValueError, match='kl_reduction'):
        EigenspaceLoss(kl_reduction='batchmean')


# Cropped views (the authors' translation): the view's matrix covers only
# the positions that stay in frame.
CROPS = [ViewTransform('translate', s) for s in [(2, 0), (-1, 0), (1, -3)]]


@pytest.mark.parametrize('phi', CROPS, ids=str)
@pytest.mark.parametrize('from_logits', [True, False])
def test_cropped_view_equals_reference_on_the_overlap(phi, from_logits):
    """A cropped view's matrix is the overlap block of a same-size one."""
    from mmscribble.models.layers.transition_ops import overlap_block
    h, w = 4, 6
    trans = _random_transitions(2, h * w, seed=1)
    full_view = _random_transitions(2, h * w, seed=2)
    if not from_logits:
        trans, full_view = trans.softmax(-1), full_view.softmax(-1)
    cropped = overlap_block(full_view, h, w, phi, frame='view').clone()
    valid = torch.ones(2, h, w)
    valid[1, :, -2:] = 0
    for impl in ('index', 'dense'):
        kw = dict(
            gamma=0.3, from_logits=from_logits, valid_mask=valid, impl=impl)
        got = eigenspace_loss(
            trans, cropped, phi, (h, w), view_cropped=True, **kw)
        # The overlap block of a logit matrix is a valid logit matrix of
        # the kept positions, and renormalising probabilities over the kept
        # columns is what the same-size form does too.
        expect = eigenspace_loss(trans, full_view, phi, (h, w), **kw)
        torch.testing.assert_close(got, expect)


def test_cropped_view_shape_is_checked():
    trans = _random_transitions(1, 20).softmax(-1)
    phi = ViewTransform('translate', (1, 0))
    with pytest.raises(ValueError, match=r'\(1, 15, 15\).*keeps in frame'):
        eigenspace_loss(trans, trans, phi, (4, 5), view_cropped=True)
    with pytest.raises(ValueError, match='trans_view must have shape'):
        eigenspace_loss(trans, trans[:, :15, :15], phi, (4, 5))


def test_avg_factor_is_an_exact_denominator():
    trans = _random_transitions(3, 12).softmax(-1)
    view = _random_transitions(3, 12, seed=1).softmax(-1)
    phi = ViewTransform('translate', (0, 1))
    total = eigenspace_loss(trans, view, phi, (3, 4), reduction='sum')
    # No eps added to avg_factor (mmseg adds float32's eps).
    assert eigenspace_loss(
        trans, view, phi, (3, 4), avg_factor=1.).item() == total.item()
    assert eigenspace_loss(
        trans, view, phi, (3, 4), avg_factor=6.).item() == (total / 6).item()
    with pytest.raises(ValueError, match='reduction_override'):
        EigenspaceLoss()(trans, view, phi, (3, 4), reduction_override='avg')
