"""VolumeDiceMetric: per-volume 3-D Dice on the original voxel grid, on a
hand-built meta.json and label NIfTIs written in tmp_path."""
import json
import math
import os
import os.path as osp
from unittest import mock

import nibabel as nib
import numpy as np
import pytest
import torch

from mmscribble.evaluation import VolumeDiceMetric, dice_3d


def write_label(root, rel, label):
    path = osp.join(root, rel)
    img = nib.Nifti1Image(label.astype(np.uint8), np.eye(4))
    img.header.set_zooms((1.0, 1.0, 5.0))
    os.makedirs(osp.dirname(path), exist_ok=True)
    nib.save(img, path)


def volume_meta(name, shape, slice_shape, offset=(0, 0), resampled=None):
    """A meta.json entry: slices ``<name>_sliceNN`` along the third axis."""
    return dict(
        split='val',
        shape=list(shape),
        spacing=[1.0, 1.0, 5.0],
        resampled_shape=list(resampled or shape[:2]),
        crop_offset=list(offset),
        slice_shape=list(slice_shape),
        slices=[f'{name}_slice{k:02d}' for k in range(shape[2])],
        label=f'val/labels/{name}_manual.nii.gz')


def make_dataset(tmp_path, labels, metas):
    """Write the label volumes and meta.json; return the metric."""
    root = str(tmp_path / 'nifti')
    for name, label in labels.items():
        write_label(root, metas[name]['label'], label)
    meta = dict(classes=['background', 'RV', 'Myo', 'LV'], volumes=metas)
    meta_file = str(tmp_path / 'meta.json')
    with open(meta_file, 'w') as f:
        json.dump(meta, f)
    return VolumeDiceMetric(meta_file=meta_file, nifti_root=root)


def sample(stem, pred):
    return dict(
        img_path=f'data/img_dir/val/{stem}.png',
        pred_sem_seg=dict(data=torch.as_tensor(pred)[None]))


def feed(metric, volumes):
    """Predictions of every slice; ``volumes`` maps name -> (X, Y, Z)."""
    for name, pred in volumes.items():
        metric.process({}, [
            sample(f'{name}_slice{k:02d}', pred[:, :, k])
            for k in range(pred.shape[2])
        ])


def test_perfect_prediction_gives_one(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, size=(6, 5, 3)).astype(np.uint8)
    metas = dict(subjA_DE=volume_meta('subjA_DE', gt.shape, gt.shape[:2]))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    feed(metric, dict(subjA_DE=gt))
    out = metric.evaluate(size=3)
    for key in ('vol/Dice_RV', 'vol/Dice_Myo', 'vol/Dice_LV', 'vol/mDice3D'):
        assert out[key] == pytest.approx(1.0)
    assert out['vol/num_volumes'] == 1


def test_partial_overlap_hand_computed(tmp_path):
    # Volume A: RV is 8 voxels (two 2x2 squares on two slices); the
    # prediction covers one of them and 4 wrong voxels: Dice 2*4/(8+8).
    # Myo: predicted (4 voxels) but absent from the label: Dice 0.
    # LV: absent from both: left out of the LV mean.
    gt_a = np.zeros((4, 4, 2), np.uint8)
    gt_a[0:2, 0:2, :] = 1
    pred_a = np.zeros_like(gt_a)
    pred_a[0:2, 0:2, 0] = 1
    pred_a[2:4, 2:4, 1] = 1
    pred_a[0:2, 2:4, 0] = 2
    # Volume B: perfect RV, LV of 4 voxels predicted as 2 of them: Dice
    # 2*2/(4+2); Myo absent from both.
    gt_b = np.zeros((4, 4, 2), np.uint8)
    gt_b[3, :, 0] = 1
    gt_b[0:2, 0:2, 1] = 3
    pred_b = gt_b.copy()
    pred_b[0:2, 1, 1] = 0
    metas = {
        name: volume_meta(name, (4, 4, 2), (4, 4))
        for name in ('subjA_DE', 'subjB_DE')
    }
    metric = make_dataset(tmp_path, dict(subjA_DE=gt_a, subjB_DE=gt_b), metas)
    feed(metric, dict(subjA_DE=pred_a, subjB_DE=pred_b))
    out = metric.evaluate(size=4)
    assert out['vol/Dice_RV'] == pytest.approx((0.5 + 1.0) / 2)
    assert out['vol/Dice_Myo'] == pytest.approx(0.0)  # volume A only
    assert out['vol/Dice_LV'] == pytest.approx(2 / 3)  # volume B only
    assert out['vol/mDice3D'] == pytest.approx((0.75 + 0.0 + 2 / 3) / 3)
    assert out['vol/num_volumes'] == 2
    assert math.isnan(dice_3d(pred_a, gt_a, 3))
    # The per-volume values the table tool pairs over volumes.
    per = metric.per_volume
    assert list(per) == ['subjA_DE', 'subjB_DE']
    assert per['subjA_DE']['RV'] == pytest.approx(0.5)
    assert per['subjA_DE']['Myo'] == 0.0
    assert math.isnan(per['subjA_DE']['LV'])
    assert per['subjB_DE']['RV'] == 1.0
    assert math.isnan(per['subjB_DE']['Myo'])
    assert per['subjB_DE']['LV'] == pytest.approx(2 / 3)


