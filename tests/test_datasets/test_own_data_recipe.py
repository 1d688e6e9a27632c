"""The README's "Train on your own scribbles" recipe, followed as written.

The config block is read from the README (after its marker), saved where
the README says with only ``data_root`` changed, the documented layout is
written to a temporary folder, and ``tools/train.py`` trains one iteration
and validates on it. Only sizes and the pretrained weights are overridden on
the command line, as a user would for a quick check.
"""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmseg.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MARKER = '<!-- own-scribbles-config'


def readme_recipe():
    """The python block after the marker, and the path it is saved to."""
    text = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
    assert MARKER in text, 'the README lost its own-data config marker'
    after = text[text.index(MARKER):]
    block = re.search(r'```python\n(.*?)```', after, re.S).group(1)
    path = re.match(r'# (configs/\S+\.py)\n', block)
    assert path, 'the recipe block must start with "# configs/....py"'
    return block, path.group(1)


def write_layout(root, num_classes, size=(40, 56)):
    """The README's layout: 3 training images with scribbles (one without
    any stroke, which the README calls valid), 2 validation images with
    dense masks. Class ``c`` fills a vertical band of the image, with its
    own colour, so the labels are consistent with the pixels."""
    h, w = size
    rng = np.random.default_rng(0)
    splits = dict(train=['a_01', 'a_02', 'a_03'], val=['b_01', 'b_02'])
    for split, stems in splits.items():
        os.makedirs(osp.join(root, 'img_dir', split))
        os.makedirs(osp.join(root, 'ann_dir', split))
        for i, stem in enumerate(stems):
            dense = np.zeros((h, w), np.uint8)
            bands = np.array_split(np.arange(w), num_classes)
            img = np.empty((h, w, 3), np.uint8)
            for c, cols in enumerate(bands):
                dense[:, cols] = c
                img[:, cols] = rng.integers(0, 256, 3)
            img = np.clip(img + rng.normal(0, 8, img.shape), 0,
                          255).astype(np.uint8)
            cv2.imwrite(osp.join(root, 'img_dir', split, stem + '.jpg'), img)
            if split == 'val':
                label = dense
            else:
                label = np.full((h, w), 255, np.uint8)
                if i < 2:
                    # one horizontal 3-px stroke through every band
                    for c, cols in enumerate(bands):
                        row = 8 + 10 * c
                        label[row:row + 3, cols[1]:cols[-1]] = c
            cv2.imwrite(osp.join(root, 'ann_dir', split, stem + '.png'), label)
        os.makedirs(osp.join(root, 'splits'), exist_ok=True)
        with open(osp.join(root, 'splits', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(stems) + '\n')
    return splits


@pytest.fixture
def recipe(tmp_path):
    """The README's config saved under a copy of configs/ (its _base_ path
    is relative), with data_root pointing at a temporary folder."""
    block, rel_path = readme_recipe()
    data_root = str(tmp_path / 'my_scribbles')
    text, n = re.subn(
        r"^data_root = '[^']*'$",
        f'data_root = {data_root!r}',
        block,
        flags=re.M)
    assert n == 1, 'the recipe sets data_root once'
    configs = tmp_path / 'configs'
    configs.mkdir()
    for name in os.listdir(osp.join(ROOT, 'configs')):
        os.symlink(osp.join(ROOT, 'configs', name), configs / name)
    path = tmp_path / rel_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path), data_root


def test_recipe_dataset_reads_the_layout(recipe):
    path, data_root = recipe
    cfg = Config.fromfile(path)
    classes = cfg.classes
    splits = write_layout(data_root, len(classes))
    assert cfg.model.decode_head.num_classes == len(classes)
    assert cfg.model.auxiliary_head.num_classes == len(classes)

    # The config's loading and packing steps only: the random rescale and
    # crop would make the labels seen here depend on the draw.
    load_only = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] in ('LoadScribbleImageFromFile',
                         'LoadScribbleAnnotations', 'PackScribbleInputs')
    ]
    assert len(load_only) == 3
    train = DATASETS.build(
        dict(cfg.train_dataloader.dataset, pipeline=load_only))
    val = DATASETS.build(cfg.test_dataloader.dataset)
    assert type(train).__name__ == 'ScribbleDataset'
    assert len(train) == len(splits['train'])
    assert len(val) == len(splits['val'])
    assert train.metainfo['classes'] == classes

    seen = [
        set(train[i]['data_samples'].gt_sem_seg.data.unique().tolist())
        for i in range(len(train))
    ]
    # two images with a stroke per class, one without any scribble
    assert seen == [set(range(len(classes))) | {255}] * 2 + [{255}]
    assert train[0]['data_samples'].metainfo['img_tags'] == list(
        range(len(classes)))
    val_seg = val[0]['data_samples'].gt_sem_seg.data
    assert set(val_seg.unique().tolist()) == set(range(len(classes)))


def test_recipe_trains_and_validates_with_tools_train(recipe, tmp_path):
    path, data_root = recipe
    cfg = Config.fromfile(path)
    write_layout(data_root, len(cfg.classes))

    def step(loader, kind):
        types = [t['type'] for t in cfg[loader].dataset.pipeline]
        return f'{loader}.dataset.pipeline.{types.index(kind)}'

    work = str(tmp_path / 'work')
    cmd = [
        sys.executable, 'tools/train.py', path, '--work-dir', work,
        '--cfg-options', 'model.backbone.init_cfg=None',
        'model.data_preprocessor.size=(32,32)',
        step('train_dataloader', 'ScribbleRandomResize') + '.scale=(64,64)',
        step('train_dataloader', 'ScribbleRandomCrop') + '.crop_size=(32,32)',
        step('val_dataloader', 'Resize') + '.scale=(64,64)',
        'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.persistent_workers=False'
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert 'Iter(train) [1/1]' in out
    assert 'Iter(val) [2/2]' in out
    assert 'mIoU' in out and 'mDice' in out
    for name in cfg.classes:
        assert name in out  # IoUMetric's per-class table
    assert osp.isfile(osp.join(work, 'iter_1.pth'))
