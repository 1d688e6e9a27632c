"""The one table of per-pixel maps a scribble sample can carry.

Every stage of the data path (loading, cue transforms, geometric transforms,
packing, batching) reads this table, so a method that needs a new map
declares it once instead of touching five files:

* maps of the core data path and the maps announced for the coming
  methods (``docs/conventions.md``) are rows of the table below;
* a map that a cue transform computes is declared beside that transform
  with :func:`register_map` (``SLICBoundaries`` and ``gt_boundary_map`` in
  ``mmscribble/datasets/transforms/cues.py``), so that reading the
  transform shows how its map is padded and resized.

Registration is idempotent for an identical declaration and refuses a
conflicting one: there is no override, so two methods cannot silently
disagree on how a map is padded. :data:`SCRIBBLE_MAPS` and
:data:`FIELD_TO_SPEC` are read-only views of the registry.
"""
from dataclasses import dataclass
from types import MappingProxyType
from typing import Dict, Mapping, Optional, Union

import numpy as np

INTERPOLATIONS = ('nearest', 'bilinear')


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
        dtype (type): numpy dtype the map is kept in (a scalar type such as
            ``np.uint8``; a name such as ``'uint8'`` is converted).

    Raises:
        ValueError: naming the argument that cannot describe a map.
    """
    key: str
    field: str
    fill: float
    interp: str
    dtype: type

    def __post_init__(self) -> None:
        for name in ('key', 'field'):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.isidentifier():
                raise ValueError(f'MapSpec {name} must be a Python '
                                 f'identifier string, got {value!r}')
        if self.interp not in INTERPOLATIONS:
            raise ValueError(f'MapSpec interp must be one of '
                             f'{INTERPOLATIONS}, got {self.interp!r} (map '
                             f'{self.key!r})')
        try:
            # np.dtype(None) would be float64: a missing dtype is an error.
            if self.dtype is None:
                raise TypeError
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise ValueError(f'MapSpec dtype must be a numpy dtype, got '
                             f'{self.dtype!r} (map {self.key!r})') from None
        if dtype.kind not in 'uif':
            raise ValueError(f'MapSpec dtype must be an integer or float '
                             f'dtype, got {dtype} (map {self.key!r})')
        # Frozen: normalise 'uint8' / np.dtype('uint8') to np.uint8 so that
        # equal declarations compare equal.
        object.__setattr__(self, 'dtype', dtype.type)
        fill = self.fill
        if isinstance(fill, bool) or not isinstance(fill,
                                                    (int, float, np.number)):
            raise ValueError(f'MapSpec fill must be a number, got {fill!r} '
                             f'(map {self.key!r})')
        if dtype.kind in 'ui':
            info = np.iinfo(dtype)
            if not float(fill).is_integer() or \
                    not info.min <= fill <= info.max:
                raise ValueError(
                    f'MapSpec fill {fill!r} of map {self.key!r} is not a '
                    f'value of {dtype} ({info.min}..{info.max}): padding '
                    'would write a different value')


# Rows of the core data path and of the announced methods' maps. Maps that
# a cue transform adds are registered beside the transform.
_MAPS: Dict[str, MapSpec] = {
    spec.key: spec
    for spec in (
        # Scribbles in training (255 = unlabeled), dense GT in evaluation.
        MapSpec('gt_seg_map', 'gt_sem_seg', 255, 'nearest', np.uint8),
        # 1 on real image pixels, 0 on padding and rotated-in corners: the
        # only way to tell "unlabeled" from "not part of the image".
        MapSpec('gt_valid_mask', 'gt_valid_mask', 0, 'nearest', np.uint8),
        # Pseudo-labels (CDSP, self-training): 255 = no label.
        MapSpec('gt_pseudo_seg', 'gt_pseudo_seg', 255, 'nearest', np.uint8),
        # Distance maps (CDSP).
        MapSpec('gt_distance_map', 'gt_distance_map', 0, 'bilinear', np.float32
                ),
        # Over-segmentation ids (SPML): -1 = no segment.
        MapSpec('gt_superpixel', 'gt_superpixel', -1, 'nearest', np.int32),
    )
}
_FIELDS: Dict[str, MapSpec] = {spec.field: spec for spec in _MAPS.values()}

#: Every registered map by its results key (read-only view).
SCRIBBLE_MAPS: Mapping[str, MapSpec] = MappingProxyType(_MAPS)
#: Every registered map by its ``SegDataSample`` field (read-only view).
FIELD_TO_SPEC: Mapping[str, MapSpec] = MappingProxyType(_FIELDS)


def register_map(spec: Optional[Union[MapSpec, Mapping]] = None,
                 **kwargs) -> MapSpec:
    """Declare a per-pixel map to every stage of the data path.

    Call it at import time of the module whose transform adds the map, e.g.
    ``register_map(key='gt_boundary_map', field='gt_boundary_map',
    fill=255, interp='nearest', dtype=np.uint8)``. Registering the same
    declaration again (a second import, two transforms adding the same map)
    changes nothing.

    Args:
        spec (MapSpec | dict, optional): The map, or a dict of the
            :class:`MapSpec` arguments.
        **kwargs: The :class:`MapSpec` arguments, instead of ``spec``.

    Returns:
        MapSpec: The registered spec.

    Raises:
        TypeError: both or neither of ``spec`` and keyword arguments.
        ValueError: the spec is invalid, or its key or field is already
            registered with a different spec (naming both).
    """
    if spec is not None and kwargs:
        raise TypeError('register_map takes a MapSpec (or dict) or keyword '
                        'arguments, not both')
    if spec is None:
        if not kwargs:
            raise TypeError('register_map needs a MapSpec or the keyword '
                            'arguments key, field, fill, interp, dtype')
        spec = MapSpec(**kwargs)
    elif isinstance(spec, Mapping):
        spec = MapSpec(**spec)
    elif not isinstance(spec, MapSpec):
        raise TypeError('register_map takes a MapSpec or a dict, got '
                        f'{type(spec).__name__}')
    existing = _MAPS.get(spec.key)
    if existing == spec:
        return existing
    if existing is not None:
        raise ValueError(
            f'map {spec.key!r} is already registered as {existing}; '
            f'refusing to re-register it as {spec}. Use another key, or '
            'make the two declarations agree')
    clash = _FIELDS.get(spec.field)
    if clash is not None:
        raise ValueError(
            f'field {spec.field!r} of map {spec.key!r} is already the field '
            f'of map {clash.key!r} ({clash}): two maps cannot share a '
            'SegDataSample field')
    # get_map_spec looks names up as keys first, then as fields: a key that
    # is another map's field (or the reverse) would make it ambiguous.
    if spec.key in _FIELDS or spec.field in _MAPS:
        other = _FIELDS.get(spec.key) or _MAPS[spec.field]
        raise ValueError(
            f'map {spec.key!r} (field {spec.field!r}) collides with map '
            f'{other.key!r} (field {other.field!r}): a key of one map cannot '
            'be the field of another')
    _MAPS[spec.key] = spec
    _FIELDS[spec.field] = spec
    return spec


def get_map_spec(key: str) -> MapSpec:
    """Look a map up by its results key or its data-sample field name.

    Raises:
        KeyError: naming the unknown key and the known ones.
    """
    if key in _MAPS:
        return _MAPS[key]
    if key in _FIELDS:
        return _FIELDS[key]
    raise KeyError(f'unknown per-pixel map {key!r}; known maps: '
                   f'{sorted(_MAPS)} (add a row to SCRIBBLE_MAPS in '
                   'mmscribble/structures/maps.py, or call register_map '
                   'beside the transform that adds the map)')