def test_restores_the_original_grid(tmp_path):
    # 8x8 voxels resampled to 4x4 and centre-cropped to 2x2 (offset 1):
    # a slice prediction of 1 on the 2x2 crop is pasted into the 4x4
    # resampled slice (background elsewhere) and upsampled by nearest
    # neighbour, i.e. it covers original voxels 2..5 x 2..5.
    gt = np.zeros((8, 8, 1), np.uint8)
    gt[2:6, 2:6, 0] = 1  # 16 voxels, all covered
    gt[0, 0, 0] = 1  # one more outside the crop: missed
    metas = dict(
        subjA_DE=volume_meta(
            'subjA_DE', gt.shape, (2, 2), offset=(1, 1), resampled=(4, 4)))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    feed(metric, dict(subjA_DE=np.ones((2, 2, 1), np.uint8)))
    out = metric.evaluate(size=1)
    assert out['vol/Dice_RV'] == pytest.approx(2 * 16 / (17 + 16))


def test_volumes_without_predictions_are_skipped(tmp_path):
    gt = np.ones((3, 3, 2), np.uint8)
    metas = {
        name: volume_meta(name, gt.shape, gt.shape[:2])
        for name in ('subjA_DE', 'subjB_DE')
    }
    metric = make_dataset(tmp_path, dict(subjA_DE=gt, subjB_DE=gt), metas)
    feed(metric, dict(subjA_DE=gt))
    out = metric.evaluate(size=2)
    assert out['vol/num_volumes'] == 1 and out['vol/Dice_RV'] == 1.0


def test_missing_slice_is_a_clear_error(tmp_path):
    gt = np.ones((3, 3, 3), np.uint8)
    metas = dict(subjA_DE=volume_meta('subjA_DE', gt.shape, gt.shape[:2]))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    metric.process({}, [
        sample('subjA_DE_slice00', gt[:, :, 0]),
        sample('subjA_DE_slice02', gt[:, :, 2])
    ])
    with pytest.raises(ValueError, match=r'subjA_DE.*subjA_DE_slice01'):
        metric.evaluate(size=2)


def test_missing_meta_file_names_it_at_construction(tmp_path):
    # Before any prediction: the Runner builds the metric when the run
    # starts, so a wrong path never costs a training.
    with pytest.raises(
            FileNotFoundError,
            match=r'evaluator\.meta_file: file not found: .*nope'
            r'\.json'):
        VolumeDiceMetric(
            meta_file=str(tmp_path / 'nope.json'), nifti_root=str(tmp_path))
    (tmp_path / 'meta.json').write_text('{}')
    with pytest.raises(
            FileNotFoundError,
            match=r'evaluator\.nifti_root: folder not found: '
            r'.*raw'):
        VolumeDiceMetric(
            meta_file=str(tmp_path / 'meta.json'),
            nifti_root=str(tmp_path / 'raw'))
    with pytest.raises(TypeError, match='meta_file must be a path'):
        VolumeDiceMetric(meta_file=None, nifti_root=str(tmp_path))


def test_meta_file_removed_after_construction_names_it(tmp_path):
    meta = tmp_path / 'meta.json'
    meta.write_text('{}')
    metric = VolumeDiceMetric(meta_file=str(meta), nifti_root=str(tmp_path))
    meta.unlink()
    metric.process({}, [sample('x_slice00', np.zeros((2, 2), np.uint8))])
    with pytest.raises(FileNotFoundError, match='meta.json'):
        metric.evaluate(size=1)


