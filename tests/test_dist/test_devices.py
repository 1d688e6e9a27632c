"""No tensor is created on the CPU inside a training step.

On a GPU, a factory call without ``device`` (``torch.tensor(ids)``,
``torch.zeros(n)``) makes a CPU tensor, and using it with CUDA tensors
costs a copy and often a host sync. CPU torch cannot run a CUDA step, so
a ``TorchFunctionMode`` records every torch factory call made from
``mmscribble`` code during each method's training step (forward, loss,
backward) without an explicit ``device``.
"""
import inspect
import os.path as osp

import pytest
import torch
from torch.overrides import TorchFunctionMode

import mmscribble
from method_cases import METHODS, batch, build

PACKAGE = osp.dirname(mmscribble.__file__)
FACTORIES = {
    torch.tensor, torch.zeros, torch.ones, torch.full, torch.empty,
    torch.arange, torch.eye, torch.linspace, torch.rand, torch.randn,
    torch.randint, torch.randperm, torch.scalar_tensor
}

# Host-side tables, never moved to a device: the 3 x 3 offset table the
# grid Potts neighbourhood reads with ``.tolist()`` to pick its columns.
ALLOWED = ('models/layers/potts_neighbourhoods.py:from_image', )


class CPUFactoryCalls(TorchFunctionMode):
    """Record ``file:line`` of factory calls from the package made
    without ``device`` (``torch.as_tensor`` of a list too)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        no_device = kwargs.get('device') is None
        listed = func in FACTORIES or (
            func is torch.as_tensor and args
            and not isinstance(args[0], torch.Tensor))
        if listed and no_device:
            chain = [
                f'{osp.relpath(f.filename, PACKAGE)}:{f.function}'
                for f in inspect.stack()[1:]
                if f.filename.startswith(PACKAGE)
            ]
            if chain and not any(a in chain for a in ALLOWED):
                self.calls.append(f'{chain[0]} {func.__name__}')
        return func(*args, **kwargs)


@pytest.mark.parametrize('method', METHODS)
def test_training_step_creates_no_cpu_tensor(method):
    model = build(method)
    img, samples = batch([0, 1])
    with CPUFactoryCalls() as mode:
        model(img, samples).backward()
        model(img, samples).backward()  # SPML: with a memory bank
    assert mode.calls == [], mode.calls


def test_the_recorder_sees_a_cpu_factory_call():
    from mmscribble.models.heads.scribble_head import multi_hot
    with CPUFactoryCalls() as mode:
        multi_hot([[1]], 3, device=None)
    assert mode.calls == ['models/heads/scribble_head.py:multi_hot tensor']
