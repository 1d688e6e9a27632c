import pytest
import torch
import torch.nn.functional as F

from mmscribble.models.layers.random_walk import transition_matrix
from mmscribble.models.layers.transition_ops import (
    ViewTransform, apply_view, dense_view_matrix, overlap_block, sample_view,
    transform_transition, transform_transition_dense, view_valid_mask)

FLIP = ViewTransform('flip')
# Positive and negative shifts on each axis, pure and mixed, and shifts
# that leave nothing of the frame.
SHIFTS = [(0, 1), (1, 0), (-1, 0), (0, -3), (2, 3), (-2, 1), (3, -4), (-4, -6),
          (5, 0), (0, -7), (9, 9)]
VIEWS = [FLIP] + [ViewTransform('translate', s) for s in SHIFTS]


def test_apply_view_known_values():
    x = torch.arange(12.).reshape(1, 1, 3, 4)
    flipped = torch.tensor([[3., 2., 1., 0.], [7., 6., 5., 4.],
                            [11., 10., 9., 8.]])
    assert torch.equal(apply_view(x, FLIP)[0, 0], flipped)
    # Down by 1, left by 2: row i, col j <- row i - 1, col j + 2.
    shifted = torch.tensor([[-1., -1., -1., -1.], [2., 3., -1., -1.],
                            [6., 7., -1., -1.]])
    out = apply_view(x, ViewTransform('translate', (1, -2)), fill=-1)
    assert torch.equal(out[0, 0], shifted)
    assert torch.equal(apply_view(x, ViewTransform('translate', (0, 0))), x)


def test_apply_view_stride():
    # A 2x2 average pool is exactly equivariant to shifts by 2 pixels:
    # features of the shifted image are the features shifted by 1 cell.
    img = torch.randn(2, 3, 8, 10)
    for shift in [(1, 0), (-1, 2), (2, -3)]:
        phi = ViewTransform('translate', shift)
        feat_of_view = F.avg_pool2d(apply_view(img, phi, stride=2), 2)
        view_of_feat = apply_view(F.avg_pool2d(img, 2), phi)
        assert torch.allclose(feat_of_view, view_of_feat)
    # Flip commutes with a stride-2 pool when the width is even.
    assert torch.allclose(
        F.avg_pool2d(apply_view(img, FLIP, stride=2), 2),
        apply_view(F.avg_pool2d(img, 2), FLIP))


def test_apply_view_any_leading_dims_and_dtypes():
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    out = apply_view(mask, ViewTransform('translate', (0, 1)), fill=False)
    assert out.dtype == torch.bool
    assert not out[..., 0].any() and out[..., 1:].all()
    labels = torch.zeros(1, 3, 4, dtype=torch.uint8)
    out = apply_view(labels, ViewTransform('translate', (1, 0)), fill=255)
    assert (out[:, 0] == 255).all() and (out[:, 1:] == 0).all()


def test_view_valid_mask():
    mask = view_valid_mask(3, 4, ViewTransform('translate', (-1, 2)))
    expected = torch.tensor([[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]],
                            dtype=torch.bool)
    assert torch.equal(mask, expected)
    assert view_valid_mask(3, 4, FLIP).all()
    assert not view_valid_mask(3, 4, ViewTransform('translate', (3, 0))).any()


def test_dense_view_matrix_known_values():
    assert torch.equal(
        dense_view_matrix(1, 3, FLIP),
        torch.tensor([[0., 0., 1.], [0., 1., 0.], [1., 0., 0.]]))
    # Right by one on a 1x3 map: view cell 0 is empty, 1 <- 0, 2 <- 1.
    assert torch.equal(
        dense_view_matrix(1, 3, ViewTransform('translate', (0, 1))),
        torch.tensor([[0., 0., 0.], [1., 0., 0.], [0., 1., 0.]]))


@pytest.mark.parametrize('phi', VIEWS, ids=str)
def test_dense_view_matrix_maps_features(phi):
    f = torch.randn(2, 3, 5, 7)
    mat = dense_view_matrix(5, 7, phi)
    assert torch.equal(apply_view(f, phi).flatten(2), f.flatten(2) @ mat.t())


@pytest.mark.parametrize('phi', VIEWS, ids=str)
def test_transform_transition_equals_dense_eq10(phi):
    h, w = 5, 7
    trans = torch.rand(2, h * w, h * w, dtype=torch.float64)
    fast = transform_transition(trans, h, w, phi)
    dense = transform_transition_dense(trans, h, w, phi)
    # Only zeros and ones in the computing matrices: exact equality.
    assert torch.equal(fast, dense)
    valid = view_valid_mask(h, w, phi).flatten()
    assert torch.equal(
        overlap_block(trans, h, w, phi, frame='source'),
        dense[:, valid][:, :, valid])
    view_block = trans[:, valid][:, :, valid]
    assert torch.equal(
        overlap_block(trans, h, w, phi, frame='view'), view_block)
    # Rows and columns of view positions with no source are zero.
    assert not fast[:, ~valid].any() and not fast[:, :, ~valid].any()


def test_transform_transition_gradient():
    trans = torch.rand(1, 12, 12, requires_grad=True)
    phi = ViewTransform('translate', (1, -1))
    out = transform_transition(trans, 3, 4, phi)
    (out * torch.arange(144.).reshape(1, 12, 12)).sum().backward()
    ref = trans.detach().clone().requires_grad_()
    dense = transform_transition_dense(ref, 3, 4, phi)
    (dense * torch.arange(144.).reshape(1, 12, 12)).sum().backward()
    assert torch.equal(trans.grad, ref.grad)


