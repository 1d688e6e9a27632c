"""Scribbles from dense masks: branch cutting, loops, width, length
fraction, background band, seeds, the thin tool, and the statistics that
compare them with expert scribbles."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import nibabel as nib
import numpy as np
import pytest

from mmscribble.datasets.converters.masks_to_scribbles import (
    ScribbleParams, masks_to_scribbles, region_stroke, skeleton_tree_path)
from mmscribble.datasets.converters.scribble_stats import (format_table,
                                                           mscmr_comparison,
                                                           slice_stats,
                                                           summarize)
from mmscribble.datasets.converters.scribble_variants import file_rng
from mmscribble.datasets.label_io import read_label_png, write_label_png

ROOT = osp.dirname(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
NO_BG = dict(background='none', rim=0.0, min_area=1)


def ring(size=80, r0=20, r1=28):
    y, x = np.mgrid[:size, :size]
    r = np.hypot(y - size // 2, x - size // 2)
    return (r > r0) & (r < r1)


def test_branch_cutting_keeps_the_longest_path():
    # A T: a 41-pixel bar (row 10, cols 5..45) and a 10-pixel stub down
    # from its middle. The path is the bar; the stub is cut.
    skel = np.zeros((30, 50), bool)
    skel[10, 5:46] = True
    skel[11:21, 25] = True
    path, arc = skeleton_tree_path(skel)
    assert {tuple(p) for p in path} == {(10, x) for x in range(5, 46)}
    assert arc[0] == 0 and arc[-1] == pytest.approx(40.0)
    assert np.all(np.diff(arc) > 0)


def test_a_loop_is_opened_not_halved():
    # The two-sweep longest path of a closed loop is half of it; the
    # spanning tree opens it at one step and keeps the rest.
    m = ring()
    stroke = region_stroke(m, width=1)
    from skimage.morphology import skeletonize
    n_skel = skeletonize(m).sum()
    assert stroke.sum() >= n_skel - 2


def test_width_and_centred_length_fraction():
    # A 9x61 bar (padded by 2): medial axis row 6, bending to the corners
    # at its ends. Width 3 gives rows 5..7 along the straight part; half
    # the length keeps the centre.
    bar = np.zeros((9, 61), bool)
    bar[:, :] = True
    pad = np.pad(bar, 2)
    full = region_stroke(pad, width=3)
    rows = np.nonzero(full[:, 15:50].any(1))[0]
    assert rows.tolist() == [5, 6, 7]
    half = region_stroke(pad, width=3, length_fraction=0.5)
    cols = np.nonzero(half.any(0))[0]
    full_cols = np.nonzero(full.any(0))[0]
    assert len(cols) == pytest.approx(len(full_cols) / 2, abs=2)
    centre = (full_cols[0] + full_cols[-1]) / 2
    assert (cols[0] + cols[-1]) / 2 == pytest.approx(centre, abs=1)
    assert not (half & ~full).any() and not (full & ~pad).any()


def test_classes_regions_min_area_and_unlabeled():
    mask = np.zeros((60, 60), np.uint8)
    mask[5:25, 5:25] = 1
    mask[35:55, 5:25] = 1  # a second region of class 1
    mask[30:50, 35:55] = 2
    mask[0:3, 57:60] = 3  # 9 pixels: below min_area
    mask[58:60, 0:2] = 255
    out = masks_to_scribbles(mask, ScribbleParams(**dict(NO_BG, min_area=20)))
    assert set(np.unique(out)) == {1, 2, 255}
    for c in (1, 2):
        assert np.all(mask[out == c] == c)  # strokes stay in their region
    from scipy import ndimage as ndi
    assert ndi.label(out == 1, np.ones((3, 3)))[1] == 2


def test_background_band_and_modes():
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 40:60] = 1
    params = ScribbleParams(rim=0.0, band=(5, 15), background_width=3)
    out = masks_to_scribbles(mask, params)
    from scipy import ndimage as ndi
    dist = ndi.distance_transform_edt(mask == 0)
    bg = out == 0
    assert bg.sum() > 100
    assert dist[bg].min() > 5 and dist[bg].max() <= 15
    none = masks_to_scribbles(mask, ScribbleParams(background='none'))
    assert not (none == 0).any()
    full = masks_to_scribbles(mask, ScribbleParams(background='full'))
    assert (full == 0).any()
    # No foreground: no band, no background stroke.
    assert (masks_to_scribbles(np.zeros_like(mask), params) == 255).all()


def test_seeds():
    mask = ring().astype(np.uint8) * 2
    rand = ScribbleParams(
        position='random',
        length_fraction=0.3,
        **{
            k: v
            for k, v in NO_BG.items()
        })
    a = masks_to_scribbles(mask, rand, file_rng(0, 'x'))
    b = masks_to_scribbles(mask, rand, file_rng(0, 'x'))
    c = masks_to_scribbles(mask, rand, file_rng(1, 'x'))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    centre = ScribbleParams(length_fraction=0.3, **NO_BG)
    np.testing.assert_array_equal(
        masks_to_scribbles(mask, centre, file_rng(0, 'x')),
        masks_to_scribbles(mask, centre, file_rng(1, 'x')))
    with pytest.raises(ValueError, match='random generator'):
        masks_to_scribbles(mask, rand)


@pytest.mark.parametrize('bad, match', [
    (dict(length_fraction=0), 'length_fraction'),
    (dict(min_area=0), 'min_area'),
    (dict(band=(5, 5)), 'band'),
    (dict(background='ring'), 'background'),
    (dict(width=0), 'width'),
])
def test_bad_params(bad, match):
    with pytest.raises(ValueError, match=match):
        ScribbleParams(**bad)


def test_tool_writes_a_folder(tmp_path, capsys):
    src = tmp_path / 'dense'
    mask = np.zeros((64, 64), np.uint8)
    mask[20:40, 20:40] = 1
    write_label_png(mask, str(src / 'a.png'))
    path = osp.join(ROOT, 'tools/dataset_converters/masks_to_scribbles.py')
    argv = [path, str(src), str(tmp_path / 'out'), '--band', '3', '10']
    with mock.patch.object(sys, 'argv', argv):
        runpy.run_path(path, run_name='__main__')
    assert 'wrote 1 scribble PNGs' in capsys.readouterr().out
    out = read_label_png(str(tmp_path / 'out/a.png'))
    np.testing.assert_array_equal(
        out, masks_to_scribbles(mask, ScribbleParams(band=(3, 10))))
    assert set(np.unique(out)) == {0, 1, 255}


def test_slice_stats_hand_worked():
    scrib = np.full((10, 10), 255, np.uint8)
    scrib[2, 1:9] = 1  # an 8-pixel line: skeleton 8
    scrib[6:8, 1:5] = 1  # a 2x4 block
    mask = np.zeros((10, 10), np.uint8)
    mask[1:9, 0:10] = 1
    rows = slice_stats(scrib, 3, mask=mask)
    assert rows[1, :4].tolist()[:3] == [1, 16, 2]
    assert rows[1, 4:].tolist() == [80, 1, 1]
    assert rows[2].tolist() == [0] * 7
    summary = summarize(rows, ['bg', 'a', 'b'])
    assert summary['a']['coverage'] == pytest.approx(16 / 80)
    assert summary['a']['strokes'] == 2
    assert summary['a']['width'] == pytest.approx(16 / rows[1, 3])
    assert np.isnan(summary['b']['px/slice'])


def write_nifti(path, vol):
    os.makedirs(osp.dirname(path), exist_ok=True)
    nib.save(nib.Nifti1Image(vol.astype(np.uint8), np.eye(4)), path)


def test_mscmr_comparison_on_a_tiny_root(tmp_path):
    scrib = np.full((40, 40, 2), 4, np.uint8)
    scrib[10, 5:25, 0] = 1
    scrib[30, 5:35, 1] = 0
    dense = np.zeros((40, 40, 1), np.uint8)
    dense[10:30, 10:30, 0] = 3
    write_nifti(str(tmp_path / 'train/labels/s1_DE_scribble.nii.gz'), scrib)
    write_nifti(str(tmp_path / 'val/labels/s2_DE_manual.nii.gz'), dense)
    res = mscmr_comparison(str(tmp_path), ScribbleParams(band=(2, 6)))
    assert res['expert']['RV']['px/slice'] == 20
    assert res['expert']['background']['strokes'] == 1
    gen = res['generated']['LV']
    assert 0 < gen['coverage'] < 1 and gen['strokes'] == 1
    assert '| LV |' in format_table(res)
