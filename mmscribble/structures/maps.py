"""The one table of per-pixel maps a scribble sample can carry.

Every stage of the data path (loading, cue transforms, geometric transforms,
packing, batching) reads this table, so a method that needs a new map adds a
row here instead of touching five files. See ``docs/conventions.md``.
"""
from dataclasses import dataclass
from typing import Dict

import numpy as np


@dataclass(frozen=True)
class MapSpec:
    """How a per-pixel map is stored and moved.

    Args:
        key (str): Key in the pipeline ``results`` dict.
        field (str): Field name in ``SegDataSample`` after packing.
        fill (int | float): Value written where the map has no data: padding,
            and corners brought in by rotation.
        interp (str): ``'nearest'`` for labels, masks and ids (never blend
            two class ids into a third), ``'bilinear'`` for continuous maps.
        dtype (type): numpy dtype the map is kept in.
    """
    key: str
    field: str
    fill: float
    interp: str
    dtype: type


SCRIBBLE_MAPS: Dict[str, MapSpec] = {
    spec.key: spec
    for spec in (
        # Scribbles in training (255 = unlabeled), dense GT in evaluation.
        MapSpec('gt_seg_map', 'gt_sem_seg', 255, 'nearest', np.uint8),
        # 1 on real image pixels, 0 on padding and rotated-in corners: the
        # only way to tell "unlabeled" from "not part of the image".
        MapSpec('gt_valid_mask', 'gt_valid_mask', 0, 'nearest', np.uint8),
        # SLIC pseudo-boundaries (URSS): 0 interior, 1 boundary,
        # 255 excluded.
        MapSpec('gt_boundary_map', 'gt_boundary_map', 255, 'nearest',
                np.uint8),
        # Pseudo-labels (CDSP, self-training): 255 = no label.
        MapSpec('gt_pseudo_seg', 'gt_pseudo_seg', 255, 'nearest', np.uint8),
        # Distance maps (CDSP).
        MapSpec('gt_distance_map', 'gt_distance_map', 0, 'bilinear',
                np.float32),
        # Over-segmentation ids (SPML): -1 = no segment.
        MapSpec('gt_superpixel', 'gt_superpixel', -1, 'nearest', np.int32),
    )
}

FIELD_TO_SPEC: Dict[str, MapSpec] = {
    spec.field: spec
    for spec in SCRIBBLE_MAPS.values()
}


def get_map_spec(key: str) -> MapSpec:
    """Look a map up by its results key or its data-sample field name.

    Raises:
        KeyError: naming the unknown key and the known ones.
    """
    if key in SCRIBBLE_MAPS:
        return SCRIBBLE_MAPS[key]
    if key in FIELD_TO_SPEC:
        return FIELD_TO_SPEC[key]
    raise KeyError(f'unknown per-pixel map {key!r}; known maps: '
                   f'{sorted(SCRIBBLE_MAPS)} (add a row to SCRIBBLE_MAPS in '
                   'mmscribble/structures/maps.py)')
