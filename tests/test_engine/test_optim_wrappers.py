"""AutocastOptimWrapper: built from a config on a CPU (where mmengine's
AmpOptimWrapper refuses), its forward in bfloat16, parameters, gradients
and the update in float32 and equal to a hand-run autocast step, and the
errors for float16 and unknown types."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper
from mmseg.models import BaseSegmentor  # noqa: F401  registers the scope
from torch import nn

import mmscribble  # noqa: F401
from mmscribble.engine import AutocastOptimWrapper


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1))


def build(model, **kwargs):
    cfg = dict(
        type='AutocastOptimWrapper',
        optimizer=dict(type='SGD', lr=0.1),
        **kwargs)
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    return build_optim_wrapper(model, cfg)


def test_forward_in_bfloat16_update_in_float32_equals_hand_run_step():
    x = torch.randn(2, 3, 8, 8)
    model = net()
    reference = copy.deepcopy(model)
    wrapper = build(model)
    assert isinstance(wrapper, AutocastOptimWrapper)
    with wrapper.optim_context(model):
        out = model(x)
        assert out.dtype == torch.bfloat16
        loss = out.float().square().mean()
    wrapper.update_params(loss)
    # the same step by hand
    with torch.autocast('cpu', dtype=torch.bfloat16):
        ref_loss = reference(x).float().square().mean()
    ref_loss.backward()
    with torch.no_grad():
        for p in reference.parameters():
            p -= 0.1 * p.grad
    assert torch.equal(loss.detach(), ref_loss.detach())
    for p, q in zip(model.parameters(), reference.parameters()):
        assert p.dtype == torch.float32
        torch.testing.assert_close(p, q, rtol=0, atol=1e-7)
    # outside the context the model runs in float32 again
    assert model(x).dtype == torch.float32


@pytest.mark.parametrize('dtype, match', [
    ('float16', 'needs loss scaling.*AmpOptimWrapper'),
    (torch.float16, 'needs loss scaling'),
    ('bf16', "must be 'bfloat16', got 'bf16'"),
    ('float32', "must be 'bfloat16'"),
])
def test_other_types_are_refused_with_the_reason(dtype, match):
    with pytest.raises(ValueError, match=match):
        build(net(), dtype=dtype)
