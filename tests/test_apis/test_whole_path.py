"""Issue 28's whole path, as a user with their own scribbles walks it.

On a temporary folder: LabelMe JSON scribbles written by hand for a few
synthetic images whose objects are known ->
``tools/dataset_converters/labelme_scribbles.py`` -> scribble PNGs ->
``tools/dataset_converters/make_splits.py`` -> a user config outside
``configs/`` inheriting the demo config the README's way
(``mmscribble.utils.config_paths.config_path``) -> ``tools/train.py``, 1
iteration -> ``tools/publish_model.py`` -> ``init_model`` +
``inference_model`` + ``ScribbleInferencer`` -> ``tools/inference.py``'s
overlays with a legend. Every tool runs in this process (runpy with a
patched ``sys.argv``), so the path costs no interpreter start.
"""
import hashlib
import json
import os
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch

from mmscribble.apis import ScribbleInferencer, inference_model, init_model
from mmscribble.datasets.synthetic import CLASSES, PALETTE, make_sample
from mmscribble.utils import mmengine_safe_globals
from mmscribble.visualization import legend_panel, overlay
from mmscribble.visualization.legend import ROW, SWATCH

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py'
NUM, SIZE = 6, (64, 64)


def hand_strokes(dense):
    """One horizontal stroke per class present: the longest run of a row
    of the class region eroded by a 5x5 square (the image border counts
    as outside), so that the stroke dilated to 3 px stays inside its
    object and the image (2 px margin).

    Returns:
        list[tuple[int, int, int, int]]: ``(class, y, x0, x1)``.
    """
    strokes = []
    for cid in np.unique(dense):
        inner = cv2.erode(
            (dense == cid).astype(np.uint8),
            np.ones((5, 5), np.uint8),
            borderType=cv2.BORDER_CONSTANT,
            borderValue=0)
        best = (0, 0, 0)
        for y, row in enumerate(inner):
            padded = np.concatenate([[0], row, [0]])
            edges = np.flatnonzero(np.diff(padded))
            for x0, end in zip(edges[::2], edges[1::2]):
                best = max(best, (end - x0, y, x0))
        length, y, x0 = best
        if length >= 4:
            strokes.append((int(cid), int(y), int(x0), int(x0 + length - 1)))
    return strokes