def test_no_matching_volume_is_an_error(tmp_path):
    gt = np.ones((3, 3, 1), np.uint8)
    metas = dict(subjA_DE=volume_meta('subjA_DE', gt.shape, gt.shape[:2]))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    metric.process({}, [sample('other_slice00', gt[:, :, 0])])
    with pytest.raises(ValueError, match='no volume'):
        metric.evaluate(size=1)


def test_class_names_rename_the_keys(tmp_path):
    # The same perfect volume as above, reported under the caller's names
    # instead of meta.json's classes.
    gt = np.array([1, 2, 3, 0], np.uint8).reshape(2, 2, 1)
    metas = dict(subjA_DE=volume_meta('subjA_DE', gt.shape, gt.shape[:2]))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    metric.class_names = ['right', 'myo', 'left']
    feed(metric, dict(subjA_DE=gt))
    out = metric.evaluate(size=1)
    assert {k
            for k in out if k.startswith('vol/Dice_')
            } == {'vol/Dice_right', 'vol/Dice_myo', 'vol/Dice_left'}
    assert out['vol/Dice_left'] == pytest.approx(1.0)


def test_hd95_and_asd_in_mm_on_the_native_grid(tmp_path):
    # The label NIfTIs have 1 x 1 x 5 mm voxels. Volume A: the RV cube
    # 3x3x3 predicted k = 4 slices further along z (HD95 5 k = 20 mm,
    # ASD 5 (k - 1) = 15 mm, worked in test_surface_distance.py); the LV
    # is in the label but not predicted (HD95 / ASD undefined: NaN, left
    # out of the mean and logged); Myo absent from both. Volume B: perfect.
    gt = np.zeros((7, 7, 10), np.uint8)
    gt[2:5, 2:5, 1:4] = 1
    gt[0, 0, 9] = 3
    pred = np.zeros_like(gt)
    pred[2:5, 2:5, 5:8] = 1
    metas = {
        name: volume_meta(name, gt.shape, gt.shape[:2])
        for name in ('subjA_DE', 'subjB_DE')
    }
    metric = make_dataset(tmp_path, dict(subjA_DE=gt, subjB_DE=gt), metas)
    feed(metric, dict(subjA_DE=pred, subjB_DE=gt))
    with mock.patch(
            'mmscribble.evaluation.volume_dice_metric.print_log') as log:
        out = metric.evaluate(size=20)
    assert out['vol/HD95_RV'] == pytest.approx((20.0 + 0.0) / 2)
    assert out['vol/ASD_RV'] == pytest.approx((15.0 + 0.0) / 2)
    assert out['vol/HD95_LV'] == out['vol/ASD_LV'] == 0.0  # volume B only
    assert math.isnan(out['vol/HD95_Myo']) and math.isnan(out['vol/ASD_Myo'])
    assert out['vol/mHD95'] == pytest.approx(5.0)
    assert out['vol/mASD'] == pytest.approx(3.75)
    # Dice keys unchanged beside them.
    assert out['vol/Dice_RV'] == pytest.approx(0.5)
    assert out['vol/Dice_LV'] == pytest.approx(0.5)
    dist = metric.per_volume_distances
    assert dist['subjA_DE']['HD95_RV'] == pytest.approx(20.0)
    assert math.isnan(dist['subjA_DE']['ASD_LV'])
    logged = ' '.join(str(c.args[0]) for c in log.call_args_list)
    assert 'left out of the means: subjA_DE LV' in logged


def test_surface_metrics_can_be_switched_off(tmp_path):
    gt = np.array([1, 2, 3, 0], np.uint8).reshape(2, 2, 1)
    metas = dict(subjA_DE=volume_meta('subjA_DE', gt.shape, gt.shape[:2]))
    metric = make_dataset(tmp_path, dict(subjA_DE=gt), metas)
    metric.surface_metrics = False
    feed(metric, dict(subjA_DE=gt))
    out = metric.evaluate(size=1)
    assert not [k for k in out if 'HD95' in k or 'ASD' in k]
    assert out['vol/mDice3D'] == pytest.approx(1.0)
