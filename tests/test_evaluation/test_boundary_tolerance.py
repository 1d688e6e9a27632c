"""The reference grown and shrunk in-plane by a distance in mm: squares
worked by hand (isotropic and anisotropic pixels), slices kept apart,
the tool's table and its measured-versus-moved rows on a small NIfTI
split."""
import json
import math
import os.path as osp

import numpy as np
import pytest

from mmscribble.evaluation.boundary_tolerance import (boundary_tolerance,
                                                      shift_boundary)


def square(size=30, side=10, depth=1):
    m = np.zeros((size, size, depth), bool)
    lo = (size - side) // 2
    m[lo:lo + side, lo:lo + side, 0] = True
    return m


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def test_square_grown_and_shrunk_by_one_pixel_hand_worked():
    m = square()
    grown = shift_boundary(m, (1.0, 1.0, 5.0), 1.0)
    # within 1 mm of a 10x10 square: its four 10-pixel sides one pixel out
    # (the diagonal neighbours are sqrt(2) away)
    assert grown.sum() == 100 + 4 * 10
    assert dice(grown, m) == pytest.approx(200 / 240)
    shrunk = shift_boundary(m, (1.0, 1.0, 5.0), -1.0)
    # the border pixels are 1 mm from the nearest outside pixel: 8x8 stay
    assert shrunk.sum() == 64
    assert dice(shrunk, m) == pytest.approx(128 / 164)
    assert shift_boundary(m, (1.0, 1.0, 5.0), 0).sum() == 100


def test_anisotropic_pixels_grow_along_the_fine_axis_only():
    m = square()
    # 0.5 mm along axis 0, 2 mm along axis 1: 0.5 mm reaches one row above
    # and below, no column, no diagonal (sqrt(0.25 + 4) mm)
    grown = shift_boundary(m, (0.5, 2.0, 5.0), 0.5)
    assert grown.sum() == 100 + 2 * 10
    assert grown[9, 10:20, 0].all() and grown[20, 10:20, 0].all()
    assert not grown[10:20, 9, 0].any()


def test_slices_are_moved_apart_and_an_empty_slice_stays_empty():
    m = square(depth=3)
    m[12:18, 12:18, 2] = True
    grown = shift_boundary(m, (1.0, 1.0, 1.0), 2.0)
    assert not grown[:, :, 1].any()
    assert grown[:, :, 0].sum() == shift_boundary(
        m[:, :, :1], (1.0, 1.0, 1.0), 2.0).sum()
    # a 6x6 square shrunk by 3 mm: every pixel is at most 3 mm inside
    assert not shift_boundary(m, (1.0, 1.0, 1.0), -3.0)[:, :, 2].any()


def test_a_structure_filling_its_slice_is_not_shrunk():
    m = np.ones((5, 5, 1), bool)
    assert shift_boundary(m, (1.0, 1.0, 1.0), -1.0).all()


def test_thin_ring_loses_more_dice_than_a_disc_of_the_same_area():
    yy, xx = np.mgrid[:101, :101] - 50
    r = np.hypot(yy, xx)
    disc = (r <= 12)[..., None]
    area = disc.sum()
    # a ring of the same area, about 3 pixels wide
    outer = math.sqrt(area / math.pi + 30**2)
    ring = ((r > 30) & (r <= outer))[..., None]
    label = np.zeros((101, 101, 1), np.uint8)
    out_disc = boundary_tolerance(disc.astype(np.uint8), (1, 1, 1), {'d': 1},
                                  [1.0])
    label[ring] = 1
    out_ring = boundary_tolerance(label, (1, 1, 1), {'r': 1}, [1.0])
    assert out_ring['r']['grow'][0] < out_disc['d']['grow'][0] - 0.2
    assert out_ring['r']['shrink'][0] < out_disc['d']['shrink'][0] - 0.2


def test_tolerance_per_structure_absent_is_nan_and_bad_input_is_named():
    label = square().astype(np.uint8) * 2
    out = boundary_tolerance(label, (1.0, 1.0, 5.0), {'A': 1, 'B': 2},
                             [1.0, 2.0])
    assert all(math.isnan(v) for v in out['A']['grow'] + out['A']['shrink'])
    assert out['B']['grow'][0] == pytest.approx(200 / 240)
    assert out['B']['shrink'][0] == pytest.approx(128 / 164)
    with pytest.raises(ValueError, match='distances must be positive'):
        boundary_tolerance(label, (1.0, 1.0, 5.0), {'B': 2}, [0.0])
    with pytest.raises(ValueError, match=r'\(X, Y, Z\)'):
        shift_boundary(label[..., 0], (1.0, 1.0), 1.0)
    with pytest.raises(ValueError, match='two positive in-plane'):
        shift_boundary(label, (1.0, 0.0, 5.0), 1.0)


def test_tool_table_and_a_run_moved_by_its_own_asd(tmp_path, capsys):
    nib = pytest.importorskip('nibabel')
    from tools.analysis_tools.boundary_tolerance import main
    label = square().astype(np.uint8)
    nib.save(nib.Nifti1Image(label, np.eye(4)),
             str(tmp_path / 'v1_manual.nii.gz'))
    meta = dict(
        classes=['background', 'A'],
        volumes={
            'v1': dict(split='val', label='v1_manual.nii.gz'),
            't1': dict(split='train', label='missing.nii.gz')
        })
    with open(tmp_path / 'meta.json', 'w') as f:
        json.dump(meta, f)
    with open(tmp_path / 'result.json', 'w') as f:
        json.dump(
            dict(
                per_volume={'v1': {
                    'A': 0.5
                }},
                per_volume_distances={'v1': {
                    'ASD_A': 1.0
                }}), f)
    out = main([
        str(tmp_path / 'meta.json'), '--nifti-root',
        str(tmp_path), '--mm', '1', '--results',
        str(tmp_path / 'result.json'), '--out',
        str(tmp_path / 'o.json')
    ])
    assert out['mean']['A']['grow'] == [pytest.approx(200 / 240)]
    run = out['runs'][str(tmp_path / 'result.json')]['A']
    assert run['dice'] == 0.5 and run['asd'] == 1.0
    assert run['grown'] == pytest.approx(200 / 240)
    assert run['shrunk'] == pytest.approx(128 / 164)
    assert osp.isfile(tmp_path / 'o.json')
    assert '| A | 0.833 | 0.780 |' in capsys.readouterr().out
    with pytest.raises(ValueError, match="no volume of split 'test'"):
        main([
            str(tmp_path / 'meta.json'), '--nifti-root',
            str(tmp_path), '--split', 'test'
        ])