def labelme_json(stem, strokes):
    """LabelMe 5.x's file for one image: background as a 2-point "line",
    objects as 3-point "linestrip"s, float coordinates, no image data."""
    shapes = []
    for cid, y, x0, x1 in strokes:
        kind = 'line' if cid == 0 else 'linestrip'
        xs = [x0, x1] if cid == 0 else [x0, (x0 + x1) // 2, x1]
        shapes.append(
            dict(
                label=CLASSES[cid],
                points=[[float(x), float(y)] for x in xs],
                group_id=None,
                description='',
                shape_type=kind,
                flags={},
                mask=None))
    return dict(
        version='5.4.1',
        flags={},
        shapes=shapes,
        imagePath=f'../img_dir/{stem}.png',
        imageData=None,
        imageHeight=SIZE[0],
        imageWidth=SIZE[1])


def expected_scribbles(strokes):
    """The PNG worked by hand: a 1-px segment dilated by the 3x3 square
    covers rows y-1..y+1 and columns x0-1..x1+1."""
    label = np.full(SIZE, 255, np.uint8)
    for cid, y, x0, x1 in strokes:
        label[y - 1:y + 2, x0 - 1:x1 + 2] = cid
    return label


def write_user_data(root):
    """images, dense masks and LabelMe files; returns the strokes."""
    rng = np.random.default_rng(1)
    strokes = {}
    for sub in ('img_dir', 'ann_dir/full', 'labelme'):
        os.makedirs(osp.join(root, sub))
    for i in range(NUM):
        stem = f'field_{i}'
        img, dense, _ = make_sample(rng, SIZE)
        cv2.imwrite(osp.join(root, 'img_dir', stem + '.png'), img)
        cv2.imwrite(osp.join(root, 'ann_dir/full', stem + '.png'), dense)
        strokes[stem] = hand_strokes(dense)
        with open(osp.join(root, 'labelme', stem + '.json'), 'w') as f:
            json.dump(labelme_json(stem, strokes[stem]), f, indent=2)
    return strokes


USER_CONFIG = """_base_ = __import__('mmscribble.utils.config_paths',
                     fromlist=['x']).config_path({demo!r})
data_root = {root!r}
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, ann_file='splits/train.txt',
        data_prefix=dict(img_path='img_dir',
                         seg_map_path='ann_dir/scribble')))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(
        data_root=data_root, ann_file='splits/val.txt',
        data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir/full')))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
"""


@pytest.fixture
def tool(monkeypatch, capsys):
    """``tool('tools/x.py', *args)`` runs a tool here; returns stdout."""
    monkeypatch.setenv('LOCAL_RANK', '0')  # tools/train.py sets it

    def run(path, *args):
        capsys.readouterr()
        monkeypatch.setattr(sys, 'argv', [path, *map(str, args)])
        runpy.run_path(osp.join(ROOT, path), run_name='__main__')
        return capsys.readouterr().out

    return run


def test_labelme_to_published_model_to_overlays(tmp_path, tool):
    root = str(tmp_path / 'my_scribbles')
    strokes = write_user_data(root)
    stems = sorted(strokes)

    # 1. LabelMe -> scribble PNGs: every pixel as worked by hand
    scrib_dir = osp.join(root, 'ann_dir', 'scribble')
    out = tool('tools/dataset_converters/labelme_scribbles.py',
               osp.join(root, 'labelme'), scrib_dir, '--classes', *CLASSES,
               '--width', 3)
    assert f'wrote {NUM} scribble PNGs' in out
    with open(osp.join(scrib_dir, 'classes.txt')) as f:
        assert f.read().split() == list(CLASSES)
    for stem in stems:
        png = cv2.imread(
            osp.join(scrib_dir, stem + '.png'), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint8 and png.shape == SIZE
        assert (png == expected_scribbles(strokes[stem])).all(), stem
        dense = cv2.imread(
            osp.join(root, 'ann_dir/full', stem + '.png'),
            cv2.IMREAD_UNCHANGED)
        for cid, y, x0, x1 in strokes[stem]:
            # 3 rows of the segment plus one pixel at each end
            assert (png == cid).sum() == 3 * (x1 - x0 + 3)
            assert (dense[png == cid] == cid).all()  # inside its object
    assert {c for s in strokes.values() for c, *_ in s} == {0, 1, 2, 3}

    # 2. splits: seeded halves of the image folder, disjoint, complete
    out = tool('tools/dataset_converters/make_splits.py',
               osp.join(root, 'img_dir'), osp.join(root, 'splits'), '--ratio',
               'train=0.5', 'val=0.5', '--seed', 0)
    split = {}
    for name in ('train', 'val'):
        with open(osp.join(root, 'splits', name + '.txt')) as f:
            split[name] = f.read().split()
        assert f'{name}.txt: 3 stems' in out
    assert len(split['train']) == len(split['val']) == 3
    assert not set(split['train']) & set(split['val'])
    assert sorted(split['train'] + split['val']) == stems

    # 3. the user's config, outside configs/, and 1 training iteration
    cfg = str(tmp_path / 'my_config.py')
    with open(cfg, 'w') as f:
        f.write(USER_CONFIG.format(demo=DEMO, root=root))
    work = str(tmp_path / 'work')
    tool('tools/train.py', cfg, '--work-dir', work)
    trained = osp.join(work, 'iter_1.pth')
    with mmengine_safe_globals():
        source = torch.load(trained, map_location='cpu')
    assert source['meta']['iter'] == 1
    assert source['meta']['dataset_meta']['classes'] == CLASSES

    # 4. publish: weights and meta only, named by the file's SHA-256
    out = tool('tools/publish_model.py', trained, tmp_path / 'fields.pth')
    published = out.strip().splitlines()[-1]
    with open(published, 'rb') as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    assert published == str(tmp_path / f'fields-{digest[:8]}.pth')
    weights = torch.load(published, map_location='cpu', weights_only=True)
    assert sorted(weights) == ['meta', 'state_dict']
    for key, value in source['state_dict'].items():
        assert torch.equal(weights['state_dict'][key], value), key

    # 5. the three Python calls agree, pixel for pixel
    images = [osp.join(root, 'img_dir', s + '.png') for s in stems]
    model = init_model(cfg, published)
    for key, value in source['state_dict'].items():
        assert torch.equal(model.state_dict()[key], value), key
    preds = [
        inference_model(model, p).pred_sem_seg.data[0].numpy() for p in images
    ]
    assert all(p.shape == SIZE and p.max() < len(CLASSES) for p in preds)
    inferencer = ScribbleInferencer(cfg, published, device='cpu')
    for path, pred in zip(images, preds):
        assert (inferencer(path)['predictions'] == pred).all(), path

    # 6. tools/inference.py: label PNGs equal to them, overlays + legend
    pred_dir = str(tmp_path / 'pred')
    out = tool('tools/inference.py', osp.join(root, 'img_dir'), cfg, published,
               '--out', pred_dir)
    assert f'{NUM} image(s)' in out
    for stem, path, pred in zip(stems, images, preds):
        label = cv2.imread(
            osp.join(pred_dir, 'labels', stem + '.png'), cv2.IMREAD_UNCHANGED)
        assert (label == pred).all(), stem
        shown = cv2.imread(osp.join(pred_dir, 'overlays',
                                    stem + '.png'))[..., ::-1]
        img = cv2.imread(path)[..., ::-1]
        assert (shown[:64, :64] == overlay(img, pred, PALETTE, 0.5)).all()
        ids = np.unique(pred)
        legend = legend_panel(CLASSES, PALETTE, ids, height=64)
        assert shown.shape == (legend.shape[0], 66 + legend.shape[1], 3)
        assert (shown[:, 66:] == legend).all()
        for row, cid in enumerate(ids):  # one row per predicted class
            y = row * ROW + 2
            swatch = shown[y:y + SWATCH, 68:68 + SWATCH]
            assert (swatch == PALETTE[cid]).all(), (stem, row)
        assert (shown[len(ids) * ROW + 2:, 66:] == 255).all()
