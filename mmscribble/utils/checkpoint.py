"""Let mmengine 0.10.7 checkpoints load under torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default. mmengine
0.10.7 calls ``torch.load`` without the argument, and the checkpoints its
Runner writes hold a ``HistoryBuffer``, numpy arrays and a
``getattr(builtins, 'min')`` reduction (its best-checkpoint rule), so
``--resume``, ``load_from`` and ``tools/test.py CHECKPOINT`` all fail with
``UnpicklingError``. Allowlisting ``getattr`` would void the safe loader for
every file, so instead the loader for *local paths* (the only scheme that
reads a file the user named on the command line or in a config) restores
mmengine's original behaviour, ``weights_only=False``. Remote schemes
(``http://``, ``open-mmlab://``, ...) keep torch's default.
"""
import os.path as osp

import torch
from mmengine.runner.checkpoint import CheckpointLoader


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint not found: {filename}')
    return torch.load(filename, map_location=map_location, weights_only=False)


def allow_mmengine_checkpoints() -> None:
    """Make local mmengine checkpoints loadable under torch >= 2.6."""
    # force: the point is to replace mmengine's local loader; this is a
    # checkpoint-scheme table, not one of mmseg's component registries.
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
