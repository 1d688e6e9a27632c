"""Tests of BLPSeg's losses: BLP (Eq. 9-11), focal, annotation WCE (1-2)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmseg.registry import MODELS

from mmscribble.models.losses import (AnnotationProbabilityLoss, BLPLoss,
                                      PartialCrossEntropyLoss,
                                      PartialFocalLoss,
                                      annotation_probability_loss, blp_loss,
                                      partial_focal_loss)

LN3 = math.log(3)


def _tiny():
    """1 x 3 image, K = 2: p_seg = (.25, .75) everywhere.

    Scribble head (K + 1 = 3 classes): pixel 0 has p_scrib = (.5, .25, .25),
    pixel 1 has (.2, .2, .6). Labels: class 0, class 1, unlabeled.
    """
    seg = torch.tensor([[[[0., 0., 0.]], [[LN3, LN3, LN3]]]])
    scrib = torch.log(
        torch.tensor([[[[.5, .2, .3]], [[.25, .2, .3]], [[.25, .6, .4]]]]))
    label = torch.tensor([[[0, 1, 255]]])
    return seg, scrib, label


def test_blp_hand_computed():
    seg, scrib, label = _tiny()
    d0 = (1 - .5 * .25)**2  # labeled class 0: p_scrib .5, p_seg .25
    d1 = (1 - .2 * .75)**2  # labeled class 1: p_scrib .2, p_seg .75
    num = -d0 * math.log(.25) - d1 * math.log(.75)
    assert blp_loss(seg, scrib, label).item() == pytest.approx(num / 2)
    assert blp_loss(seg, scrib, label, normalize='weights').item() == \
        pytest.approx(num / (d0 + d1))
    g1 = blp_loss(seg, scrib, label, gamma=1.0).item()
    assert g1 == pytest.approx(
        (-(1 - .125) * math.log(.25) - (1 - .15) * math.log(.75)) / 2)


def test_blp_gamma_zero_is_partial_cross_entropy_per_image():
    torch.manual_seed(0)
    seg = torch.randn(3, 4, 5, 6)
    scrib = torch.randn(3, 5, 5, 6)
    label = torch.randint(0, 4, (3, 5, 6))
    label[torch.rand(3, 5, 6) < 0.7] = 255
    label[2] = 255  # no labeled pixel: counts 0 in the batch mean
    per_image = torch.stack([
        F.cross_entropy(seg[i:i + 1], label[i:i + 1], ignore_index=255)
        for i in range(2)
    ] + [torch.tensor(0.)])
    for normalize in ('labeled', 'weights'):
        out = blp_loss(
            seg,
            scrib,
            label,
            gamma=0.0,
            normalize=normalize,
            reduction='none')
        torch.testing.assert_close(out, per_image)
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, gamma=0.0), per_image.mean())


def test_blp_tends_to_focal_as_p_scrib_tends_to_one():
    seg, _, label = _tiny()
    # p_scrib = 1 on both labeled classes.
    scrib = torch.tensor([[[[60., 0., 0.]], [[0., 60., 0.]], [[0., 0., 0.]]]])
    focal = (-(.75**2) * math.log(.25) - (.25**2) * math.log(.75)) / 2
    assert partial_focal_loss(seg, label).item() == pytest.approx(focal)
    assert blp_loss(seg, scrib, label).item() == pytest.approx(focal)
    torch.manual_seed(1)
    seg = torch.randn(2, 3, 4, 4, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 4))
    scrib = F.one_hot(label, 4).permute(0, 3, 1, 2).float() * 80
    for detach in (True, False):
        a = blp_loss(seg, scrib, label, detach_factor=detach)
        ga, = torch.autograd.grad(a, seg)
        b = partial_focal_loss(seg, label, detach_factor=detach)
        gb, = torch.autograd.grad(b, seg)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(ga, gb)


def test_blp_detach_pattern_matches_authors():
    torch.manual_seed(2)
    seg = torch.randn(2, 3, 4, 5, requires_grad=True)
    scrib = torch.randn(2, 4, 4, 5, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 5))
    label[:, 0] = 255
    loss = blp_loss(seg, scrib, label)
    loss.backward()
    # p_scrib never receives a gradient from the BLP loss.
    assert scrib.grad is None
    # The modulating factor is a constant weight: the gradient is that of
    # a weighted CE with the factor frozen.
    with torch.no_grad():
        p_seg = seg.softmax(1)
        p_scr = scrib.softmax(1)[:, :3]
        safe = label.clamp(max=2)[:, None]
        delta = (1 - p_scr.gather(1, safe) * p_seg.gather(1, safe))**2
        delta = delta[:, 0] * (label != 255)
    seg2 = seg.detach().clone().requires_grad_()
    nll = F.cross_entropy(seg2, label, ignore_index=255, reduction='none')
    ref = ((delta * nll).sum((1, 2)) / (label != 255).sum((1, 2))).mean()
    ref.backward()
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(seg.grad, seg2.grad)


def test_ignore_index_and_per_image_normalisation():
    torch.manual_seed(3)
    seg = torch.randn(2, 3, 4, 4)
    scrib = torch.randn(2, 4, 4, 4)
    label = torch.full((2, 4, 4), -1)
    label[0, 0, :3] = torch.tensor([0, 1, 2])
    label[1, 2, 1] = 2
    base = blp_loss(seg, scrib, label, ignore_index=-1, reduction='none')
    seg2 = seg.clone()
    seg2[:, :, 3] = 100 * torch.randn(2, 3, 4)  # only unlabeled pixels
    torch.testing.assert_close(
        blp_loss(seg2, scrib, label, ignore_index=-1, reduction='none'), base)
    # Image 0 averages 3 pixels, image 1 one pixel; the batch averages the
    # two image losses (not the 4 pixels).
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, ignore_index=-1), base.mean())
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, ignore_index=-1, reduction='sum'),
        base.sum())
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, ignore_index=-1, avg_factor=4.0),
        base.sum() / 4)


def test_per_pixel_weight():
    seg, scrib, label = _tiny()
    two = torch.full(label.shape, 2.)
    base = blp_loss(seg, scrib, label)
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, weight=two), 2 * base)
    # With 'weights' the per-pixel weight also scales the normaliser.
    torch.testing.assert_close(
        blp_loss(seg, scrib, label, normalize='weights', weight=two),
        blp_loss(seg, scrib, label, normalize='weights'))
    one_pixel = torch.tensor([[[1., 0., 1.]]])
    assert blp_loss(seg, scrib, label, weight=one_pixel).item() == \
        pytest.approx(-(1 - .5 * .25)**2 * math.log(.25) / 2)


@pytest.mark.parametrize('loss_fn', [
    lambda s, c, lb: blp_loss(s, c, lb),
    lambda s, c, lb: blp_loss(s, c, lb, normalize='weights'),
    lambda s, c, lb: partial_focal_loss(s, lb),
    lambda s, c, lb: annotation_probability_loss(
        c, lb, valid_mask=torch.zeros_like(lb)),
])
def test_nothing_labeled_is_finite_zero_with_grad(loss_fn):
    seg = torch.randn(2, 3, 4, 4, requires_grad=True)
    scrib = torch.randn(2, 4, 4, 4, requires_grad=True)
    label = torch.full((2, 4, 4), 255)
    loss = loss_fn(seg, scrib, label)
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    for t in (seg, scrib):
        assert t.grad is None or not t.grad.any()


def test_annotation_loss_hand_computed_with_padding():
    # K = 2, 1 x 4 image: class 0, unlabeled, padding, class 1.
    p = torch.tensor([[.5, .3, .2], [.1, .1, .8], [.3, .3, .4], [.2, .6, .2]])
    logits = p.log().t().reshape(1, 3, 1, 4)
    label = torch.tensor([[[0, 255, 255, 1]]])
    valid = torch.tensor([[[1, 1, 0, 1]]], dtype=torch.uint8)
    total = -math.log(.5) - .02 * math.log(.8) - math.log(.6)
    assert annotation_probability_loss(
        logits, label, valid).item() == pytest.approx(total / 2.02)
    assert annotation_probability_loss(
        logits, label, valid, normalize='pixels').item() == \
        pytest.approx(total / 3)
    # The authors' nn.CrossEntropyLoss(weight=w, ignore_index=255) on a map
    # with K on unlabeled pixels and 255 on padding.
    authors = torch.nn.CrossEntropyLoss(
        weight=torch.tensor([1., 1., .02]), ignore_index=255)
    assert authors(logits, torch.tensor([[[0, 2, 255, 1]]])).item() == \
        pytest.approx(total / 2.02)
    none = annotation_probability_loss(logits, label, valid, reduction='none')
    assert none[0, 0, 2] == 0 and none.sum().item() == pytest.approx(total)
    # Without valid_mask the padded pixel counts as "not scribbled".
    with_pad = total - .02 * math.log(.4)
    assert annotation_probability_loss(logits, label).item() == \
        pytest.approx(with_pad / 2.04)
    cw = annotation_probability_loss(
        logits, label, valid, class_weight=[2., 1., .5])
    assert cw.item() == pytest.approx(
        (-2 * math.log(.5) - .5 * math.log(.8) - math.log(.6)) / 3.5)


def test_gradcheck_float64():
    torch.manual_seed(4)
    seg = torch.randn(2, 3, 3, 4, dtype=torch.float64, requires_grad=True)
    scrib = torch.randn(2, 4, 3, 4, dtype=torch.float64, requires_grad=True)
    label = torch.randint(0, 3, (2, 3, 4))
    label[:, 0, :2] = 255
    valid = torch.ones(2, 3, 4)
    valid[:, :, 3] = 0
    assert torch.autograd.gradcheck(
        lambda s: blp_loss(s, scrib, label, detach_factor=False), (seg, ))
    # The default detached factor is not the derivative of the value by
    # design (checked in test_blp_detach_pattern_matches_authors).
    assert torch.autograd.gradcheck(
        lambda s: blp_loss(
            s, scrib, label, normalize='weights', detach_factor=False),
        (seg, ))
    assert torch.autograd.gradcheck(
        lambda s: partial_focal_loss(s, label, gamma=1.5), (seg, ))
    assert torch.autograd.gradcheck(
        lambda c: annotation_probability_loss(c, label, valid), (scrib, ))


def test_modules_equal_functionals_and_registry():
    torch.manual_seed(5)
    seg = torch.randn(2, 3, 4, 4)
    scrib = torch.randn(2, 4, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[:, :2] = 255
    valid = torch.ones(2, 4, 4)
    valid[:, 3] = 0
    blp = MODELS.build(
        dict(type='BLPLoss', normalize='weights', loss_weight=0.5))
    assert isinstance(blp, BLPLoss) and blp.loss_name == 'loss_blp'
    torch.testing.assert_close(
        blp(seg, label, scrib_logits=scrib),
        0.5 * blp_loss(seg, scrib, label, normalize='weights'))
    focal = MODELS.build(dict(type='PartialFocalLoss', gamma=1.0))
    assert isinstance(focal, PartialFocalLoss)
    assert focal.loss_name == 'loss_focal'
    torch.testing.assert_close(
        focal(seg, label), partial_focal_loss(seg, label, gamma=1.0))
    annot = MODELS.build(
        dict(type='AnnotationProbabilityLoss', normalize='pixels'))
    assert isinstance(annot, AnnotationProbabilityLoss)
    assert annot.loss_name == 'loss_annot'
    torch.testing.assert_close(
        annot(scrib, label, valid_mask=valid),
        annotation_probability_loss(scrib, label, valid, normalize='pixels'))
    torch.testing.assert_close(
        blp(seg, label, scrib_logits=scrib, reduction_override='none'), 0.5 *
        blp_loss(seg, scrib, label, normalize='weights', reduction='none'))


def test_table2_losses_share_one_call():
    # A head can run the CE / FL / BL ablation with a single call shape.
    torch.manual_seed(6)
    seg = torch.randn(1, 3, 4, 4)
    scrib = torch.randn(1, 4, 4, 4)
    label = torch.randint(0, 3, (1, 4, 4))
    for loss in (PartialCrossEntropyLoss(), PartialFocalLoss(), BLPLoss()):
        out = loss(
            seg, label, weight=None, ignore_index=255, scrib_logits=scrib)
        assert out.dim() == 0 and torch.isfinite(out)


def test_input_checks_name_the_argument():
    seg, scrib, label = _tiny()
    with pytest.raises(ValueError, match='scrib_logits'):
        blp_loss(seg, scrib[:, :2], label)
    with pytest.raises(ValueError, match='label'):
        blp_loss(seg, scrib, label[0])
    with pytest.raises(ValueError, match='label'):
        blp_loss(seg, scrib, torch.tensor([[[0, 2, 255]]]))
    with pytest.raises(ValueError, match='normalize'):
        blp_loss(seg, scrib, label, normalize='pixels')
    with pytest.raises(ValueError, match='gamma'):
        blp_loss(seg, scrib, label, gamma=-1.0)
    with pytest.raises(ValueError, match='reduction'):
        partial_focal_loss(seg, label, reduction='avg')
    with pytest.raises(ValueError, match='scrib_logits'):
        BLPLoss()(seg, label)
    with pytest.raises(ValueError, match='valid_mask'):
        annotation_probability_loss(scrib, label, torch.ones(1, 3))
    with pytest.raises(ValueError, match='class_weight'):
        annotation_probability_loss(scrib, label, class_weight=[1., 1.])
    with pytest.raises(ValueError, match='label'):
        annotation_probability_loss(scrib, torch.tensor([[[0, 2, 255]]]))
    with pytest.raises(ValueError, match='loss_name'):
        BLPLoss(loss_name='blp')


def test_focal_is_blp_without_scribble_head():
    # One body: blp_loss(scrib_logits=None) is the focal loss, exactly.
    torch.manual_seed(7)
    seg = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    label = torch.randint(0, 3, (2, 4, 5))
    label[0, :3] = 255
    for detach in (True, False):
        kw = dict(gamma=1.5, normalize='weights', detach_factor=detach)
        a = blp_loss(seg, None, label, **kw)
        b = partial_focal_loss(seg, label, **kw)
        assert a.item() == b.item()
        ga, = torch.autograd.grad(a, seg)
        gb, = torch.autograd.grad(b, seg)
        assert torch.equal(ga, gb)
    assert blp_loss(seg, label=label, detach_factor=False).item() == \
        partial_focal_loss(seg, label).item()
    with pytest.raises(TypeError, match='needs the label'):
        blp_loss(seg, None)
    # The module is BLPLoss with p_scrib = 1 and its own defaults.
    focal = PartialFocalLoss()
    assert isinstance(focal, BLPLoss) and not focal.needs_scrib_logits
    assert (focal.detach_factor, focal.loss_name, focal.gamma) == \
        (False, 'loss_focal', 2.0)
    assert (BLPLoss().detach_factor, BLPLoss().loss_name) == \
        (True, 'loss_blp')
    scrib = torch.randn(2, 4, 4, 5, dtype=torch.float64)
    assert focal(seg, label, scrib_logits=scrib).item() == \
        partial_focal_loss(seg, label).item()


def test_modules_check_labels_only_on_request():
    seg, scrib, label = _tiny()
    bad = torch.tensor([[[0, 2, 255]]])  # class 2 of K = 2
    for loss in (BLPLoss(), PartialFocalLoss(), AnnotationProbabilityLoss()):
        assert loss.check_labels is False
    with pytest.raises(ValueError, match=r'class ids \[2\] outside 0..1'):
        BLPLoss(check_labels=True)(seg, bad, scrib_logits=scrib)
    with pytest.raises(ValueError, match=r'class ids \[2\] outside 0..1'):
        PartialFocalLoss(check_labels=True)(seg, bad)
    with pytest.raises(ValueError, match=r'class ids \[2\] outside 0..1'):
        AnnotationProbabilityLoss(check_labels=True)(scrib, bad)
    with pytest.raises(ValueError, match=r'class ids \[2\] outside 0..1'):
        partial_focal_loss(seg, bad)
    # Without the check, a valid batch gives the functional's value.
    torch.testing.assert_close(BLPLoss()(seg, label, scrib_logits=scrib),
                               blp_loss(seg, scrib, label))


def test_avg_factor_is_an_exact_denominator():
    torch.manual_seed(8)
    seg = torch.randn(3, 3, 4, 4, dtype=torch.float64)
    scrib = torch.randn(3, 4, 4, 4, dtype=torch.float64)
    label = torch.randint(0, 3, (3, 4, 4))
    s = blp_loss(seg, scrib, label, reduction='sum')
    assert blp_loss(seg, scrib, label, avg_factor=2.).item() == \
        (s / 2.).item()
    # A zero avg_factor no longer gives inf: 0 / 0 = 0 for empty batches.
    assert blp_loss(seg, scrib, label, avg_factor=0.).item() == s.item()
    a = annotation_probability_loss(scrib, label, reduction='sum')
    assert annotation_probability_loss(
        scrib, label, avg_factor=2.).item() == (a / 2.).item()


def test_annotation_module_class_weight_on_device():
    torch.manual_seed(9)
    scrib = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    label = torch.randint(0, 3, (2, 3, 3))
    label[:, 0] = 255
    loss = AnnotationProbabilityLoss(class_weight=[1., 2., .5, .1]).double()
    assert loss.class_weight == [1., 2., .5, .1]
    assert list(loss.state_dict()) == []
    torch.testing.assert_close(
        loss(scrib, label),
        annotation_probability_loss(
            scrib, label, class_weight=[1., 2., .5, .1]))
