"""CDSP distance maps (Eq. 14, 16): the authors' maps, brute force, data
path (online transform, offline tool, loading, padding)."""
import math
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmseg.registry import MODELS, TRANSFORMS

from mmscribble.datasets import VOCScribbleDataset
from mmscribble.datasets.transforms.distance_maps import (
    CDSPDistanceMaps, brute_force_scaled_distance, pseudo_distance_map,
    pseudo_label_boundary, scale_truncate, scribble_distance_map,
    squared_distance_to)
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.structures import get_map_spec

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STEM = '2007_000032.png'


def run_tool(*argv):
    """Run the offline tool as ``python`` would."""
    path = osp.join(ROOT, 'tools/dataset_converters/cdsp_distance_maps.py')
    with mock.patch.object(sys, 'argv', [path, *argv]):
        runpy.run_path(path, run_name='__main__')


def fixture_maps(root):
    return {
        name: read_label_png(osp.join(root, name, STEM))
        for name in ('pascal_2012_scribble', 'bmp_pseudolabel', 'distance_map',
                     'distance_pseudo')
    }


def test_reproduces_the_authors_maps_exactly(voc_fixture):
    m = fixture_maps(voc_fixture)
    ds = scribble_distance_map(m['pascal_2012_scribble'], lam_s=1)
    dc = pseudo_distance_map(m['bmp_pseudolabel'], lam_c=6)
    assert ds.dtype == dc.dtype == np.uint8
    np.testing.assert_array_equal(ds, m['distance_map'])
    np.testing.assert_array_equal(dc, m['distance_pseudo'])
    # The lambdas are pinned: a step of 0.01 either side changes the maps.
    for lam in (0.99, 1.01):
        assert (scribble_distance_map(m['pascal_2012_scribble'], lam)
                != m['distance_map']).sum() > 10000
    for lam in (5.99, 6.01):
        assert (pseudo_distance_map(m['bmp_pseudolabel'], lam)
                != m['distance_pseudo']).sum() > 1000


def test_hand_worked_values():
    # One foreground scribble pixel at (1, 1); background strokes are not
    # sources. d^2 = 1 -> floor(sqrt(e)) = 1, d^2 = 2 -> floor(2.33) = 2.
    s = np.full((3, 4), 255, np.uint8)
    s[1, 1] = 15
    s[0, 3] = 0
    expect = 255 - np.array([[2, 1, 2, 3], [1, 0, 1, 3], [2, 1, 2, 3]])
    np.testing.assert_array_equal(scribble_distance_map(s, 1.0), expect)
    # lambda = 6: floor(sqrt(e^6 d^2)) = 20, 28, 40, 44 for d^2 = 1, 2, 4, 5
    assert scale_truncate(np.array([[0, 1, 2, 4, 5, 1000]]), 6).tolist() \
        == [[0, 20, 28, 40, 44, 255]]
    # A 3x3 foreground square: its boundary is its 8 outer pixels (the
    # centre has 4 foreground neighbours); ignored pixels are not
    # foreground, and the image edge closes the boundary.
    p = np.zeros((5, 6), np.uint8)
    p[1:4, 1:4] = 7
    p[0, 5] = 255
    b = pseudo_label_boundary(p)
    expect_b = np.zeros((5, 6), bool)
    expect_b[1:4, 1:4] = True
    expect_b[2, 2] = False
    np.testing.assert_array_equal(b, expect_b)
    q = np.zeros((2, 2), np.uint8)
    q[0, 0] = 1
    np.testing.assert_array_equal(
        pseudo_distance_map(q, math.log(4)),
        [[0, 2], [2, 2]])  # sqrt(4 * 2) = 2.83


def test_empty_sources():
    blank = np.full((4, 5), 255, np.uint8)
    assert squared_distance_to(blank == 1) is None
    # no foreground scribble: weight 0 everywhere; no boundary: weight 1
    np.testing.assert_array_equal(scribble_distance_map(blank), 0)
    np.testing.assert_array_equal(pseudo_distance_map(np.zeros((4, 5))), 255)


@pytest.mark.parametrize('lam', [0.0, 1.0, 2.5, 6.0])
def test_edt_equals_brute_force(lam):
    rng = np.random.default_rng(int(lam * 10))
    for density in (0.002, 0.02, 0.3):
        src = rng.random((37, 53)) < density
        src[rng.integers(37), rng.integers(53)] = True
        d2 = squared_distance_to(src)
        np.testing.assert_array_equal(
            scale_truncate(d2, lam), brute_force_scaled_distance(src, lam))
    np.testing.assert_array_equal(
        brute_force_scaled_distance(np.zeros((3, 3), bool), lam), 255)


@pytest.mark.parametrize('bad, match', [
    (dict(lam_s=float('nan')), 'lam_s'),
    (dict(lam_c='6'), 'lam_c'),
    (dict(with_scribble=False, with_pseudo=False), 'nothing to add'),
])
def test_transform_argument_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        CDSPDistanceMaps(**bad)


def test_shape_errors():
    with pytest.raises(ValueError, match='scribble must be a 2-D'):
        scribble_distance_map(np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match='pseudo must be a 2-D'):
        pseudo_distance_map(np.zeros(4))


