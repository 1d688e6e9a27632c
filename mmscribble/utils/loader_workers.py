# Copyright (c) mmscribble contributors. All rights reserved.
"""Data loader workers that fit the machine.

The VOC configs ask for 4 loader workers per process (mmseg's setting for
a GPU node); on a machine with fewer usable cores every run warns
(torch's ``DataLoader`` compares ``num_workers`` with the cores of
``os.sched_getaffinity``) and the extra workers only compete for the
cores. :func:`cap_loader_workers` lowers each ``*_dataloader.num_workers``
that exceeds the usable cores to that number, never below 1 (mmengine
refuses ``persistent_workers=True`` with 0 workers), and logs one line.
It runs on the final config, so a ``--cfg-options
train_dataloader.num_workers=N`` above the cores is capped too; a value
at or below the cores (``0`` included) is kept as given.
"""
import logging
import os
from typing import Dict, Optional, Sequence

from mmengine.logging import print_log

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def usable_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity``, as
    torch's worker check counts them; ``os.cpu_count()`` where the
    platform has no affinity call), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def cap_loader_workers(cfg,
                       cores: Optional[int] = None,
                       loaders: Sequence[str] = LOADERS,
                       logger: str = 'current') -> Dict[str, int]:
    """Lower every loader's ``num_workers`` above ``cores`` to ``cores``.

    Args:
        cfg (Config | dict): A run config; changed in place.
        cores (int, optional): Usable cores; default :func:`usable_cores`.
            Values below 1 count as 1.
        loaders (Sequence[str]): The loader keys to look at; a key the
            config lacks, or sets to ``None``, is skipped.
        logger (str): mmengine logger name for the one log line.

    Returns:
        dict[str, int]: ``{loader key: num_workers it had}`` for every
        loader that was capped (empty when none was).
    """
    cap = max(1, int(usable_cores() if cores is None else cores))
    capped = {}
    for key in loaders:
        loader = cfg.get(key) if hasattr(cfg, 'get') else None
        if not hasattr(loader, 'get'):
            continue
        workers = loader.get('num_workers', 0)
        if isinstance(workers, int) and workers > cap:
            loader['num_workers'] = cap
            capped[key] = workers
    if capped:
        was = ', '.join(f'{k}.num_workers={v}' for k, v in capped.items())
        print_log(
            f'{was} lowered to {cap}: this process has {cap} usable '
            f'core(s) (the cap applies to --cfg-options values too)',
            logger=logger,
            level=logging.WARNING)
    return capped
