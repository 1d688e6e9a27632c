"""Guard the BatchNorm running statistics around an extra forward."""
from contextlib import contextmanager
from typing import Iterator

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

_BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')


@contextmanager
def kept_bn_stats(module: nn.Module) -> Iterator[None]:
    """Restore the running statistics of every BatchNorm in ``module``.

    Forwards inside the block normalise with their batch statistics as
    usual (training mode), but ``running_mean``, ``running_var`` and
    ``num_batches_tracked`` are put back on exit, so an extra forward
    (URSS's second view, a teacher pass on pseudo-labels) leaves the
    test-time statistics untouched.

    Args:
        module (nn.Module): the model (or part) whose BatchNorm layers are
            restored.
    """
    # The block updates copies; the original tensors are put back
    # untouched. Restoring them in place instead would bump their autograd
    # version, which the BatchNorm backward of an earlier forward checks.
    saved = []
    for m in module.modules():
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            originals = {n: getattr(m, n) for n in _BN_BUFFERS}
            saved.append((m, originals))
            for n, buf in originals.items():
                if buf is not None:
                    setattr(m, n, buf.clone())
    try:
        yield
    finally:
        for m, originals in saved:
            for n, buf in originals.items():
                setattr(m, n, buf)
