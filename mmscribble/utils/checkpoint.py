"""Read mmengine 0.10.7 checkpoints with torch's safe unpickler.

torch >= 2.6 loads with ``weights_only=True`` by default, and mmengine
0.10.7's local loader calls ``torch.load`` without the argument, so it
already uses the safe unpickler. The checkpoints its ``Runner`` writes hold
more than tensors, though, so ``--resume``, ``load_from`` and
``tools/test.py CHECKPOINT`` fail with ``UnpicklingError``. Writing one with
the Runner and listing what the safe unpickler refuses
(``torch.serialization.get_unsafe_globals_in_checkpoint``) gives:

* ``mmengine.logging.HistoryBuffer``: the message hub's logged scalars;
* numpy arrays inside them (``numpy._core.multiarray._reconstruct``,
  ``numpy.ndarray``, ``numpy.dtype`` and the dtype's own class, e.g.
  ``numpy.dtypes.Float64DType``) and numpy scalars such as ``best_score``
  or ``eta`` (``numpy._core.multiarray.scalar``);
* ``builtins.getattr``: a ``HistoryBuffer`` pickles its statistics methods
  (``min``, ``max``, ``current``, ``mean``), and pickle protocol 2 (the one
  ``torch.save`` uses) stores the function ``HistoryBuffer.min`` as the
  call ``getattr(HistoryBuffer, 'min')``.

Allowlisting the real ``getattr`` would let a file reach any attribute of
any allowlisted object and void the safe loader. The name
``builtins.getattr`` is therefore bound to :func:`_history_buffer_method`,
which returns those four methods of ``HistoryBuffer`` and refuses anything
else. The numpy names of numpy 1.x (``numpy.core.multiarray...``) are
bound to the same functions, so checkpoints written under numpy 1 (e.g.
OpenMMLab's model zoo) load too. Only fixed-size numeric and bool dtypes are
allowed; object arrays are not.

Why a context manager, and not ``add_safe_globals`` at import: a plugin
listed in ``custom_imports`` must change nothing for the program that
imports it, and an allowlist added at import time would stay for every
later ``torch.load`` of the process, including its rebinding of the name
``builtins.getattr``. :func:`mmengine_safe_globals` adds the allowlist for
the duration of a ``with`` block and removes on exit exactly the entries it
added (an entry the caller had allowlisted before stays; torch keeps one
allowlist per process, so other threads see it while the block runs).
``tools/train.py`` and ``tools/test.py`` wrap ``runner.train()`` /
``runner.test()`` (where the Runner loads ``load_from`` or resumes) in it,
and :func:`mmscribble.utils.visualize.load_segmentor` its
``load_checkpoint``. The tools could instead call ``add_safe_globals``
once, as programs of their own; the scoped form is used because it is the
same call a user needs around a Runner of their own, and it leaves nothing
behind in a process that goes on (a notebook, a test session). Code that
drives the Runner itself does the same::

    from mmscribble.utils import mmengine_safe_globals

    with mmengine_safe_globals():
        runner.train()
"""
import contextlib
import pickle
from typing import Any, Callable, Iterator, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# The statistics HistoryBuffer registers for itself (and pickles).
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')
# Fixed-size numeric and bool dtypes of logged scalars and metrics.
NUMPY_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16',
                'uint32', 'uint64', 'float16', 'float32', 'float64',
                'complex64', 'complex128')

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def _history_buffer_method(obj: Any, name: str) -> Callable:
    """``getattr`` as mmengine checkpoints use it, and nothing more.

    Args:
        obj: must be the class ``HistoryBuffer``.
        name (str): one of :data:`HISTORY_BUFFER_METHODS`.

    Returns:
        Callable: the function ``HistoryBuffer.<name>``.

    Raises:
        pickle.UnpicklingError: for any other object or name.
    """
    if obj is HistoryBuffer and name in HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) refused: the safe loader of '
        f'mmscribble allows getattr only for HistoryBuffer.'
        f'{{{",".join(HISTORY_BUFFER_METHODS)}}}')


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The allowlist that mmengine 0.10.7 Runner checkpoints need.

    Returns:
        list: entries for ``torch.serialization.safe_globals``: classes and
        functions, and ``(object, 'module.name')`` pairs that bind a name
        found in the pickle to an object (the narrow ``getattr``, numpy
        1.x names).
    """
    reconstruct = np._core.multiarray._reconstruct
    scalar = np._core.multiarray.scalar
    entries: List[SafeGlobal] = [
        HistoryBuffer,
        (_history_buffer_method, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
        (reconstruct, 'numpy._core.multiarray._reconstruct'),
        (scalar, 'numpy._core.multiarray.scalar'),
        (reconstruct, 'numpy.core.multiarray._reconstruct'),
        (scalar, 'numpy.core.multiarray.scalar'),
    ]
    entries += [type(np.dtype(name)) for name in NUMPY_DTYPES]
    return entries


@contextlib.contextmanager
def mmengine_safe_globals() -> Iterator[None]:
    """Within the block, mmengine checkpoints load with weights_only=True.

    Adds :func:`mmengine_checkpoint_globals` to torch's safe-unpickler
    allowlist and, on exit, removes the entries it added. See the module
    notes for why this is scoped rather than done at import.
    """
    present = set(torch.serialization.get_safe_globals())
    added = [g for g in mmengine_checkpoint_globals() if g not in present]
    with torch.serialization.safe_globals(added):
        yield