def test_flip_is_an_involution():
    trans = torch.rand(2, 20, 20)
    twice = transform_transition(
        transform_transition(trans, 4, 5, FLIP), 4, 5, FLIP)
    assert torch.equal(twice, trans)


def test_transition_of_view_of_pointwise_features():
    # Features computed pixel by pixel commute with any view, so
    # P(t_phi(x)) is T_phi(P(x)) on the positions both frames share
    # (up to the row renormalisation a translation needs).
    torch.manual_seed(0)
    h, w = 5, 7
    x = torch.randn(2, 3, h, w, dtype=torch.float64)

    def feat(img):
        return torch.tanh(img * 2 + 0.5)

    trans = transition_matrix(feat(x))
    flipped = transition_matrix(feat(apply_view(x, FLIP)))
    assert torch.allclose(flipped, transform_transition(trans, h, w, FLIP))
    for shift in [(1, 2), (-2, 0), (0, -3), (-1, -1)]:
        phi = ViewTransform('translate', shift)
        moved = transition_matrix(feat(apply_view(x, phi)))
        a = overlap_block(trans, h, w, phi, frame='source')
        b = overlap_block(moved, h, w, phi, frame='view')
        assert not torch.allclose(a, b)
        assert torch.allclose(a / a.sum(-1, keepdim=True),
                              b / b.sum(-1, keepdim=True))


def test_input_checks():
    with pytest.raises(ValueError, match='phi.kind'):
        apply_view(torch.zeros(1, 1, 2, 2), ViewTransform('rotate'))
    with pytest.raises(ValueError, match='phi.shift'):
        apply_view(torch.zeros(1, 1, 2, 2), ViewTransform('flip', (1, 0)))
    with pytest.raises(ValueError, match='phi.shift'):
        apply_view(
            torch.zeros(1, 1, 2, 2), ViewTransform('translate', (0.5, 0)))
    with pytest.raises(TypeError, match='phi'):
        apply_view(torch.zeros(1, 1, 2, 2), 'flip')
    with pytest.raises(ValueError, match='stride'):
        apply_view(torch.zeros(1, 1, 2, 2), FLIP, stride=0)
    with pytest.raises(ValueError, match='trans must have shape'):
        transform_transition(torch.zeros(1, 6, 6), 2, 4, FLIP)
    with pytest.raises(ValueError, match='frame'):
        overlap_block(torch.zeros(1, 4, 4), 2, 2, FLIP, frame='target')


def test_sample_view():
    gen = torch.Generator().manual_seed(0)
    assert sample_view('flip', 5, 7, 2, gen) == FLIP
    shifts = set()
    for _ in range(300):
        phi = sample_view('translate', 5, 7, 2, gen)
        assert phi.kind == 'translate'
        dy, dx = phi.shift
        assert isinstance(dy, int) and isinstance(dx, int)
        assert (dy, dx) != (0, 0) and abs(dy) <= 2 and abs(dx) <= 2
        shifts.add(phi.shift)
    assert len(shifts) == 24
    kinds = {sample_view('random', 5, 7, 1, gen).kind for _ in range(50)}
    assert kinds == {'flip', 'translate'}
    # Per-axis range, and clipping so that the views overlap.
    for _ in range(50):
        dy, dx = sample_view('translate', 5, 7, (0, 3), gen).shift
        assert dy == 0 and 1 <= abs(dx) <= 3
        dy, dx = sample_view('translate', 2, 3, 10, gen).shift
        assert abs(dy) <= 1 and abs(dx) <= 2
    # Reproducible with a seeded generator.
    a = [
        sample_view('random', 9, 9, 4,
                    torch.Generator().manual_seed(3)) for _ in range(3)
    ]
    b = [
        sample_view('random', 9, 9, 4,
                    torch.Generator().manual_seed(3)) for _ in range(3)
    ]
    assert a == b
    with pytest.raises(ValueError, match='kind'):
        sample_view('rotate', 5, 7, 2)
    with pytest.raises(ValueError, match='max_shift'):
        sample_view('translate', 5, 7, 0)
    with pytest.raises(ValueError, match='max_shift'):
        sample_view('translate', 5, 7, (1, -1))


@pytest.mark.parametrize('shift', [(2, 0), (-1, 0), (0, 3), (-2, -1)])
def test_crop_view_features_are_the_kept_cells(shift):
    """Stride-s features of the crop are the source cells kept in frame."""
    from mmscribble.models.layers.transition_ops import (crop_view,
                                                         overlap_size)
    phi = ViewTransform('translate', shift)
    s, h, w = 4, 5, 6
    img = torch.randn(1, 2, s * (h - 1) + 1, s * (w - 1) + 1)

    def cells(x):  # pixel-wise features sampled every s pixels
        return x[..., ::s, ::s]

    crop = crop_view(img, phi, stride=s)
    oh, ow = overlap_size(h, w, phi)
    assert crop.shape[-2:] == (s * (oh - 1) + 1, s * (ow - 1) + 1)
    # Raster order of the crop's cells == the source rows of overlap_block.
    assert torch.equal(cells(crop), crop_view(cells(img), phi))
    # The crop's cells sit where the shifted view puts them.
    shifted = cells(apply_view(img, phi, stride=s))
    mask = view_valid_mask(h, w, phi)
    assert torch.equal(shifted[..., mask].flatten(), cells(crop).flatten())


def test_crop_view_errors():
    from mmscribble.models.layers.transition_ops import crop_view
    with pytest.raises(ValueError, match='translation'):
        crop_view(torch.zeros(1, 4, 4), ViewTransform('flip'))
    with pytest.raises(ValueError, match='nothing'):
        crop_view(torch.zeros(1, 4, 4), ViewTransform('translate', (2, 0)), 2)
