"""tools/analysis_tools/softsl_label_quality.py: argmax of the soft
pseudo-labels and of the prediction, scored on dense ground truth."""
import os.path as osp
import runpy
import sys
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmscribble.evaluation.softsl_label_quality import softsl_label_quality
from mmscribble.visualization.softsl_maps import softsl_maps
from mmscribble.datasets.transforms.loading import read_label_png

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = osp.join(
    ROOT, 'configs/softsl/softsl_deeplabv3plus_mobilenet-v2-d8_1xb12-53k_'
    'voc12aug-scribble-512x512.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/softsl_label_quality.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


@pytest.fixture
def checkpoint(random_checkpoint):
    # A random network; y on the image's own grid (solve_scale 1), 3 steps.
    cfg = Config.fromfile(CFG)
    cfg.model.backbone.update(init_cfg=None, norm_cfg=dict(type='BN'))
    cfg.model.decode_head.update(
        norm_cfg=dict(type='BN'),
        solve_scale=1.0,
        solver=dict(steps=3, lr=0.2, optimizer='adam'))
    return random_checkpoint(cfg, 'softsl')


def dirs(voc):
    return [osp.join(voc, 'JPEGImages'), osp.join(voc, 'SegmentationClass')]


def test_scores_equal_a_direct_count(checkpoint, voc_fixture, capsys):
    # The pooled IoU / Dice and the changed-pixel shares, recomputed here
    # from the two label maps of each image.
    img_dir, gt_dir = dirs(voc_fixture)
    scrib_dir = osp.join(voc_fixture, 'pascal_2012_scribble')
    run_tool([*checkpoint, img_dir, gt_dir, '--scribble-dir', scrib_dir])
    out = softsl_label_quality(*checkpoint, img_dir, gt_dir, scrib_dir)
    from mmscribble.utils.visualize import load_segmentor
    model = load_segmentor(*checkpoint, 'cpu')
    k = 21
    tp = {n: np.zeros(k) for n in ('sigma', 'y')}
    fp = {n: np.zeros(k) for n in tp}
    fn = {n: np.zeros(k) for n in tp}
    changed = y_right = valid_total = 0
    for stem in ('2007_000032', '2007_000033'):
        img = mmcv.imread(osp.join(voc_fixture, 'JPEGImages', stem + '.jpg'))
        gt = read_label_png(
            osp.join(voc_fixture, 'SegmentationClass', stem + '.png'))
        scrib = read_label_png(
            osp.join(voc_fixture, 'pascal_2012_scribble', stem + '.png'))
        with torch.no_grad():
            res = softsl_maps(model, img, scrib)
        maps = dict(sigma=res['pred'], y=res['y'].argmax(0))
        valid = gt != 255
        for n, m in maps.items():
            for c in range(k):
                tp[n][c] += ((m == c) & (gt == c) & valid).sum()
                fp[n][c] += ((m == c) & (gt != c) & valid).sum()
                fn[n][c] += ((m != c) & (gt == c) & valid).sum()
        diff = valid & (maps['sigma'] != maps['y'])
        changed += diff.sum()
        y_right += (diff & (maps['y'] == gt)).sum()
        valid_total += valid.sum()
    for n in tp:
        union = tp[n] + fp[n] + fn[n]
        present = union > 0
        np.testing.assert_allclose(out[n]['iou'][present],
                                   tp[n][present] / union[present])
        np.testing.assert_allclose(
            out[n]['dice'][present],
            2 * tp[n][present] / (union + tp[n])[present])
        assert np.isnan(out[n]['iou'][~present]).all()
    assert out['pixels'] == valid_total
    assert out['changed'] == pytest.approx(changed / valid_total)
    assert changed > 0  # a random network and its pinned y disagree
    assert out['changed_y_right'] == pytest.approx(y_right / changed)
    text = capsys.readouterr().out
    assert '2 images' in text and 'scribbles: given' in text


def test_dense_labels_as_scribbles_make_y_the_ground_truth(
        checkpoint, voc_fixture):
    # Every labeled pixel pinned: argmax y is the ground truth there, so
    # y scores 100% on every class the images hold; the prediction of a
    # random network does not.
    img_dir, gt_dir = dirs(voc_fixture)
    out = softsl_label_quality(*checkpoint, img_dir, gt_dir, gt_dir)
    present = ~np.isnan(out['y']['iou'])
    assert set(np.flatnonzero(present)) == {0, 1, 15}  # bg, plane, person
    np.testing.assert_array_equal(out['y']['iou'][present], 1.0)
    np.testing.assert_array_equal(out['y']['dice'][present], 1.0)
    assert out['sigma']['iou'][present].mean() < 1.0
    assert out['changed_y_right'] == 1.0


def test_without_scribbles_and_limit(checkpoint, voc_fixture, capsys):
    run_tool([
        *checkpoint, *dirs(voc_fixture), '--limit', '1', '--num-classes', '21'
    ])
    out = softsl_label_quality(
        *checkpoint, *dirs(voc_fixture), num_classes=21, limit=1)
    assert out['images'] == 1
    gt = read_label_png(
        osp.join(voc_fixture, 'SegmentationClass', '2007_000032.png'))
    assert out['pixels'] == int((gt != 255).sum())
    assert 'scribbles: none' in capsys.readouterr().out


def test_bad_folders_name_the_file(checkpoint, voc_fixture, tmp_path):
    img_dir, gt_dir = dirs(voc_fixture)
    with pytest.raises(FileNotFoundError, match="gt_dir '/nope'"):
        run_tool([*checkpoint, img_dir, '/nope'])
    # an image without its ground truth
    (tmp_path / 'gt').mkdir()
    with pytest.raises(FileNotFoundError, match='2007_000032.png'):
        run_tool([*checkpoint, img_dir, str(tmp_path / 'gt')])
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no image'):
        run_tool([*checkpoint, str(tmp_path / 'empty'), gt_dir])
    with pytest.raises(ValueError, match='--limit'):
        run_tool([*checkpoint, img_dir, gt_dir, '--limit', '0'])
