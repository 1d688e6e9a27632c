"""Datasets that read scribble label maps (training) or dense masks (eval).

A split file lists one sample stem per line. Training reads
``seg_map_path`` = the scribble PNGs (class id on scribble pixels, 255 =
unlabeled); validation points the same key at dense masks. Extra per-pixel
maps (SLIC boundaries, pseudo-labels, distance maps, ...) are named in
``data_prefix`` by their key in :data:`mmscribble.structures.SCRIBBLE_MAPS`
(for example ``data_prefix=dict(img_path='JPEGImages',
seg_map_path='pascal_2012_scribble', gt_boundary_map='slic_800')``) and are
read by :class:`LoadScribbleAnnotations`.
"""
import os.path as osp
from typing import List, Optional

import mmengine
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from mmscribble.structures import SCRIBBLE_MAPS
from .label_io import CLASS_ID_MAPS, check_label_file
from .metainfo import (CONTEXT_CLASSES, CONTEXT_PALETTE, VOC_CLASSES,
                       VOC_PALETTE)

__all__ = [
    'ScribbleDataset', 'VOCScribbleDataset', 'PascalContextScribbleDataset',
    'VOC_CLASSES', 'VOC_PALETTE', 'CONTEXT_CLASSES', 'CONTEXT_PALETTE'
]


@DATASETS.register_module()
class ScribbleDataset(BaseSegDataset):
    """Generic scribble dataset: a split file and folders of PNG maps.

    Used directly for any dataset in the layout ``data_root/img_dir``,
    ``data_root/ann_dir`` and a split file (MSCMR, the embedded synthetic
    shapes); the VOC and Context subclasses only change defaults.

    Args:
        check_files (str | None): What to verify when the dataset is built,
            before any training step: ``'exist'`` (default) checks that every
            image, label and extra map listed by the split exists; ``'full'``
            also decodes every label and every class-id map (pseudo-labels,
            ``label_io.CLASS_ID_MAPS``) and checks its size against the
            image and its class ids against ``metainfo['classes']``; ``None``
            skips checks. ``'full'`` is slow on large datasets: run it once
            on new data, e.g. ``tools/train.py CONFIG --cfg-options
            train_dataloader.dataset.check_files=full
            val_dataloader.dataset.check_files=full``, which fails when the
            datasets are built, before the first iteration.
        **kwargs: Everything :class:`BaseSegDataset` takes. Keys of
            ``data_prefix`` that name a map in ``SCRIBBLE_MAPS`` add that map
            to every sample.
    """

    METAINFO: dict = dict()

    def __init__(self, *args, check_files: Optional[str] = 'exist', **kwargs):
        if check_files not in ('exist', 'full', None):
            raise ValueError("check_files must be 'exist', 'full' or None, "
                             f'got {check_files!r}')
        classes = (kwargs.get('metainfo')
                   or {}).get('classes') or self.METAINFO.get('classes')
        if not classes:
            raise ValueError(
                f'{type(self).__name__} needs the class names: pass '
                "metainfo=dict(classes=('background', ...))")
        self.check_files = check_files
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        extra = {
            k: v
            for k, v in self.data_prefix.items()
            if k in SCRIBBLE_MAPS and k != 'gt_seg_map'
        }
        unknown = set(
            self.data_prefix) - set(extra) - {'img_path', 'seg_map_path'}
        if unknown:
            raise KeyError(
                f'data_prefix has unknown keys {sorted(unknown)}; use '
                f"'img_path', 'seg_map_path' or a map key from "
                f'{sorted(SCRIBBLE_MAPS)}')
        if not self.ann_file:
            raise ValueError(
                f'{type(self).__name__} needs a split file (ann_file): one '
                'sample stem per line')
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'split file not found: {self.ann_file}')
        stems = [
            line.strip() for line in mmengine.list_from_file(self.ann_file)
            if line.strip()
        ]
        if not stems:
            raise ValueError(f'split file {self.ann_file} lists no samples')
        num_classes = len(self.metainfo['classes'] or ())
        img_dir = self.data_prefix.get('img_path', '')
        ann_dir = self.data_prefix.get('seg_map_path', '')
        data_list = []
        for stem in stems:
            info = dict(
                img_path=osp.join(img_dir, stem + self.img_suffix),
                seg_map_path=osp.join(ann_dir, stem + self.seg_map_suffix),
                label_map=self.label_map,
                reduce_zero_label=self.reduce_zero_label,
                num_classes=num_classes,
                seg_fields=[],
                map_paths={
                    k: osp.join(d, stem + '.png')
                    for k, d in extra.items()
                })
            data_list.append(info)
        if self.check_files:
            self._check(data_list)
        return data_list

    def _check(self, data_list: List[dict]) -> None:
        missing = []
        for info in data_list:
            paths = [info['img_path'], info['seg_map_path']]
            paths += list(info['map_paths'].values())
            missing += [p for p in paths if not osp.isfile(p)]
        if missing:
            shown = '\n  '.join(missing[:10])
            more = f'\n  ... and {len(missing) - 10} more' \
                if len(missing) > 10 else ''
            raise FileNotFoundError(
                f'{len(missing)} file(s) listed by split {self.ann_file} do '
                f'not exist:\n  {shown}{more}')
        if self.check_files == 'full':
            for info in data_list:
                check_label_file(
                    info['seg_map_path'],
                    num_classes=info['num_classes'],
                    img_path=info['img_path'])
                for key, path in info['map_paths'].items():
                    if key in CLASS_ID_MAPS:
                        check_label_file(
                            path,
                            num_classes=info['num_classes'],
                            img_path=info['img_path'])


class _PascalScribbleDataset(ScribbleDataset):
    """A PASCAL layout: ``JPEGImages/*.jpg`` and ``SCRIBBLE_DIR/*.png``.

    Args:
        data_prefix (dict, optional): Folders under ``data_root``. None
            means ``dict(img_path='JPEGImages', seg_map_path=SCRIBBLE_DIR)``.
        **kwargs: See :class:`ScribbleDataset`.
    """
    SCRIBBLE_DIR = ''

    def __init__(self,
                 img_suffix='.jpg',
                 seg_map_suffix='.png',
                 data_prefix=None,
                 **kwargs):
        if data_prefix is None:
            data_prefix = dict(
                img_path='JPEGImages', seg_map_path=self.SCRIBBLE_DIR)
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            data_prefix=data_prefix,
            **kwargs)


@DATASETS.register_module()
class VOCScribbleDataset(_PascalScribbleDataset):
    """PASCAL VOC 2012 with ScribbleSup scribbles.

    Layout (``data_root = VOCdevkit/VOC2012``)::

        JPEGImages/*.jpg
        pascal_2012_scribble/*.png      scribbles (train), from
                                        tools/dataset_converters/scribblesup.py
        SegmentationClassAug/*.png      dense masks (SBD-augmented)
        ImageSets/SegmentationAug/{train_aug,val}.txt
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)
    SCRIBBLE_DIR = 'pascal_2012_scribble'


@DATASETS.register_module()
class PascalContextScribbleDataset(_PascalScribbleDataset):
    """PASCAL-Context (59 classes + background) with ScribbleSup scribbles.

    Layout (``data_root = VOCdevkit/VOC2010``)::

        JPEGImages/*.jpg
        pascal_context_scribble/*.png   scribbles (train)
        SegmentationClassContext/*.png  dense masks, 0 = background
        ImageSets/SegmentationContext/{train,val}.txt
    """
    METAINFO = dict(classes=CONTEXT_CLASSES, palette=CONTEXT_PALETTE)
    SCRIBBLE_DIR = 'pascal_context_scribble'
