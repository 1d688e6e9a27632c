"""Tests of the helpers every loss shares (mmscribble.models.losses.utils)."""
import pytest
import torch
from torch.autograd import gradcheck

from mmscribble.models.losses.utils import (REDUCTIONS, BaseScribbleLoss,
                                            ClassWeight, as_pixel_map,
                                            check_choice, check_labels,
                                            check_logits_label,
                                            class_weight_tensor, reduce_loss,
                                            safe_div)


def test_safe_div_values():
    assert safe_div(torch.tensor(6.), torch.tensor(3.)).item() == 2.
    assert safe_div(torch.tensor(0.), torch.tensor(0.)).item() == 0.
    # Elementwise, a negative denominator divides normally, and no eps
    # enters a denominator below eps.
    out = safe_div(
        torch.tensor([1., 0., -3., 1e-9]), torch.tensor([4., 0., -2., 1e-9]))
    assert out.tolist() == [0.25, 0., 1.5, 1.]
    # Integer counts as denominator, and Python numbers.
    assert safe_div(torch.tensor(3.), torch.tensor(2)).item() == 1.5
    assert safe_div(torch.tensor(3.), 2).item() == 1.5
    assert safe_div(torch.tensor(0.), 0).item() == 0.


def test_safe_div_gradient_at_zero_over_zero():
    num = torch.zeros((), dtype=torch.float64, requires_grad=True)
    den = torch.zeros((), dtype=torch.float64, requires_grad=True)
    out = safe_div(num, den)
    assert out.item() == 0. and out.grad_fn is not None
    out.backward()
    # num / 1 there: the gradient path of num is kept, den gets none.
    assert num.grad.item() == 1. and den.grad.item() == 0.
    # Elsewhere it is the quotient's gradient.
    num = torch.tensor([1.5, 0., -2.], dtype=torch.float64, requires_grad=True)
    den = torch.tensor([0.5, 0., 3.], dtype=torch.float64, requires_grad=True)
    assert gradcheck(safe_div, (num, den))


def test_reduce_loss_by_hand():
    x = torch.tensor([1., 2., 3., 6.])
    assert torch.equal(reduce_loss(x, 'none'), x)
    assert reduce_loss(x, 'sum').item() == 12.
    assert reduce_loss(x).item() == 3.  # mean over the 4 items
    # avg_factor replaces the denominator: exactly sum / avg_factor.
    assert reduce_loss(x, avg_factor=8.).item() == 1.5
    assert reduce_loss(x, avg_factor=torch.tensor(8.)).item() == 1.5
    # denominator replaces numel, and avg_factor replaces both.
    assert reduce_loss(x, denominator=torch.tensor(2.)).item() == 6.
    assert reduce_loss(x, avg_factor=3, denominator=2.).item() == 4.
    # weight multiplies the items, it is not in the denominator.
    w = torch.tensor([1., 0., 2., 1.])
    assert torch.equal(reduce_loss(x, 'none', weight=w), x * w)
    assert reduce_loss(x, weight=w).item() == 13 / 4
    assert reduce_loss(x, 'sum', weight=w).item() == 13.
    # Nothing counted: 0 / 0 = 0, for a zero count or an empty tensor.
    zeros = torch.zeros(3, requires_grad=True)
    out = reduce_loss(zeros, denominator=torch.tensor(0))
    assert out.item() == 0. and out.grad_fn is not None
    assert reduce_loss(torch.zeros(0)).item() == 0.
    assert reduce_loss(torch.zeros(0), avg_factor=0.).item() == 0.


def test_reduce_loss_avg_factor_has_no_eps():
    # mmseg's weight_reduce_loss divides by avg_factor + eps; here the mean
    # is exactly sum / avg_factor, visible in float64.
    from mmseg.models.losses.utils import weight_reduce_loss
    x = torch.tensor([1., 2.], dtype=torch.float64)
    ours = reduce_loss(x, avg_factor=1.)
    assert ours.item() == 3.
    mmseg = weight_reduce_loss(x, reduction='mean', avg_factor=1.)
    assert mmseg.item() != 3.
    assert mmseg.item() == pytest.approx(3., rel=1e-6)


def test_reduce_loss_bad_arguments_are_named():
    x = torch.ones(3)
    with pytest.raises(ValueError, match=r"reduction must be one of \("):
        reduce_loss(x, 'avg')
    with pytest.raises(ValueError, match='avg_factor must be a number >= 0'):
        reduce_loss(x, avg_factor=-1.)
    with pytest.raises(ValueError, match='avg_factor'):
        reduce_loss(x, avg_factor='4')
    assert REDUCTIONS == ('none', 'mean', 'sum')


