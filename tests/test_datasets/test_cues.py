"""SLIC pseudo-boundaries: the function, the transform, the offline tool."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmseg.registry import MODELS, TRANSFORMS

from mmscribble.datasets import VOCScribbleDataset
from mmscribble.datasets.transforms import (SLICBoundaries,
                                            compute_slic_boundaries)
from mmscribble.datasets.transforms.loading import read_label_png

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
URSS_CFG = osp.join(ROOT, 'configs/urss/urss_r50.py')


def run_tool(*argv):
    """Run the offline tool as ``python`` would."""
    path = osp.join(ROOT, 'tools/dataset_converters/slic_boundaries.py')
    with mock.patch.object(sys, 'argv', [path, *argv]):
        runpy.run_path(path, run_name='__main__')


def two_colour_image(h=20, w=40):
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :w // 2] = (0, 0, 255)  # red in BGR
    img[:, w // 2:] = (255, 0, 0)  # blue
    return img


def test_two_superpixels_split_at_the_colour_edge():
    bmap = compute_slic_boundaries(two_colour_image(), n_segments=2)
    assert bmap.dtype == np.uint8 and bmap.shape == (20, 40)
    expect = np.zeros((20, 40), np.uint8)
    expect[:, 19:21] = 1  # 'thick': both sides of the edge
    np.testing.assert_array_equal(bmap, expect)
    inner = compute_slic_boundaries(
        two_colour_image(), n_segments=2, mode='inner')
    assert inner.sum() == 20  # one column, on one side


def test_voc_image_map_is_binary_and_deterministic(voc_fixture):
    img = mmcv.imread(osp.join(voc_fixture, 'JPEGImages/2007_000032.jpg'))
    bmap = compute_slic_boundaries(img)
    assert bmap.shape == img.shape[:2]
    assert set(np.unique(bmap)) == {0, 1}
    # ~800 superpixels of ~176 px with 2-px thick boundaries
    assert 0.2 < bmap.mean() < 0.45
    np.testing.assert_array_equal(bmap, compute_slic_boundaries(img.copy()))
    np.testing.assert_array_equal(
        bmap, compute_slic_boundaries(img.astype(np.float32)))
    coarse = compute_slic_boundaries(img, n_segments=100)
    assert coarse.mean() < bmap.mean()
    gray = compute_slic_boundaries(img[..., 1])
    assert gray.shape == img.shape[:2]


@pytest.mark.parametrize('kwargs, match', [
    (dict(n_segments=0), 'n_segments'),
    (dict(compactness=0), 'compactness'),
    (dict(max_num_iter=0), 'max_num_iter'),
    (dict(mode='both'), 'mode'),
    (dict(connectivity=3), 'connectivity'),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compute_slic_boundaries(two_colour_image(), **kwargs)
    with pytest.raises(ValueError, match=match):
        SLICBoundaries(**kwargs)
    with pytest.raises(ValueError, match='img_bgr'):
        compute_slic_boundaries(np.zeros((4, 4, 2), np.uint8))


def test_transform_adds_map_to_seg_fields():
    t = TRANSFORMS.build(dict(type='SLICBoundaries', n_segments=2))
    img = two_colour_image()
    results = t(dict(img=img, seg_fields=['gt_seg_map']))
    assert results['seg_fields'] == ['gt_seg_map', 'gt_boundary_map']
    np.testing.assert_array_equal(results['gt_boundary_map'],
                                  compute_slic_boundaries(img, n_segments=2))
    assert 'n_segments=2' in repr(t)
    with pytest.raises(ValueError, match='before geometric'):
        t(dict(img=img, scale_factor=(2.0, 2.0)))
    # A map loaded from disk (data_prefix) is kept: no SLIC, no order check.
    loaded = np.zeros((20, 40), np.uint8)
    results = t(
        dict(
            img=img,
            gt_boundary_map=loaded,
            seg_fields=['gt_seg_map', 'gt_boundary_map']))
    assert results['gt_boundary_map'] is loaded
    assert results['seg_fields'] == ['gt_seg_map', 'gt_boundary_map']


def train_pipeline(slic):
    pipeline = [
        dict(type='LoadScribbleImageFromFile'),
        dict(type='LoadScribbleAnnotations'),
        dict(type='PackScribbleInputs'),
    ]
    if slic:
        pipeline.insert(2, dict(type='SLICBoundaries'))
    return pipeline


def test_offline_tool_equals_transform(voc_fixture, tmp_path, capsys):
    # The dataset reads every folder from one data_root: link the fixture's.
    voc = tmp_path / 'voc'
    voc.mkdir()
    for name in os.listdir(voc_fixture):
        os.symlink(osp.join(voc_fixture, name), voc / name)
    out = voc / 'slic_800'
    split = osp.join(voc_fixture, 'ImageSets/SegmentationAug/train.txt')
    run_tool(osp.join(voc_fixture, 'JPEGImages'), str(out), '--split', split)
    assert 'wrote 1 boundary maps' in capsys.readouterr().out
    assert sorted(os.listdir(out)) == ['2007_000032.png']
    common = dict(
        data_root=str(voc), ann_file='ImageSets/SegmentationAug/train.txt')
    offline = VOCScribbleDataset(
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_boundary_map='slic_800'),
        pipeline=train_pipeline(slic=False),
        **common)[0]['data_samples']
    online = VOCScribbleDataset(
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='pascal_2012_scribble'),
        pipeline=train_pipeline(slic=True),
        **common)[0]['data_samples']
    # The URSS pipeline keeps SLICBoundaries: with the maps on disk it
    # keeps them (checked on a map the transform would not compute).
    both = VOCScribbleDataset(
        data_prefix=dict(
            img_path='JPEGImages',
            seg_map_path='pascal_2012_scribble',
            gt_boundary_map='pascal_2012_scribble'),
        pipeline=train_pipeline(slic=True),
        **common)[0]['data_samples']
    torch.testing.assert_close(both.gt_boundary_map.data,
                               both.gt_sem_seg.data.to(torch.uint8))
    a = offline.gt_boundary_map.data
    b = online.gt_boundary_map.data
    assert a.shape == b.shape == (1, 281, 500)
    assert bool((a == b).all()) and 0 < float(a.float().mean()) < 1
    # Both folders: every stem once; --skip-existing keeps written maps.
    val = osp.join(voc_fixture, 'ImageSets/SegmentationAug/val.txt')
    run_tool(
        osp.join(voc_fixture, 'JPEGImages'), str(out), '--split', split,
        '--split', val, '--skip-existing', '--n-segments', '50')
    assert 'wrote 1 boundary maps' in capsys.readouterr().out
    np.testing.assert_array_equal(
        read_label_png(str(out / '2007_000032.png')), a[0].numpy())
    with pytest.raises(FileNotFoundError, match='split file'):
        run_tool(str(out), str(out), '--split', str(out / 'nope.txt'))
    with pytest.raises(ValueError, match='no image'):
        run_tool(str(out), str(tmp_path / 'x'))


def test_urss_pipeline_moves_boundaries_and_pads_with_255(voc_fixture):
    cfg = Config.fromfile(URSS_CFG)
    cfg.train_dataloader.dataset.data_root = voc_fixture
    ds_cfg = cfg.train_dataloader.dataset
    ds = VOCScribbleDataset(**{k: v for k, v in ds_cfg.items() if k != 'type'})
    np.random.seed(3)
    batch = pseudo_collate([ds[0], ds[0], ds[0]])
    pre = MODELS.build(cfg.model.data_preprocessor)
    data = pre(batch, training=True)
    assert tuple(data['inputs'].shape[-2:]) == (465, 465)
    padded = 0
    for s in data['data_samples']:
        bmap = s.gt_boundary_map.data[0]
        valid = s.gt_valid_mask.data[0].bool()
        assert bmap.shape == (465, 465)
        # padding and rotated-in corners are excluded, real pixels are 0/1
        assert bool((bmap[~valid] == 255).all())
        assert set(bmap[valid].unique().tolist()) == {0, 1}
        padded += int((~valid).any())
    assert padded  # the seed gives at least one crop smaller than 465
