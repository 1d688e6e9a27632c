import math

import pytest
import torch
import torch.nn.functional as F

from mmscribble.models.losses import (PartialCrossEntropyLoss,
                                      partial_cross_entropy)


def test_hand_computed_value():
    # 2 classes, 1x1x3 image: logits give p = softmax([0, ln 3]) = [.25, .75]
    logits = torch.tensor([[[[0., 0., 0.]], [[math.log(3)] * 3]]])
    label = torch.tensor([[[0, 1, 255]]])
    loss = partial_cross_entropy(logits, label)
    expected = (-math.log(0.25) - math.log(0.75)) / 2  # mean over 2 labeled
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_is_mean_over_labeled_only_not_all_pixels():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 8, 8)
    label = torch.full((2, 8, 8), 255)
    label[0, 1, 2] = 3
    label[1, 4, 4] = 0
    loss = partial_cross_entropy(logits, label)
    ref = F.cross_entropy(logits, label, ignore_index=255)  # same definition
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    from mmseg.models.losses import CrossEntropyLoss
    mmseg_default = CrossEntropyLoss()(logits, label, ignore_index=255)
    # mmseg's default divides by all 128 pixels: 64x smaller here
    assert mmseg_default.item() == pytest.approx(
        loss.item() * 2 / 128, rel=1e-5)


def test_no_labeled_pixel_is_finite_zero_with_grad():
    logits = torch.randn(1, 3, 4, 4, requires_grad=True)
    label = torch.full((1, 4, 4), 255)
    loss = PartialCrossEntropyLoss()(logits, label)
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


def test_class_weight_matches_torch():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 5, 5)
    label = torch.randint(0, 3, (2, 5, 5))
    label[:, :2] = 255
    w = [0.2, 1.0, 3.0]
    loss = partial_cross_entropy(logits, label, class_weight=w)
    ref = F.cross_entropy(
        logits, label, weight=torch.tensor(w), ignore_index=255)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)


def test_reductions_and_module_equals_functional():
    torch.manual_seed(2)
    logits = torch.randn(1, 4, 3, 3)
    label = torch.tensor([[[0, 1, 255], [3, 255, 255], [2, 2, 255]]])
    none = partial_cross_entropy(logits, label, reduction='none')
    assert none.shape == (1, 3, 3) and (none[label == 255] == 0).all()
    s = partial_cross_entropy(logits, label, reduction='sum')
    assert s.item() == pytest.approx(none.sum().item())
    m = PartialCrossEntropyLoss(loss_weight=2.0)(logits, label)
    assert m.item() == pytest.approx(2 * s.item() / 5, rel=1e-6)
    assert PartialCrossEntropyLoss().loss_name == 'loss_pce'


def test_bad_input_messages():
    logits = torch.randn(1, 4, 3, 3)
    with pytest.raises(ValueError, match=r'class ids \[7\] outside 0..3'):
        partial_cross_entropy(logits, torch.full((1, 3, 3), 7))
    with pytest.raises(ValueError, match='pred must be'):
        partial_cross_entropy(logits, torch.zeros(1, 4, 4).long())
    with pytest.raises(ValueError, match="must contain 'loss'"):
        PartialCrossEntropyLoss(loss_name='pce')
    with pytest.raises(ValueError, match='class_weight'):
        partial_cross_entropy(
            logits, torch.zeros(1, 3, 3).long(), class_weight=[1.0])


def test_gradcheck():
    logits = torch.randn(1, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    label = torch.tensor([[[0, 2, 255], [1, 255, 0]]])
    assert torch.autograd.gradcheck(
        lambda x: partial_cross_entropy(x, label, class_weight=[1., .5, 2.]),
        (logits, ))


def test_module_class_weight_and_label_check():
    torch.manual_seed(3)
    logits = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    label = torch.randint(0, 3, (2, 4, 4))
    label[:, 0] = 255
    loss_fn = PartialCrossEntropyLoss(class_weight=[0.5, 1., 2.])
    # The weights follow the module's dtype / device, read back as a list.
    loss_fn.double()
    assert loss_fn.class_weight == [0.5, 1., 2.]
    assert list(loss_fn.state_dict()) == []  # checkpoints unchanged
    torch.testing.assert_close(
        loss_fn(logits, label),
        partial_cross_entropy(logits, label, class_weight=[0.5, 1., 2.]))
    # Labels are checked at load time: the module re-checks on request
    # only; the functional form checks by default.
    bad = label.clone()
    bad[0, 1, 1] = 5
    assert loss_fn.check_labels is False
    with pytest.raises(ValueError, match=r'class ids \[5\]'):
        PartialCrossEntropyLoss(check_labels=True)(logits, bad)
    with pytest.raises(ValueError, match=r'class ids \[5\]'):
        partial_cross_entropy(logits, bad)
    with pytest.raises(TypeError, match='label must hold integer'):
        partial_cross_entropy(logits, label.double())


def test_avg_factor_is_an_exact_denominator():
    torch.manual_seed(4)
    logits = torch.randn(1, 3, 3, 3, dtype=torch.float64)
    label = torch.tensor([[[0, 1, 255], [2, 255, 255], [1, 1, 255]]])
    s = partial_cross_entropy(logits, label, reduction='sum')
    assert partial_cross_entropy(logits, label, avg_factor=3.).item() == \
        (s / 3.).item()
    # avg_factor = 0 is a 0 / 0 only for an unlabeled batch; the sum then.
    assert partial_cross_entropy(logits, label, avg_factor=0.).item() == \
        s.item()
