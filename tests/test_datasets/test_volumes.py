"""Volume I/O and slice geometry: NIfTI, meta.json, slices -> voxel grid."""
import json

import numpy as np
import pytest

from mmscribble.datasets import volumes
from mmscribble.datasets.converters import mscmr
from mmscribble.datasets.volumes import (centre_offset, load_meta, load_nifti,
                                         resampled_size, resize_nearest,
                                         restore_slice, restore_volume,
                                         shift_window)


def write_nifti(path, data, spacing):
    import nibabel as nib
    affine = np.diag(list(spacing) + [1.0])
    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_geometry_helpers():
    assert resampled_size((400, 480), (0.75, 0.7291), 1.367) == (219, 256)
    assert centre_offset((219, 200), (212, 212)) == (3, -6)
    arr = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(
        shift_window(arr, (2, 2), (1, 1), -1), [[5, 6], [9, 10]])
    np.testing.assert_array_equal(
        shift_window(arr, (5, 2), (-1, 0), -1),
        [[-1, -1], [0, 1], [4, 5], [8, 9], [-1, -1]])
    # Nearest resize keeps pixel centres aligned: 2x down then up.
    np.testing.assert_array_equal(
        resize_nearest(np.arange(8)[None], (1, 4)), [[1, 3, 5, 7]])


def test_resampled_size_rounds_and_checks():
    # 10 px at 0.5 mm to 1 mm: 5 px; 3 px at 0.1 mm: 0.3 -> at least 1.
    assert resampled_size((10, 3), (0.5, 0.1), 1.0) == (5, 1)
    # Round half up: 5 * 0.9 / 1.0 = 4.5 -> 5.
    assert resampled_size((5, 5), (0.9, 0.9), 1.0) == (5, 5)
    with pytest.raises(ValueError, match='target_spacing'):
        resampled_size((10, 10), (1.0, 1.0), 0)


def test_resize_nearest_upsamples_by_repetition():
    np.testing.assert_array_equal(
        resize_nearest(np.array([[1, 2], [3, 4]], np.uint8), (4, 4)),
        [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])


def test_load_nifti(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    write_nifti(tmp_path / 'v.nii.gz', data, (0.5, 0.75, 5.0))
    vol, spacing, affine = load_nifti(str(tmp_path / 'v.nii.gz'))
    np.testing.assert_array_equal(vol, data)
    assert spacing == (0.5, 0.75, 5.0)
    np.testing.assert_array_equal(affine, np.diag([0.5, 0.75, 5.0, 1.0]))
    with pytest.raises(FileNotFoundError, match='missing.nii.gz'):
        load_nifti(str(tmp_path / 'missing.nii.gz'))
    (tmp_path / 'bad.nii.gz').write_bytes(b'not a nifti')
    with pytest.raises(ValueError, match='bad.nii.gz'):
        load_nifti(str(tmp_path / 'bad.nii.gz'))
    write_nifti(tmp_path / 'flat.nii.gz', data[0], (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match=r'3-D volume.*\(3, 4\)'):
        load_nifti(str(tmp_path / 'flat.nii.gz'))


def test_load_meta(tmp_path):
    meta = dict(classes=['background', 'RV'], volumes=dict(v=dict(a=1)))
    (tmp_path / 'meta.json').write_text(json.dumps(meta))
    assert load_meta(str(tmp_path / 'meta.json')) == meta


def test_restore_undoes_crop_and_resampling():
    # A 4x6 slice grid, resampled 2x to 8x12, centre-cropped to 6x8.
    entry = dict(
        shape=[4, 6, 2],
        resampled_shape=[8, 12],
        crop_offset=list(centre_offset((8, 12), (6, 8))),
        slice_shape=[6, 8])
    assert entry['crop_offset'] == [1, 2]
    original = np.arange(48, dtype=np.uint8).reshape(4, 6, 2)
    preds = []
    for k in range(2):
        resampled = resize_nearest(original[:, :, k], (8, 12))
        preds.append(shift_window(resampled, (6, 8), (1, 2), 0))
    restored = restore_volume(preds, entry, fill=255)
    assert restored.shape == (4, 6, 2) and restored.dtype == np.uint8
    # Original pixel k samples resampled pixel 2k + 1; the crop keeps
    # resampled rows 1..6 and columns 2..9: original rows 0..2, columns
    # 1..4.
    np.testing.assert_array_equal(restored[:3, 1:5], original[:3, 1:5])
    assert (restored[3] == 255).all()
    assert (restored[:, 0] == 255).all() and (restored[:, 5] == 255).all()
    np.testing.assert_array_equal(
        restore_slice(preds[1], entry, fill=255), restored[:, :, 1])
    # A (Z, h, w) array works as well as a list.
    np.testing.assert_array_equal(
        restore_volume(np.stack(preds), entry, fill=255), restored)
    with pytest.raises(ValueError, match='1 slice predictions.*2 slices'):
        restore_volume(preds[:1], entry)
    with pytest.raises(ValueError, match='slice shape'):
        restore_slice(preds[0][:5], entry)


def test_converter_re_exports_the_runtime_functions():
    for name in ('load_nifti', 'load_meta', 'restore_slice', 'restore_volume',
                 'resampled_size', 'centre_offset', 'resize_nearest',
                 'shift_window'):
        assert getattr(mscmr, name) is getattr(volumes, name)
