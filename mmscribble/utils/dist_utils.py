"""Make mmengine's distributed path work on CPU-only torch (gloo).

mmengine 0.10.7 assumes a GPU per process: ``init_dist`` calls
``torch.cuda.set_device``, the Runner wraps the model with
``device_ids=[LOCAL_RANK]`` (which DDP rejects for CPU modules), and SyncBN
refuses CPU tensors. :func:`setup_cpu_distributed` fixes all three *only*
when torch has no CUDA, so GPU users keep nccl + SyncBN untouched.
"""
import os
from typing import Any

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log


def replace_sync_bn(node: Any) -> Any:
    """Return a copy of a config node with every ``SyncBN`` made ``BN``."""
    if isinstance(node, dict):
        out = type(node)() if not isinstance(node, Config) else {}
        for k, v in node.items():
            out[k] = replace_sync_bn(v)
        if out.get('type') == 'SyncBN':
            out['type'] = 'BN'
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(replace_sync_bn(v) for v in node)
    return node


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare ``cfg`` and the process group for DDP on CPU with gloo.

    Does nothing (returns False) when ``cfg.launcher`` is 'none' or CUDA is
    available. Otherwise initializes the default process group with the
    gloo backend from the torchrun environment (``RANK``, ``WORLD_SIZE``,
    ``MASTER_ADDR``, ``MASTER_PORT``) before the Runner exists, so the
    Runner's ``init_dist`` is skipped; sets ``model_wrapper_cfg`` with
    ``device_ids=None``; and turns SyncBN into BN. Returns True.

    Raises:
        RuntimeError: for a launcher other than 'pytorch' on CPU, or when
            the torchrun environment variables are missing.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'CPU-only distributed training supports --launcher pytorch '
            f'(tools/dist_train.sh), not {launcher!r}')
    missing = [
        k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT')
        if k not in os.environ
    ]
    if missing:
        raise RuntimeError(
            f'--launcher pytorch needs {missing} in the environment; start '
            'the job with tools/dist_train.sh (torchrun)')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(
            backend='gloo',
            rank=int(os.environ['RANK']),
            world_size=int(os.environ['WORLD_SIZE']))
    cfg.model = replace_sync_bn(cfg.model)
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    print_log(
        'CPU-only torch: DDP over gloo, device_ids=None, SyncBN -> BN '
        f'(rank {os.environ["RANK"]} of {os.environ["WORLD_SIZE"]})',
        logger='current')
    return True


def teardown_distributed() -> None:
    """Destroy the default process group, if any, before the process exits.

    Left to interpreter shutdown, gloo's background threads can be torn
    down mid-flight ("terminate called without an active exception",
    SIGABRT) after training has finished; torch also asks for an explicit
    ``destroy_process_group`` with nccl.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
