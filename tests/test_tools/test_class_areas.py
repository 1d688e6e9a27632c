"""tools/analysis_tools/class_areas.py against a direct count."""
import json
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmscribble.evaluation.checkpoint_scores import class_areas, test_split
from mmscribble.datasets.transforms.loading import read_label_png
from mmscribble.utils.visualize import load_segmentor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/class_areas.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


@pytest.fixture
def demo(random_checkpoint, synthetic_root):
    cfg = Config.fromfile(DEMO)
    cfg.test_dataloader.dataset.data_root = synthetic_root
    return random_checkpoint(cfg, 'demo')


def test_areas_iou_and_leak_equal_a_direct_count(demo, synthetic_root,
                                                 tmp_path, capsys):
    cfg_path, ckpt = demo
    run_tool([
        cfg_path, ckpt, '--limit', '3', '--out',
        str(tmp_path / 'areas.json')
    ])
    out = class_areas(cfg_path, [ckpt], limit=3)
    assert out['images'] == 3
    assert out['classes'] == ['background', 'disc', 'box', 'triangle']
    (label, run), = out['runs'].items()
    assert label.endswith('/demo.pth')
    # the reference: the same predictions, counted pixel by pixel
    model = load_segmentor(cfg_path, ckpt, 'cpu')
    cfg = Config.fromfile(cfg_path)
    dataset, _ = test_split(cfg)
    preds, gts = [], []
    for i in range(3):
        sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        preds.append(sample.pred_sem_seg.data[0].numpy())
        stem = osp.splitext(
            osp.basename(dataset.get_data_info(i)['seg_map_path']))[0]
        gts.append(
            read_label_png(
                osp.join(synthetic_root, 'ann_dir/full', stem + '.png')))
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    for c in range(4):
        p, g = pred == c, gt == c
        assert run['gt_area'][c] == pytest.approx(g.mean())
        assert run['pred_area'][c] == pytest.approx(p.mean())
        if (p | g).any():
            assert run['iou'][c] == pytest.approx(
                (p & g).sum() / (p | g).sum())
        assert run['from_bg'][c] == pytest.approx(
            (p & (gt == 0)).sum() / (gt == 0).sum())
    assert sum(run['pred_area']) == pytest.approx(1)
    assert json.load(open(tmp_path / 'areas.json'))['runs'][label]['iou'] \
        == pytest.approx(run['iou'], nan_ok=True)
    printed = capsys.readouterr().out
    assert '| ground truth |' in printed and 'disc from bg (%)' in printed


def test_one_row_per_checkpoint_and_bad_input(demo, tmp_path):
    cfg_path, ckpt = demo
    run_tool([
        cfg_path, ckpt, ckpt, '--limit', '1', '--out',
        str(tmp_path / 'two.json')
    ])
    with open(tmp_path / 'two.json') as f:
        out = json.load(f)
    a, b = out['runs'].values()  # the same file twice: two rows, equal
    assert a['iou'] == pytest.approx(b['iou'], nan_ok=True)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        run_tool([cfg_path, str(tmp_path / 'missing.pth')])
    with pytest.raises(ValueError, match='--background 7'):
        run_tool([cfg_path, ckpt, '--limit', '1', '--background', '7'])
    with pytest.raises(ValueError, match='--limit'):
        run_tool([cfg_path, ckpt, '--limit', '0'])
