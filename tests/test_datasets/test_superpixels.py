"""FelzenszwalbSuperpixels (SPML over-segmentation) and its cache tool."""
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

from mmscribble.datasets.transforms.loading import (LoadScribbleImageFromFile,
                                                    read_label_png)
from mmscribble.datasets.transforms.superpixels import compute_felzenszwalb
from mmscribble.structures import get_map_spec

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FIXTURE = osp.join(ROOT, 'tests/data/voc_scribble_fixture/JPEGImages')


def run_tool(*argv):
    """Run the cache tool as ``python`` would."""
    path = osp.join(ROOT,
                    'tools/dataset_converters/superpixels_felzenszwalb.py')
    with mock.patch.object(sys, 'argv', [path, *argv]):
        runpy.run_path(path, run_name='__main__')


def test_two_colour_image_gives_two_regions():
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, 15:] = 255
    sp = compute_felzenszwalb(img, scale=100, sigma=0, min_size=5)
    assert sp.dtype == np.int32 and sp.max() == 1
    assert (sp[:, :15] == sp[0, 0]).all() and (sp[:, 15:] == sp[0, -1]).all()
    with pytest.raises(ValueError, match='scale'):
        compute_felzenszwalb(img, scale=0)


def test_transform_adds_map_and_keeps_loaded():
    t = TRANSFORMS.build(
        dict(type='FelzenszwalbSuperpixels', sigma=0, min_size=20))
    img = np.zeros((20, 30, 3), np.uint8)
    img[:, 15:] = 255
    out = t(dict(img=img, seg_fields=['gt_seg_map']))
    assert out['seg_fields'] == ['gt_seg_map', 'gt_superpixel']
    assert out['gt_superpixel'].max() == 1
    assert get_map_spec('gt_superpixel').fill == -1
    loaded = np.full((20, 30), 7, np.int32)
    out = t(dict(img=img, gt_superpixel=loaded, seg_fields=[]))
    assert out['gt_superpixel'] is loaded
    with pytest.raises(ValueError, match='before geometric'):
        t(dict(img=img, flip=True))
    assert 'min_size=20' in repr(t)


def test_cache_tool_matches_transform(tmp_path):
    run_tool(FIXTURE, str(tmp_path))
    # Region ids are 0..R-1: R = max + 1 per cached map.
    made = np.array([
        int(read_label_png(str(p)).max()) + 1
        for p in sorted(tmp_path.glob('*.png'))
    ])
    assert len(made) == 2 and (made >= 20).all() and (made <= 100).all()
    stem = '2007_000032'
    cached = read_label_png(str(tmp_path / f'{stem}.png')).astype(np.int32)
    img = LoadScribbleImageFromFile()(
        dict(img_path=osp.join(FIXTURE, stem + '.jpg')))['img']
    assert np.array_equal(cached, compute_felzenszwalb(img))
