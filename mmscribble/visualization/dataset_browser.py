# Copyright (c) mmscribble contributors. All rights reserved.
"""Pictures of a dataset's samples: labels (scribbles or dense masks) over
the images, with a class legend (``tools/analysis_tools/browse_dataset.py``).

mmseg's ``browse_dataset.py`` reads the class-level ``METAINFO``, which a
``ScribbleDataset`` leaves empty (its classes come from the config's
``metainfo``); this reads the built dataset's ``metainfo``.
"""
import os
import os.path as osp
from typing import List, Optional

import mmcv
import numpy as np

from .drawing import overlay, save_rgb
from .legend import with_legend

SPLITS = ('train', 'val', 'test')


def build_split(config, split: str, cfg_options: Optional[dict] = None):
    """The dataset of ``<split>_dataloader`` of a config, built as the
    Runner would (``custom_imports`` and the default scope applied).

    Args:
        config (str | Config): The config or its path.
        split (str): One of :data:`SPLITS`.
        cfg_options (dict, optional): Overrides merged into the config
            (``--cfg-options``).
    """
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import DATASETS
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    loader = cfg.get(f'{split}_dataloader')
    if not loader:
        raise ValueError(f'the config has no {split}_dataloader')
    return DATASETS.build(loader.dataset)


def browse_samples(dataset,
                   out_dir: str,
                   num: int = 0,
                   opacity: float = 0.7) -> List[str]:
    """Write ``out_dir/<stem>.png`` for the first ``num`` samples (0: all):
    the label map over the image (unlabeled pixels untouched) and a legend
    of the classes the label contains.

    Args:
        dataset: A built ``ScribbleDataset`` (or any ``BaseSegDataset``
            whose ``metainfo`` has classes and palette).
        out_dir (str): Output folder (created).
        num (int): How many samples; 0 means all.
        opacity (float): Weight of the class colours.

    Returns:
        list[str]: The files written.
    """
    from mmscribble.datasets.label_io import read_label_png
    classes = dataset.metainfo['classes']
    palette = dataset.metainfo['palette']
    count = len(dataset) if num <= 0 else min(num, len(dataset))
    written = []
    for i in range(count):
        info = dataset.get_data_info(i)
        img = mmcv.imread(info['img_path'], channel_order='rgb')
        if img is None:
            raise ValueError(f'cannot decode image {info["img_path"]}')
        label = read_label_png(info['seg_map_path'])
        ids = [c for c in np.unique(label) if c < len(classes)]
        picture = overlay(img, label, palette, alpha=opacity)
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        path = osp.join(out_dir, stem + '.png')
        os.makedirs(out_dir, exist_ok=True)
        save_rgb(path, with_legend(picture, classes, palette, ids))
        written.append(path)
    return written
