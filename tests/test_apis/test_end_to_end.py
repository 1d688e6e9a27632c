"""From a trained checkpoint to label PNGs and legended overlays (issue
28's path after the converters): train 1 iteration on the synthetic
shapes, publish, init_model + inference_model + ScribbleInferencer, and
tools/inference.py on the validation images. Training and publishing run
in this process (tools/train.py and tools/publish_model.py are tested
elsewhere) to spare two interpreter starts."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from mmengine.config import Config
from mmengine.runner import Runner

from mmscribble.apis import (ScribbleInferencer, inference_model, init_model,
                             publish_checkpoint, sha256_of)
from mmscribble.utils import mmengine_safe_globals
from mmscribble.visualization import legend_panel

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(ROOT, 'configs', 'demo',
                'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')
CLASSES = ('background', 'disc', 'box', 'triangle')


def run(args):
    proc = subprocess.run([sys.executable] + args,
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=600,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def write_config(tmp_path, root):
    """The user's config, outside configs/: inherits the demo by an
    absolute path and points it at the data."""
    path = tmp_path / 'my_config.py'
    path.write_text(f"""_base_ = [{DEMO!r}]
data_root = {root!r}
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=1, val_interval=1)
default_hooks = dict(checkpoint=dict(interval=1))
""")
    return str(path)


def test_train_publish_infer(synthetic_root, tmp_path):
    cfg = write_config(tmp_path, synthetic_root)
    work = str(tmp_path / 'work')
    config = Config.fromfile(cfg)
    config.work_dir = work
    with mmengine_safe_globals():
        Runner.from_cfg(config).train()
    trained = osp.join(work, 'iter_1.pth')
    out = publish_checkpoint(trained, str(tmp_path / 'shapes.pth'))

    # the published file: named by its hash, weights and meta only
    assert re.fullmatch(r'shapes-[0-9a-f]{8}\.pth', osp.basename(out))
    assert osp.basename(out)[7:15] == sha256_of(out)[:8]
    with mmengine_safe_globals():
        source = torch.load(trained, map_location='cpu')
    assert 'optimizer' in source and 'message_hub' in source
    published = torch.load(out, map_location='cpu', weights_only=True)
    assert sorted(published) == ['meta', 'state_dict']
    assert published['meta']['dataset_meta']['classes'] == CLASSES
    assert published['state_dict'].keys() == source['state_dict'].keys()
    for key, value in source['state_dict'].items():
        assert torch.equal(published['state_dict'][key], value), key

    images = sorted(glob.glob(osp.join(synthetic_root, 'img_dir/val/*.png')))
    model = init_model(cfg, out)
    for key, value in source['state_dict'].items():
        assert torch.equal(model.state_dict()[key], value), key
    result = inference_model(model, images[0])
    pred = result.pred_sem_seg.data[0].numpy()
    assert pred.shape == (64, 64)
    inferencer = ScribbleInferencer(cfg, out, device='cpu')
    assert (inferencer(images[0])['predictions'] == pred).all()

    pred_dir = str(tmp_path / 'pred')
    run(['tools/inference.py', osp.dirname(images[0]), cfg, out, '--out',
         pred_dir])
    labels = sorted(glob.glob(osp.join(pred_dir, 'labels', '*.png')))
    assert [osp.basename(p) for p in labels] == [
        osp.basename(p) for p in images
    ]
    first = np.array(Image.open(labels[0]))
    assert first.dtype == np.uint8 and (first == pred).all()
    for path in labels:
        label = np.array(Image.open(path))
        assert label.shape == (64, 64)
        assert label.max() < len(CLASSES)
        overlay = np.array(Image.open(
            osp.join(pred_dir, 'overlays', osp.basename(path))))
        legend = legend_panel(
            CLASSES, published['meta']['dataset_meta']['palette'],
            np.unique(label), height=64)
        assert overlay.shape == (legend.shape[0], 64 + 2 + legend.shape[1],
                                 3)
        assert (overlay[:legend.shape[0], 66:] == legend).all()
