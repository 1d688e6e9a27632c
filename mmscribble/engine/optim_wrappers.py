"""An optimizer wrapper that trains under bfloat16 autocast, CPU included.

mmengine's ``AmpOptimWrapper`` refuses to be built without a GPU (it
asserts CUDA, NPU, MLU or MUSA), so a CPU run cannot switch mixed
precision on from its config. ``AutocastOptimWrapper`` is the plain
``OptimWrapper`` with the forward (data preprocessor, model, losses) under
``torch.autocast`` on the device the model's parameters are on::

    optim_wrapper = dict(type='AutocastOptimWrapper', dtype='bfloat16',
                         optimizer=dict(type='AdamW', lr=1e-3))
    # or, for any config, on the command line:
    --cfg-options optim_wrapper.type=AutocastOptimWrapper \\
        optim_wrapper.dtype=bfloat16

bfloat16 has float32's exponent range, so no loss scaling is needed and
the parameters, gradients and optimizer state stay float32. float16 is
refused here: it needs a gradient scaler, which is what mmengine's
``AmpOptimWrapper`` (GPU) provides. The losses of this package count and
normalise in float32 under autocast (tests/test_models/test_amp).

On a CPU with AVX-512 BF16 (AMD Zen 4, Intel Cooper Lake and later)
oneDNN runs the convolutions in bfloat16: a training step of the MSCMR
baseline on one thread was 1.8x faster than in float32 (issue 25,
tools/benchmark/profile_step.py, docs/convergence.md). A CPU without it
was not measured here; bfloat16 may be slower there: profile first.
"""
from contextlib import contextmanager
from typing import Union

import torch
from mmengine.optim import OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS
from torch import nn


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast``.

    Args:
        dtype (str | torch.dtype): the autocast type, ``'bfloat16'``
            (default; the only one accepted).
        **kwargs: as :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, *args,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, dtype)
        if dtype == torch.float16:
            raise ValueError(
                "optim_wrapper.dtype='float16' needs loss scaling: use "
                "mmengine's AmpOptimWrapper (GPU) for float16, or "
                "dtype='bfloat16' here")
        if dtype != torch.bfloat16:
            raise ValueError("optim_wrapper.dtype of AutocastOptimWrapper "
                             f"must be 'bfloat16', got {dtype!r}")
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The parent's context (gradient accumulation) and autocast on
        the device of ``model``'s first parameter."""
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield
