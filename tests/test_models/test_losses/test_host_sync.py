"""The module losses make no host-device synchronisation per step.

A sync cannot be observed on CPU, so every Python entry point through
which these losses could read a value back to the host (``bool(t)``,
``.item()``, ``.tolist()``, ``nonzero``, ``unique``, indexing by a
boolean mask) or copy host data to the device (``torch.tensor``,
``new_tensor``: a blocking copy on CUDA) raises during the call.
"""
import contextlib

import pytest
import torch

from mmscribble.models.layers.transition_ops import (ViewTransform,
                                                     overlap_size)
from mmscribble.models.losses import (AnnotationProbabilityLoss, BLPLoss,
                                      EigenspaceLoss, PartialCrossEntropyLoss,
                                      PartialFocalLoss, SoftEntropyLoss)


class HostSync(AssertionError):
    pass


def _is_mask(index) -> bool:
    items = index if isinstance(index, tuple) else (index, )
    return any(
        isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)


@contextlib.contextmanager
def forbid_host_sync():
    """Make every way of reading a value back to the host raise."""

    def fail(name):

        def raise_(*args, **kwargs):
            raise HostSync(f'host sync: {name}')

        return raise_

    patches = {
        (torch.Tensor, name): fail(f'Tensor.{name}')
        for name in ('__bool__', '__int__', '__float__', '__index__', 'item',
                     'tolist', 'nonzero', 'unique', 'cpu', 'numpy',
                     'masked_select', 'new_tensor')
    }
    patches.update({
        (torch, name): fail(f'torch.{name}')
        for name in ('nonzero', 'unique', 'masked_select', 'tensor',
                     'as_tensor', 'argwhere')
    })
    getitem, setitem = torch.Tensor.__getitem__, torch.Tensor.__setitem__

    def checked_getitem(self, index):
        if _is_mask(index):
            raise HostSync('host sync: indexing by a boolean mask')
        return getitem(self, index)

    def checked_setitem(self, index, value):
        if _is_mask(index):
            raise HostSync('host sync: assignment through a boolean mask')
        return setitem(self, index, value)

    patches[(torch.Tensor, '__getitem__')] = checked_getitem
    patches[(torch.Tensor, '__setitem__')] = checked_setitem
    saved = {key: getattr(*key) for key in patches}
    try:
        for (owner, name), value in patches.items():
            setattr(owner, name, value)
        yield
    finally:
        for (owner, name), value in saved.items():
            setattr(owner, name, value)


def _cases():
    """(name, module, args, kwargs, label with an id out of range or None)."""
    gen = torch.Generator().manual_seed(0)
    n, k, h, w = 2, 3, 5, 6
    seg = torch.randn(n, k, h, w, generator=gen)
    scrib = torch.randn(n, k + 1, h, w, generator=gen)
    label = torch.randint(0, k, (n, h, w), generator=gen)
    label[:, :2] = 255
    valid = torch.ones(n, h, w, dtype=torch.uint8)
    valid[1, :, -2:] = 0
    boundary = torch.randint(0, 2, (n, h, w), generator=gen).to(torch.uint8)
    bad = label.clone()
    bad[0, 4, 0] = k + 4
    hw = 4 * 5
    trans = torch.randn(n, hw, hw, generator=gen).softmax(-1)
    shift = ViewTransform('translate', (1, -2))
    oh, ow = overlap_size(4, 5, shift)
    view = torch.randn(n, oh * ow, oh * ow, generator=gen)
    feat_valid = torch.ones(n, 4, 5)
    feat_valid[0, 0] = 0
    return [
        ('pce', PartialCrossEntropyLoss(class_weight=[1., .5, 2.]),
         (seg, label), {}, bad),
        ('blp', BLPLoss(normalize='weights'), (seg, label),
         dict(scrib_logits=scrib, weight=valid.float()), bad),
        ('focal', PartialFocalLoss(), (seg, label), dict(scrib_logits=scrib),
         bad),
        ('annot', AnnotationProbabilityLoss(class_weight=[1., 1., 1., .1]),
         (scrib, label), dict(valid_mask=valid), bad),
        ('annot-default', AnnotationProbabilityLoss(normalize='pixels'),
         (scrib, label), dict(valid_mask=valid), bad),
        ('entropy', SoftEntropyLoss(), (seg, boundary), dict(valid_mask=valid),
         None),
        ('eigen', EigenspaceLoss(), (trans, trans, shift, (4, 5)),
         dict(valid_mask=feat_valid), None),
        ('eigen-crop', EigenspaceLoss(from_logits=True), (trans, view, shift,
                                                          (4, 5)),
         dict(valid_mask=feat_valid, view_cropped=True), None),
        ('eigen-flip', EigenspaceLoss(), (trans, trans.flip(1),
                                          ViewTransform('flip'), (4, 5)),
         dict(valid_mask=feat_valid), None),
    ]


CASES = _cases()


@pytest.mark.parametrize('case', CASES, ids=[c[0] for c in CASES])
def test_forward_and_backward_make_no_host_sync(case):
    _, loss_fn, args, kwargs, _ = case
    args = tuple(a.clone().requires_grad_(
    ) if torch.is_tensor(a) and a.is_floating_point() else a for a in args)
    with forbid_host_sync():
        loss = loss_fn(*args, **kwargs)
        loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss.detach()).all()
    grad = args[0].grad
    assert grad is not None and grad.abs().sum() > 0
    # A mean over images or pixels with reduction 'none' is sync-free too.
    with forbid_host_sync():
        loss_fn(*args, reduction_override='none', **kwargs)


@pytest.mark.parametrize(
    'case', [c for c in CASES if c[4] is not None],
    ids=[c[0] for c in CASES if c[4] is not None])
def test_check_labels_is_a_debug_option(case):
    _, loss_fn, args, kwargs, bad = case
    assert loss_fn.check_labels is False
    bad_args = (args[0], bad) + args[2:]
    loss_fn.check_labels = True
    try:
        # The guard sees the check's sync (so it would see others).
        with pytest.raises(HostSync), forbid_host_sync():
            loss_fn(*args, **kwargs)
        with pytest.raises(
                ValueError,
                match=r'label contains class ids \[7\] outside '
                r'0..\d'):
            loss_fn(*bad_args, **kwargs)
    finally:
        loss_fn.check_labels = False