def test_check_choice_names_the_argument():
    check_choice('impl', 'index', ('index', 'dense'))
    with pytest.raises(
            ValueError,
            match=r"impl must be one of \('index', 'dense'\), got 'sparse'"):
        check_choice('impl', 'sparse', ('index', 'dense'))


def test_check_logits_label():
    logits = torch.randn(2, 3, 4, 5)
    check_logits_label(logits, torch.zeros(2, 4, 5, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r'seg_logits must be \(N, C, H, W'):
        check_logits_label(logits[0],
                           torch.zeros(2, 4, 5).long(), 'seg_logits')
    with pytest.raises(
            ValueError, match=r'and gt \(N, H, W\).*gt \(2, 5, 4\)'):
        check_logits_label(logits, torch.zeros(2, 5, 4).long(), 'x', 'gt')
    with pytest.raises(ValueError, match=r'label \(1, 4, 5\)'):
        check_logits_label(logits, torch.zeros(1, 4, 5).long())
    with pytest.raises(ValueError, match='label'):
        check_logits_label(logits, [[0]])
    for dtype in (torch.float32, torch.bool):
        with pytest.raises(TypeError, match='label must hold integer'):
            check_logits_label(logits, torch.zeros(2, 4, 5, dtype=dtype))


def test_as_pixel_map():
    x = torch.rand(2, 1, 4, 5)
    out = as_pixel_map(x, 'valid_mask', (2, 4, 5))
    assert out.shape == (2, 4, 5) and torch.equal(out, x[:, 0])
    assert as_pixel_map(None, 'valid_mask', (2, 4, 5)) is None
    with pytest.raises(
            ValueError,
            match=r'boundary_map must have shape \(N, H, W\) = \(2, 4, 5\) '
            r'matching the label, got \(2, 5, 4\)'):
        as_pixel_map(
            torch.rand(2, 5, 4), 'boundary_map', (2, 4, 5), 'the label')
    with pytest.raises(TypeError, match='weight must be a tensor'):
        as_pixel_map([1.], 'weight', (1, 1, 1))


def test_check_labels():
    label = torch.tensor([[0, 2, 255], [1, 255, 0]])
    check_labels(label, 3, 255)
    check_labels(torch.tensor([-1, 0]), 1, -1)
    with pytest.raises(
            ValueError,
            match=r'gt contains class ids \[-2, 3\] outside 0..2 \(the '
            r'prediction has 3 classes; 255 = ignored\)'):
        check_labels(torch.tensor([3, -2, 255, 3]), 3, 255, name='gt')


def test_class_weight_tensor():
    like = torch.zeros(1, dtype=torch.float64)
    cw = class_weight_tensor([1, 2.5], 2, like)
    assert cw.dtype == torch.float64 and cw.tolist() == [1., 2.5]
    assert torch.equal(
        class_weight_tensor(torch.ones(2), 2, like), torch.ones_like(cw))
    with pytest.raises(
            ValueError,
            match=r'class_weight must have 3 entries \(one per '
            r'class\), got 2'):
        class_weight_tensor([1., 1.], 3, like, 'class')


class _Loss(BaseScribbleLoss):
    class_weight = ClassWeight()

    def __init__(self,
                 class_weight=None,
                 reduction='mean',
                 loss_name='loss_x'):
        super().__init__(reduction, 2.0, loss_name)
        self.class_weight = class_weight


def test_class_weight_attribute_lives_on_the_device():
    loss = _Loss([1, 0.5])
    # Reads give the config's list; the tensor follows the module.
    assert loss.class_weight == [1., .5]
    assert ClassWeight.tensor(loss).tolist() == [1., .5]
    loss.double()
    assert ClassWeight.tensor(loss).dtype == torch.float64
    # Not in checkpoints: state_dict keys stay those of before.
    assert list(loss.state_dict()) == []
    loss.class_weight = [3., 4.]
    assert ClassWeight.tensor(loss).tolist() == [3., 4.]
    assert ClassWeight.tensor(loss).dtype == torch.float64
    loss.class_weight = None
    assert loss.class_weight is None and ClassWeight.tensor(loss) is None
    assert _Loss().class_weight is None


def test_base_loss_checks_and_reduction_override():
    loss = _Loss(reduction='sum')
    assert loss.loss_name == 'loss_x' and loss.loss_weight == 2.0
    assert loss._reduction() == 'sum'
    assert loss._reduction('none') == 'none'
    with pytest.raises(ValueError, match='reduction_override must be one'):
        loss._reduction('avg')
    with pytest.raises(ValueError, match='reduction must be one'):
        _Loss(reduction='avg')
    with pytest.raises(ValueError, match="loss_name must contain 'loss'"):
        _Loss(loss_name='x')
    # loss_name is read-only: the head's loss dict keys must not drift.
    with pytest.raises(AttributeError):
        loss.loss_name = 'loss_y'
