"""Pseudo-label sources for CDSP: a segmentor's predictions written as
PNGs, and the mIoU of pseudo-labels against dense ground truth."""
import os
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.evaluation.confusion import class_scores, confusion_matrix
from mmscribble.evaluation.pseudo_label_miou import pseudo_label_miou

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')


def save_random_model(model_cfg, path):
    """Build ``model_cfg`` from seed 0 and save it as a checkpoint at
    ``path`` (the tools need one; what it predicts does not matter)."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


@pytest.fixture
def demo_checkpoint(tmp_path):
    return save_random_model(
        Config.fromfile(DEMO).model, str(tmp_path / 'model.pth'))


def run_tool(name, argv):
    """Run ``tools/dataset_converters/<name>.py`` with ``argv`` as its
    command line."""
    path = osp.join(ROOT, 'tools/dataset_converters', name + '.py')
    with mock.patch.object(sys, 'argv', [path] + [str(a) for a in argv]):
        runpy.run_path(path, run_name='__main__')


def test_miou_against_a_numpy_reference(voc_fixture, capsys):
    pseudo = read_label_png(
        osp.join(voc_fixture, 'bmp_pseudolabel/2007_000032.png'))
    gt = read_label_png(
        osp.join(voc_fixture, 'SegmentationClassAug/2007_000032.png'))
    keep = gt != 255
    ious = []
    for c in range(21):
        p, g = (pseudo == c) & keep, (gt == c) & keep
        if (p | g).any():
            ious.append((p & g).sum() / (p | g).sum())
    pseudo_dir = osp.join(voc_fixture, 'bmp_pseudolabel')
    gt_dir = osp.join(voc_fixture, 'SegmentationClassAug')
    run_tool('pseudo_label_miou', [pseudo_dir, gt_dir, '--num-classes', '21'])
    assert 'mIoU: 44.01' in capsys.readouterr().out
    miou = pseudo_label_miou(pseudo_dir, gt_dir, 21)['miou']
    assert miou == pytest.approx(100 * np.mean(ious))
    # ground truth against itself; an abstaining pixel counts as wrong
    conf = confusion_matrix(gt, gt, 21)
    assert np.nanmean(class_scores(conf)['iou']) == 1
    holes = gt.copy()
    holes[gt == 0] = 255
    iou = class_scores(confusion_matrix(holes, gt, 21))['iou']
    assert iou[0] == 0 and iou[1] == 1
    with pytest.raises(ValueError, match='size'):
        confusion_matrix(gt[:5], gt, 21)


def test_segmentor_predictions_as_pseudo_labels(synthetic_root, tmp_path,
                                                demo_checkpoint, capsys):
    ckpt = demo_checkpoint
    opts = [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={synthetic_root}', '--limit', '2'
    ]
    plain, over = str(tmp_path / 'plain'), str(tmp_path / 'over')
    run_tool('segmentor_pseudo_labels', [DEMO, ckpt, plain] + opts)
    run_tool('segmentor_pseudo_labels',
             [DEMO, ckpt, over, '--scribble-override'] + opts)
    # A progress bar (the tool was silent until it ended).
    assert 'pseudo-labels: 100%' in capsys.readouterr().err
    names = sorted(os.listdir(plain))
    assert len(names) == 2 and names == sorted(os.listdir(over))
    for name in names:
        a = read_label_png(osp.join(plain, name))
        b = read_label_png(osp.join(over, name))
        scrib = read_label_png(
            osp.join(synthetic_root, 'ann_dir/scribble', name))
        assert a.shape == scrib.shape == (64, 64)
        assert a.max() < 6  # class ids of the demo's classes
        lab = scrib != 255
        assert lab.any()
        np.testing.assert_array_equal(b[lab], scrib[lab])
        np.testing.assert_array_equal(b[~lab], a[~lab])


def test_split_option_predicts_another_dataloader(synthetic_root, tmp_path,
                                                  demo_checkpoint):
    # --split val writes the val images (the split that has dense ground
    # truth); the annotations loaded are val's dense masks, so the
    # override reproduces them pixel for pixel.
    ckpt = demo_checkpoint
    out = str(tmp_path / 'val')
    run_tool('segmentor_pseudo_labels', [
        DEMO, ckpt, out, '--split', 'val', '--scribble-override',
        '--cfg-options', f'val_dataloader.dataset.data_root={synthetic_root}'
    ])
    with open(osp.join(synthetic_root, 'splits/val.txt')) as f:
        stems = [s.strip() for s in f if s.strip()]
    assert sorted(os.listdir(out)) == sorted(s + '.png' for s in stems)
    for stem in stems:
        dense = read_label_png(
            osp.join(synthetic_root, 'ann_dir/full', stem + '.png'))
        np.testing.assert_array_equal(
            read_label_png(osp.join(out, stem + '.png')), dense)
    # scored against that ground truth: 100 mIoU
    miou = pseudo_label_miou(out, osp.join(synthetic_root, 'ann_dir/full'),
                             4)['miou']
    assert miou == pytest.approx(100.0)
    # a split the config does not have fails before the checkpoint is read
    with pytest.raises(ValueError, match='--split nope.*train, val'):
        run_tool(
            'segmentor_pseudo_labels',
            [DEMO, str(tmp_path / 'missing.pth'), out, '--split', 'nope'])


def test_cam_stage_writes_tagged_pseudo_labels(voc_fixture, tmp_path):
    # The CAM classifier config through the same tool: labels are the
    # background or a class of the scribbles' tags.
    cam_cfg = osp.join(
        ROOT, 'configs/cdsp/cam/cdsp-cam_r50-d8_1xb16-3310_voc12aug-'
        'scribble-448x448.py')
    cfg = Config.fromfile(cam_cfg)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.depth = 18  # small and fast; same code path
    cfg.model.decode_head.in_channels = 512
    ckpt = save_random_model(cfg.model, str(tmp_path / 'cam.pth'))
    out = str(tmp_path / 'cam')
    run_tool('segmentor_pseudo_labels', [
        cam_cfg, ckpt, out, '--scribble-override', '--cfg-options',
        f'train_dataloader.dataset.data_root={voc_fixture}',
        'model.backbone.depth=18', 'model.backbone.init_cfg=None',
        'model.decode_head.in_channels=512'
    ])
    label = read_label_png(osp.join(out, '2007_000032.png'))
    scrib = read_label_png(
        osp.join(voc_fixture, 'pascal_2012_scribble/2007_000032.png'))
    assert label.shape == scrib.shape
    assert set(np.unique(label)) <= {0, 1, 15}
    lab = scrib != 255
    np.testing.assert_array_equal(label[lab], scrib[lab])
