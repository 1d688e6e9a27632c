"""The registry of per-pixel maps: table rows, register_map, and a map
registered by a test flowing from disk to the batched data samples."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmscribble.datasets import VOCScribbleDataset
from mmscribble.datasets.transforms.cues import BOUNDARY_MAP
from mmscribble.models import ScribbleDataPreProcessor
from mmscribble.structures import (FIELD_TO_SPEC, SCRIBBLE_MAPS, MapSpec,
                                   get_map_spec, register_map)
from mmscribble.structures import maps as maps_module

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROBE = dict(
    key='gt_probe_map',
    field='gt_probe',
    fill=77,
    interp='nearest',
    dtype=np.uint8)


@pytest.fixture
def restore_maps():
    """Give the test the registry; put back exactly what was there.

    Yields a callable that restores it early (to check the map is gone);
    teardown restores again, so a failing test leaves nothing registered.
    """
    saved = (dict(maps_module._MAPS), dict(maps_module._FIELDS))

    def restore():
        # In place: loaders, transforms and the preprocessor hold views of
        # these very dicts.
        for table, rows in zip((maps_module._MAPS, maps_module._FIELDS),
                               saved):
            table.clear()
            table.update(rows)

    yield restore
    restore()
    assert dict(SCRIBBLE_MAPS) == saved[0]


def test_table_rows_and_cue_registration():
    expect = {
        'gt_seg_map': ('gt_sem_seg', 255, 'nearest', np.uint8),
        'gt_valid_mask': ('gt_valid_mask', 0, 'nearest', np.uint8),
        'gt_boundary_map': ('gt_boundary_map', 255, 'nearest', np.uint8),
        'gt_pseudo_seg': ('gt_pseudo_seg', 255, 'nearest', np.uint8),
        'gt_distance_map': ('gt_distance_map', 0, 'bilinear', np.float32),
        'gt_superpixel': ('gt_superpixel', -1, 'nearest', np.int32),
    }
    for key, (field, fill, interp, dtype) in expect.items():
        spec = SCRIBBLE_MAPS[key]
        assert (spec.field, spec.fill, spec.interp, spec.dtype) == \
            (field, fill, interp, dtype)
        assert FIELD_TO_SPEC[field] is spec
        assert get_map_spec(key) is spec and get_map_spec(field) is spec
    # The boundary map is declared beside SLICBoundaries, not in the table.
    assert SCRIBBLE_MAPS['gt_boundary_map'] is BOUNDARY_MAP
    assert len(SCRIBBLE_MAPS) == len(FIELD_TO_SPEC)
    with pytest.raises(TypeError):
        SCRIBBLE_MAPS['gt_seg_map'] = BOUNDARY_MAP
    with pytest.raises(TypeError):
        FIELD_TO_SPEC['gt_other'] = BOUNDARY_MAP
    with pytest.raises(KeyError, match='register_map'):
        get_map_spec('gt_nothing')


def test_boundary_map_registered_on_any_import():
    # A process that only imports mmscribble.structures still sees the map
    # that cues.py registers (the package __init__ imports the transforms),
    # and importing twice changes nothing.
    code = ('import importlib, mmscribble.structures as s; '
            'before = dict(s.SCRIBBLE_MAPS); '
            'importlib.import_module("mmscribble"); '
            'import mmscribble.datasets.transforms.cues; '
            'assert dict(s.SCRIBBLE_MAPS) == before; '
            'print(sorted(s.SCRIBBLE_MAPS))')
    out = subprocess.run([sys.executable, '-c', code],
                         cwd=ROOT,
                         capture_output=True,
                         text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split('\n')[-2] == str(
        sorted([
            'gt_boundary_map', 'gt_distance_map', 'gt_pseudo_seg',
            'gt_seg_map', 'gt_superpixel', 'gt_valid_mask',
            'gt_distance_pseudo'
        ]))


def test_register_forms_and_idempotence(restore_maps):
    before = dict(SCRIBBLE_MAPS)
    spec = register_map(**PROBE)
    assert isinstance(spec, MapSpec)
    assert SCRIBBLE_MAPS['gt_probe_map'] is spec
    assert FIELD_TO_SPEC['gt_probe'] is spec
    assert get_map_spec('gt_probe') is spec
    # The same declaration again, in any form, returns the registered spec.
    assert register_map(**PROBE) is spec
    assert register_map(MapSpec(**PROBE)) is spec
    assert register_map(dict(PROBE, dtype='uint8', fill=77.0)) is spec
    assert len(SCRIBBLE_MAPS) == len(before) + 1
    # cues.py's declaration, repeated, is harmless too.
    assert register_map(BOUNDARY_MAP) is BOUNDARY_MAP
    assert register_map(
        key='gt_boundary_map',
        field='gt_boundary_map',
        fill=255,
        interp='nearest',
        dtype='uint8') is BOUNDARY_MAP
    restore_maps()
    assert dict(SCRIBBLE_MAPS) == before
    assert 'gt_probe' not in FIELD_TO_SPEC
    with pytest.raises(KeyError, match='gt_probe_map'):
        get_map_spec('gt_probe_map')


def test_conflicting_registration_is_refused(restore_maps):
    spec = register_map(**PROBE)
    before = dict(SCRIBBLE_MAPS)
    # Same key, another fill: no silent override.
    with pytest.raises(ValueError, match="'gt_probe_map' is already"):
        register_map(dict(PROBE, fill=0))
    with pytest.raises(ValueError, match="'gt_probe_map' is already"):
        register_map(dict(PROBE, interp='bilinear'))
    with pytest.raises(ValueError, match="'gt_boundary_map' is already"):
        register_map(
            dict(
                key='gt_boundary_map',
                field='gt_boundary_map',
                fill=0,
                interp='nearest',
                dtype=np.uint8))
    # Another key on a registered field.
    with pytest.raises(ValueError, match="field 'gt_probe'"):
        register_map(dict(PROBE, key='gt_probe_two'))
    with pytest.raises(ValueError, match="field 'gt_sem_seg'"):
        register_map(dict(PROBE, key='gt_scribbles', field='gt_sem_seg'))
    # A key that is another map's field: get_map_spec would be ambiguous.
    with pytest.raises(ValueError, match='collides'):
        register_map(dict(PROBE, key='gt_sem_seg', field='gt_new'))
    with pytest.raises(ValueError, match='collides'):
        register_map(dict(PROBE, key='gt_new', field='gt_seg_map'))
    assert dict(SCRIBBLE_MAPS) == before
    assert SCRIBBLE_MAPS['gt_probe_map'] is spec


def test_invalid_declarations_name_the_argument(restore_maps):
    before = dict(SCRIBBLE_MAPS)
    bad = [
        (dict(interp='cubic'), 'interp'),
        (dict(dtype='complex64'), 'dtype'),
        (dict(dtype=None), 'dtype'),
        (dict(dtype='not_a_dtype'), 'dtype'),
        (dict(fill=300), 'fill'),
        (dict(fill=-1), 'fill'),
        (dict(fill=1.5, dtype=np.int32), 'fill'),
        (dict(fill=float('nan')), 'fill'),
        (dict(fill='255'), 'fill'),
        (dict(key='gt probe'), 'key'),
        (dict(field=3), 'field'),
    ]
    for change, name in bad:
        with pytest.raises(ValueError, match=name):
            register_map(**dict(PROBE, **change))
    with pytest.raises(TypeError, match='not both'):
        register_map(MapSpec(**PROBE), key='gt_probe_map')
    with pytest.raises(TypeError, match='needs'):
        register_map()
    with pytest.raises(TypeError, match='MapSpec or a dict'):
        register_map(('gt_probe_map', 'gt_probe', 77, 'nearest', np.uint8))
    assert dict(SCRIBBLE_MAPS) == before
    # A float map may use any fill.
    assert register_map(
        dict(PROBE, fill=-2.5, dtype=np.float32,
             interp='bilinear')).fill == -2.5


def probe_of(img_bgr):
    """A per-pixel function of the image that never takes the fill 77."""
    return (img_bgr[..., 1] // 4).astype(np.uint8)


def test_registered_map_flows_from_disk_to_the_batch(voc_fixture, tmp_path,
                                                     restore_maps):
    register_map(**PROBE)
    root = str(tmp_path / 'voc')
    shutil.copytree(voc_fixture, root)
    stem = '2007_000032'
    img = cv2.imread(osp.join(root, 'JPEGImages', stem + '.jpg'))
    os.makedirs(osp.join(root, 'probe'))
    cv2.imwrite(osp.join(root, 'probe', stem + '.png'), probe_of(img))
    pipeline = [
        dict(type='LoadScribbleImageFromFile'),
        dict(type='LoadScribbleAnnotations'),
        dict(type='ScribbleRandomFlip', prob=1.0),
        dict(type='ScribbleRandomCrop', crop_size=(200, 320)),
        dict(type='PackScribbleInputs'),
    ]
    cfg = dict(
        data_root=root,
        ann_file='ImageSets/SegmentationAug/train.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_probe_map='probe'),
        pipeline=pipeline)
    ds = VOCScribbleDataset(**cfg)
    np.random.seed(0)
    batch = pseudo_collate([ds[0], ds[0]])
    pre = ScribbleDataPreProcessor(
        mean=[0, 0, 0], std=[1, 1, 1], bgr_to_rgb=False, size=(256, 384))
    data = pre(batch, training=True)
    x = data['inputs']
    assert tuple(x.shape) == (2, 3, 256, 384)
    for b, sample in enumerate(data['data_samples']):
        assert 'gt_probe_map' not in sample  # packed under its field
        probe = sample.gt_probe.data
        assert probe.dtype == torch.uint8
        probe = probe[0].numpy()
        valid = sample.gt_valid_mask.data[0].numpy()
        assert probe.shape == valid.shape == (256, 384)
        assert valid[:200, :320].all() and not valid[200:].any() and \
            not valid[:, 320:].any()
        # Inside the crop: the function of the flipped, cropped image.
        img_in = x[b].numpy().transpose(1, 2, 0)[:200, :320]
        np.testing.assert_array_equal(
            probe[:200, :320], probe_of(img_in.round().astype(np.uint8)))
        # Batch padding: the map's own fill, not gt_sem_seg's 255 nor 0.
        assert (probe[200:] == 77).all() and (probe[:, 320:] == 77).all()
        assert sample.metainfo['flip'] is True
    # Once the map is gone, the same dataset is refused with its key.
    restore_maps()
    with pytest.raises(KeyError, match='gt_probe_map'):
        VOCScribbleDataset(**cfg)
