# Copyright (c) mmscribble contributors. All rights reserved.
"""The datasets and file lists that offline tools run over: a config's
split (``<split>_dataloader``) as a dataset, and the stems of split files
or of a folder."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import mmcv
from mmengine import fileio


def split_dataset_cfg(cfg, split: str):
    """A copy of the dataset config of ``cfg.<split>_dataloader``.

    Raises:
        ValueError: the config has no such dataloader with a dataset; the
            message names the splits it has.
    """
    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if not loader or not loader.get('dataset'):
        have = sorted(k[:-len('_dataloader')] for k in cfg.keys()
                      if k.endswith('_dataloader') and cfg.get(k)
                      and cfg.get(k).get('dataset'))
        raise ValueError(f'--split {split}: the config has no {key} with a '
                         f'dataset (splits it has: {", ".join(have)})')
    return loader.dataset.copy()


def build_split_dataset(cfg,
                        split: str,
                        pipeline: Optional[list] = None,
                        drop_prefixes: Sequence[str] = ()):
    """Build the dataset of ``cfg.<split>_dataloader`` in mmseg's registry
    (the config's default scope).

    Args:
        cfg (Config): A full config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        pipeline (list, optional): Replaces the dataset's pipeline.
        drop_prefixes (Sequence[str]): ``data_prefix`` keys removed (e.g. a
            folder a tool is about to write).
    """
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    ds_cfg = split_dataset_cfg(cfg, split)
    if pipeline is not None:
        ds_cfg.pipeline = pipeline
    if drop_prefixes:
        prefix = dict(ds_cfg.data_prefix)
        for key in drop_prefixes:
            prefix.pop(key, None)
        ds_cfg.data_prefix = prefix
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    return DATASETS.build(ds_cfg)


def read_split_files(splits: Sequence[str]) -> List[str]:
    """The stems of split files (one per line), in order, without
    repeats; a missing file raises ``FileNotFoundError``."""
    stems = []
    for split in splits:
        if not osp.isfile(split):
            raise FileNotFoundError(f'split file not found: {split}')
        with open(split) as f:
            stems += [line.strip() for line in f if line.strip()]
    return list(dict.fromkeys(stems))


def list_stems(folder: str,
               splits: Optional[Sequence[str]] = None,
               suffix: str = '.png',
               check_files: bool = False) -> List[str]:
    """Stems of the split files (in order, without repeats), else of the
    files of ``folder`` ending in ``suffix`` (sorted).

    Args:
        folder (str): Folder of the files.
        splits (Sequence[str], optional): Split files, one stem per line.
        suffix (str): File suffix. Default: ``'.png'``.
        check_files (bool): With ``splits``, raise if a listed file is
            missing from ``folder``. Default: False.

    Raises:
        FileNotFoundError: a split file, the folder or (``check_files``) a
            listed file does not exist.
        ValueError: nothing to process.
    """
    if splits:
        stems = read_split_files(splits)
        missing = [
            s for s in stems if not osp.isfile(osp.join(folder, s + suffix))
        ] if check_files else []
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} images listed by {splits} are missing from '
                f'{folder}, e.g. {missing[0] + suffix}')
    elif not osp.isdir(folder):
        raise FileNotFoundError(f'folder not found: {folder}')
    else:
        stems = sorted(name[:-len(suffix)] for name in os.listdir(folder)
                       if name.endswith(suffix))
    if not stems:
        raise ValueError(f'no image to process in {folder} (suffix '
                         f'{suffix!r}, splits {splits})')
    return stems


def read_image(path: str):
    """Decode a BGR image exactly as ``LoadScribbleImageFromFile`` does."""
    img = mmcv.imfrombytes(fileio.get(path), flag='color', backend='cv2')
    if img is None:
        raise ValueError(f'cannot decode image {path}')
    return img