def test_transform_adds_maps_and_keeps_loaded(voc_fixture):
    m = fixture_maps(voc_fixture)
    t = TRANSFORMS.build(dict(type='CDSPDistanceMaps'))
    results = dict(
        gt_seg_map=m['pascal_2012_scribble'],
        gt_pseudo_seg=m['bmp_pseudolabel'],
        seg_fields=['gt_seg_map', 'gt_pseudo_seg'])
    out = t(results)
    assert out['gt_distance_map'].dtype == np.float32
    np.testing.assert_array_equal(out['gt_distance_map'], m['distance_map'])
    np.testing.assert_array_equal(out['gt_distance_pseudo'],
                                  m['distance_pseudo'])
    assert out['seg_fields'][2:] == ['gt_distance_map', 'gt_distance_pseudo']
    kept = dict(
        gt_seg_map=m['pascal_2012_scribble'],
        gt_distance_map=np.ones((281, 500), np.float32),
        seg_fields=['gt_seg_map'],
        scale_factor=(1, 1))
    out = CDSPDistanceMaps(with_pseudo=False)(kept)
    assert float(out['gt_distance_map'].max()) == 1.0
    assert out['seg_fields'] == ['gt_seg_map', 'gt_distance_map']
    with pytest.raises(ValueError, match='before geometric'):
        CDSPDistanceMaps(with_pseudo=False)(
            dict(gt_seg_map=m['pascal_2012_scribble'], flip=True))
    with pytest.raises(KeyError, match='gt_pseudo_seg'):
        CDSPDistanceMaps(with_scribble=False)(
            dict(gt_seg_map=m['pascal_2012_scribble']))
    assert 'lam_c=6.0' in repr(t)


def pipeline(online):
    steps = [
        dict(type='LoadScribbleImageFromFile'),
        dict(type='LoadScribbleAnnotations'),
        dict(type='PackScribbleInputs'),
    ]
    if online:
        steps.insert(2, dict(type='CDSPDistanceMaps'))
    return steps


def test_tool_loading_and_online_agree(voc_fixture, tmp_path, capsys):
    voc = tmp_path / 'voc'
    voc.mkdir()
    for name in os.listdir(voc_fixture):
        os.symlink(osp.join(voc_fixture, name), voc / name)
    split = osp.join(voc_fixture, 'ImageSets/SegmentationAug/train.txt')
    run_tool(
        str(voc / 'pascal_2012_scribble'), str(voc / 'bmp_pseudolabel'),
        '--split', split, '--out-scribble', str(voc / 'ds'), '--out-pseudo',
        str(voc / 'dc'))
    printed = capsys.readouterr()
    assert 'wrote 1 map(s)' in printed.out
    # A progress bar per output folder (the tool was silent until it ended).
    assert 'ds: 100%' in printed.err and 'dc: 100%' in printed.err
    common = dict(
        data_root=str(voc), ann_file='ImageSets/SegmentationAug/train.txt')
    prefix = dict(
        img_path='JPEGImages',
        seg_map_path='pascal_2012_scribble',
        gt_pseudo_seg='bmp_pseudolabel')
    samples = {
        'online':
        VOCScribbleDataset(
            data_prefix=prefix, pipeline=pipeline(True), **common),
        'tool':
        VOCScribbleDataset(
            data_prefix=dict(
                prefix, gt_distance_map='ds', gt_distance_pseudo='dc'),
            pipeline=pipeline(True),
            **common),
        'authors':
        VOCScribbleDataset(
            data_prefix=dict(
                prefix,
                gt_distance_map='distance_map',
                gt_distance_pseudo='distance_pseudo'),
            pipeline=pipeline(False),
            **common),
    }
    samples = {k: v[0]['data_samples'] for k, v in samples.items()}
    ref = samples['online']
    assert ref.gt_distance_map.data.shape == (1, 281, 500)
    for name, s in samples.items():
        for field in ('gt_distance_map', 'gt_distance_pseudo'):
            assert bool((s.get(field).data == ref.get(field).data).all()), \
                (name, field)


def test_padding_and_rotation_fill_zero(voc_fixture):
    assert get_map_spec('gt_distance_map').fill == 0
    assert get_map_spec('gt_distance_pseudo').fill == 0
    ds = VOCScribbleDataset(
        data_root=voc_fixture,
        ann_file='ImageSets/SegmentationAug/train.txt',
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_pseudo_seg='bmp_pseudolabel'),
        pipeline=[
            dict(type='LoadScribbleImageFromFile'),
            dict(type='LoadScribbleAnnotations'),
            dict(type='CDSPDistanceMaps'),
            dict(type='ScribbleRandomRotate', prob=1.0, degree=30),
            dict(type='ScribbleRandomCrop', crop_size=(320, 320)),
            dict(type='PackScribbleInputs'),
        ])
    np.random.seed(0)
    pre = MODELS.build(dict(type='ScribbleDataPreProcessor', size=(320, 520)))
    data = pre(pseudo_collate([ds[0]]), training=True)
    s = data['data_samples'][0]
    valid = s.gt_valid_mask.data[0].bool()
    # The maps are bilinear and the mask nearest: on the one-pixel rim of
    # a rotated edge the map blends with its fill. Beyond it, all fill.
    near_valid = torch.nn.functional.max_pool2d(
        valid[None, None].float(), 3, stride=1, padding=1)[0, 0].bool()
    assert bool((~near_valid).any()) and bool(valid.any())
    for field in ('gt_distance_map', 'gt_distance_pseudo'):
        m = s.get(field).data[0]
        assert m.shape == (320, 520)
        assert bool((m[~near_valid] == 0).all())
        assert float(m[valid].max()) > 200
