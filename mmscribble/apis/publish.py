# Copyright (c) mmscribble contributors. All rights reserved.
"""Publish a training checkpoint: weights and meta, named by its hash.

mmseg's ``tools/model_converters/publish_model.py`` convention: the
published file keeps what inference needs (``state_dict`` and ``meta``,
whose ``dataset_meta`` gives the class names and palette to
``init_model`` and ``MMSegInferencer``), drops the optimizer, and is
renamed ``NAME-<first 8 hex digits of its SHA-256>.pth``. Unlike mmseg's
script it also drops mmengine's message hub and the schedulers' states,
and it reads the Runner's checkpoint under
:func:`~mmscribble.utils.mmengine_safe_globals` (mmseg's script fails on
torch >= 2.6). The published file holds only tensors and plain Python
values, so torch's safe unpickler reads it without any allowlist: every
mmseg call loads it as is; :func:`publish_checkpoint` checks that before
it returns.
"""
import hashlib
import os
import os.path as osp

import torch

from mmscribble.utils.checkpoint import mmengine_safe_globals

# What a published checkpoint keeps; everything else a Runner writes
# (optimizer, message_hub, param_schedulers, ...) is training state.
PUBLISHED_KEYS = ('state_dict', 'meta')


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _published_dict(checkpoint, in_file: str) -> dict:
    """The ``state_dict`` and ``meta`` of a loaded checkpoint, checked."""
    if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint:
        raise ValueError(f'{in_file} is not an mmengine checkpoint: it has '
                         'no state_dict')
    meta = checkpoint.get('meta') or {}
    dataset_meta = meta.get('dataset_meta') or {}
    if not dataset_meta.get('classes'):
        raise ValueError(
            f'{in_file} has no meta.dataset_meta.classes: mmseg would label '
            "its predictions with Cityscapes' classes. Publish a checkpoint "
            'written by tools/train.py (the Runner stores the dataset meta).')
    return dict(state_dict=checkpoint['state_dict'], meta=meta)


def publish_checkpoint(in_file: str, out_file: str) -> str:
    """Write the published form of ``in_file`` and return its path.

    Args:
        in_file (str): A checkpoint written by mmengine's Runner
            (``work_dirs/.../iter_N.pth``).
        out_file (str): ``NAME.pth``; the file written is
            ``NAME-<sha256[:8]>.pth`` beside it.

    Returns:
        str: The path of the published file.

    Raises:
        FileNotFoundError: ``in_file`` does not exist.
        ValueError: ``in_file`` has no ``state_dict`` or no
            ``meta.dataset_meta.classes``, or ``out_file`` does not end in
            ``.pth``.
    """
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'checkpoint not found: {in_file}')
    if not out_file.endswith('.pth'):
        raise ValueError(f'out_file must end in .pth, got {out_file!r}')
    with mmengine_safe_globals():
        checkpoint = torch.load(in_file, map_location='cpu')
    published = _published_dict(checkpoint, in_file)
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    torch.save(published, out_file)
    try:
        # No allowlist here: what mmseg's own loaders will do.
        torch.load(out_file, map_location='cpu', weights_only=True)
    except Exception as err:
        os.remove(out_file)
        raise ValueError(
            f'the meta of {in_file} holds objects that torch.load('
            f'weights_only=True) refuses; nothing was published: {err}'
        ) from err
    final = f'{out_file[:-len(".pth")]}-{sha256_of(out_file)[:8]}.pth'
    os.replace(out_file, final)
    return final
