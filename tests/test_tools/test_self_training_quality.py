"""tools/analysis_tools/self_training_quality.py on a random BLPSeg model."""
import json
import os.path as osp
import runpy
import sys
from unittest import mock

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmscribble.evaluation.checkpoint_scores import test_split
from mmscribble.evaluation.self_training_quality import \
    self_training_quality
from mmscribble.utils.visualize import load_segmentor

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BLPSEG = osp.join(
    ROOT, 'configs/benchmark/mscmr/blpseg_upernet_mobilenet-v2-d8_1xb8-240_'
    'mscmr-scribble-161x161.py')
DEMO = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-'
    '96x96.py')

TOOL = osp.join(ROOT, 'tools/analysis_tools/self_training_quality.py')


def run_tool(argv):
    """Run the script with ``argv`` as its command line."""
    with mock.patch.object(sys, 'argv', [TOOL] + [str(a) for a in argv]):
        runpy.run_path(TOOL, run_name='__main__')


def assert_same_report(written, direct):
    """``written`` (read back from JSON) holds every key and number of
    ``direct``, and nothing else."""
    assert isinstance(written, dict) and written.keys() == direct.keys()
    for key, value in direct.items():
        if isinstance(value, dict):
            assert_same_report(written[key], value)
        elif isinstance(value, (list, tuple)):
            assert written[key] == pytest.approx(list(value), nan_ok=True)
        else:
            assert written[key] == value


@pytest.fixture
def blpseg(random_checkpoint, synthetic_root):
    # The MSCMR BLPSeg model (4 classes, as the synthetic shapes) without
    # ImageNet weights, scored on the synthetic val split.
    cfg = Config.fromfile(BLPSEG)
    cfg.model.backbone.init_cfg = None
    cfg.test_dataloader = Config.fromfile(DEMO).test_dataloader
    cfg.test_dataloader.dataset.data_root = synthetic_root
    return random_checkpoint(cfg, 'blpseg')


def test_rules_against_the_model_s_own_inference(blpseg, tmp_path, capsys):
    cfg_path, ckpt = blpseg
    run_tool([
        cfg_path, ckpt, '--limit', '2', '--threshold', '0.3', '--portions',
        '0.2', '1', '--out',
        str(tmp_path / 'st.json')
    ])
    # The numbers the tool wrote are the function's, every one of them
    # (JSON keeps a float exactly; only NaN needs nan_ok).
    with open(tmp_path / 'st.json') as f:
        out = json.load(f)
    direct = self_training_quality(cfg_path, [ckpt], 0.3, (0.2, 1), limit=2)
    assert_same_report(out, direct)
    (label, run), = out['runs'].items()
    assert run['threshold'] == 0.3
    # the plain prediction, pixel by pixel, as tools/test.py makes it
    model = load_segmentor(cfg_path, ckpt, 'cpu')
    dataset, _ = test_split(Config.fromfile(cfg_path), 2)
    right = total = 0
    for i in range(2):
        sample = model.test_step(pseudo_collate([dataset[i]]))[0]
        pred = sample.pred_sem_seg.data[0].numpy()
        gt = sample.gt_sem_seg.data[0].numpy()
        right += int((pred == gt).sum())
        total += gt.size
    assert run['prediction']['coverage'] == 1
    assert run['prediction']['accuracy'] == pytest.approx(right / total)
    # p = 1 labels every pixel with the tag-restricted argmax: exact tags
    # can only turn wrong pixels right
    assert run['balanced1']['coverage'] == 1
    assert run['balanced1']['accuracy'] >= run['prediction']['accuracy']
    # agreement only removes labels; p = 0.2 only adds to tau's
    assert run['agree']['coverage'] <= run['paper']['coverage']
    assert run['paper']['coverage'] <= run['balanced0.2']['coverage'] < 1
    assert np.allclose(sum(run['prediction']['from_bg']), 1)
    printed = capsys.readouterr().out
    assert '| balanced0.2 |' in printed and 'disc labeled (%)' in printed


def test_bad_input(blpseg, random_checkpoint, tmp_path):
    cfg_path, ckpt = blpseg
    with pytest.raises(FileNotFoundError, match='nothere.pth'):
        run_tool([cfg_path, str(tmp_path / 'nothere.pth')])
    with pytest.raises(ValueError, match='--portions'):
        run_tool([cfg_path, ckpt, '--portions', '0'])
    with pytest.raises(ValueError, match='--threshold'):
        run_tool([cfg_path, ckpt, '--threshold', '1.5'])
    # a config without a BLPSeg head is refused before scoring
    with pytest.raises(TypeError, match='BLPSegHead'):
        run_tool([DEMO, ckpt, '--limit', '1'])
