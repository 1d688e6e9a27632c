"""ChannelsLastHook: the weights change layout but not identity or value,
a training step gives the NCHW step's loss and gradients up to float
rounding, the optimizer keeps its parameters, and a DDP-wrapped model is
refused with the reason."""
import copy
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import HOOKS, MODELS

import mmscribble  # noqa: F401
from mmscribble.engine.hooks import ChannelsLastHook

DEMO = 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py'


def demo_model():
    init_default_scope('mmseg')
    cfg = Config.fromfile(DEMO)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    return MODELS.build(cfg.model).train()


def test_same_step_in_either_layout():
    nchw = demo_model()
    nhwc = copy.deepcopy(nchw)
    params = list(nhwc.parameters())
    optim = torch.optim.SGD(params, lr=0.1)
    hook = HOOKS.build(dict(type='ChannelsLastHook'))
    assert isinstance(hook, ChannelsLastHook)
    hook.before_run(SimpleNamespace(model=nhwc))
    conv = nhwc.backbone.stem[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not nchw.backbone.stem[0].weight.is_contiguous(
        memory_format=torch.channels_last)
    # same Parameter objects: the optimizer built before still holds them
    assert all(a is b for a, b in zip(params, nhwc.parameters()))
    for a, b in zip(nchw.parameters(), nhwc.parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(1)
    x = torch.randn(2, 3, 48, 48)
    feats = [m.extract_feat(x) for m in (nchw, nhwc)]
    assert feats[1][-1].is_contiguous(memory_format=torch.channels_last)
    losses = [f[-1].square().mean() for f in feats]
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=0)
    for loss in losses:
        loss.backward()
    for (name, a), b in zip(nchw.named_parameters(), nhwc.parameters()):
        if a.grad is not None:
            err = (b.grad - a.grad).norm() / a.grad.norm()
            assert err < 1e-4, (name, float(err))
    optim.step()  # the update lands in the hooked model's parameters
    assert not torch.equal(conv, nchw.backbone.stem[0].weight)


def test_a_wrapped_model_is_refused():
    from mmengine.model import MMDistributedDataParallel

    wrapped = MMDistributedDataParallel.__new__(MMDistributedDataParallel)
    with pytest.raises(RuntimeError, match='ChannelsLastHook.*DDP'):
        ChannelsLastHook().before_run(SimpleNamespace(model=wrapped))
