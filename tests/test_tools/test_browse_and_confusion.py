"""browse_dataset.py and confusion_matrix.py on a ScribbleDataset, where
mmseg's own tools stop (its METAINFO is empty)."""
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmscribble.datasets.label_io import read_label_png, write_label_png
from mmscribble.evaluation.dataset_confusion import (confusion_picture,
                                                     confusion_table,
                                                     dataset_confusion)
from mmscribble.visualization import legend_panel
from mmscribble.visualization.dataset_browser import (browse_samples,
                                                      build_split)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def demo_cfg(root):
    cfg = Config.fromfile(DEMO)
    for split in ('train', 'val', 'test'):
        cfg[f'{split}_dataloader'].dataset.data_root = root
    return cfg


def run(args):
    proc = subprocess.run([sys.executable] + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_mmseg_reads_an_empty_class_metainfo(synthetic_root):
    """Why mmseg's tools fail: they read the class attribute."""
    dataset = build_split(demo_cfg(synthetic_root), 'val')
    assert 'classes' not in type(dataset).METAINFO
    assert dataset.metainfo['classes'] == ('background', 'disc', 'box',
                                           'triangle')


def test_browse_draws_scribbles_and_legend(synthetic_root, tmp_path):
    dataset = build_split(demo_cfg(synthetic_root), 'train')
    written = browse_samples(dataset, str(tmp_path), num=2, opacity=1.0)
    assert [osp.basename(p) for p in written] == ['train_0000.png',
                                                  'train_0001.png']
    info = dataset.get_data_info(0)
    label = read_label_png(info['seg_map_path'])
    img = np.array(Image.open(info['img_path']).convert('RGB'))
    out = np.array(Image.open(written[0]))
    palette = np.asarray(dataset.metainfo['palette'], np.uint8)
    scribbled = label != 255
    assert scribbled.any() and (~scribbled).any()
    # opacity 1: scribble pixels in their class colour, others untouched
    assert (out[:64, :64][scribbled] == palette[label[scribbled]]).all()
    assert (out[:64, :64][~scribbled] == img[~scribbled]).all()
    ids = [int(c) for c in np.unique(label) if c != 255]
    legend = legend_panel(dataset.metainfo['classes'], palette, ids,
                          height=64)
    assert (out[:legend.shape[0], 66:] == legend).all()


def test_browse_tool(synthetic_root, tmp_path):
    out = run([
        'tools/analysis_tools/browse_dataset.py', DEMO, '--out',
        str(tmp_path), '--split', 'val', '--num', '0', '--cfg-options',
        f'val_dataloader.dataset.data_root={synthetic_root}'
    ])
    assert '4 picture(s)' in out
    assert osp.isfile(tmp_path / 'val_0003.png')


def predictions(synthetic_root, tmp_path):
    """The dense ground truth as predictions, but sample 0 all 'disc'."""
    pred = tmp_path / 'pred'
    shutil.copytree(osp.join(synthetic_root, 'ann_dir', 'full'), pred)
    first = read_label_png(str(pred / 'val_0000.png'))
    write_label_png(np.ones_like(first), str(pred / 'val_0000.png'))
    return str(pred), first


def test_confusion_counts(synthetic_root, tmp_path):
    pred, first = predictions(synthetic_root, tmp_path)
    dataset = build_split(demo_cfg(synthetic_root), 'test')
    conf, classes = dataset_confusion(dataset, pred)
    assert classes == ('background', 'disc', 'box', 'triangle')
    gts = [
        read_label_png(dataset.get_data_info(i)['seg_map_path'])
        for i in range(len(dataset))
    ]
    # every pixel of samples 1..3 on the diagonal, sample 0 in column 1
    expected = np.zeros((4, 5), np.int64)
    for gt in gts[1:]:
        for c in range(4):
            expected[c, c] += int((gt == c).sum())
    for c in range(4):
        expected[c, 1] += int((first == c).sum())
    assert (conf == expected).all()
    assert conf.sum() == 4 * 64 * 64
    assert confusion_table(conf, classes).splitlines()[0] == (
        'gt \\ pred,background,disc,box,triangle,none')
    pic = confusion_picture(conf, cell=2)
    assert pic.shape == (8, 8, 3)
    # a perfect row is blue on its diagonal, white elsewhere
    row = conf[3, :4] / conf[3].sum()
    assert (pic[6, 6] == [round(255 * (1 - row[3]))] * 2 + [255]).all()


def test_confusion_names_a_missing_prediction(synthetic_root, tmp_path):
    pred, _ = predictions(synthetic_root, tmp_path)
    (tmp_path / 'pred' / 'val_0002.png').unlink()
    dataset = build_split(demo_cfg(synthetic_root), 'test')
    with pytest.raises(FileNotFoundError, match='val_0002.png'):
        dataset_confusion(dataset, pred)


def test_confusion_tool(synthetic_root, tmp_path):
    pred, _ = predictions(synthetic_root, tmp_path)
    out = run([
        'tools/analysis_tools/confusion_matrix.py', DEMO, pred, '--out',
        str(tmp_path / 'conf'), '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_root}'
    ])
    assert out.splitlines()[0].startswith('gt \\ pred,background')
    assert osp.isfile(tmp_path / 'conf' / 'confusion.png')
    with open(tmp_path / 'conf' / 'confusion.csv') as f:
        assert f.read() == out
