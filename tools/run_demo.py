"""The README's main job: train + evaluate a scribble model on the embedded
synthetic dataset, print mIoU, and save prediction overlays as PNG.

    .venv/bin/python tools/run_demo.py [--iters N] [--work-dir DIR]
"""
import argparse
import os
import os.path as osp
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmscribble.datasets.synthetic import generate_synthetic_shapes
from mmscribble.visualization.drawing import overlay, save_rgb, tile

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(
    ROOT, 'configs/demo/pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--data-root',
                        default=osp.join(ROOT, 'data/synthetic_shapes'))
    parser.add_argument('--work-dir', default=osp.join(ROOT,
                                                       'work_dirs/demo'))
    parser.add_argument('--iters', type=int, default=None,
                        help='override max_iters (default: the config)')
    parser.add_argument('--num-overlays', type=int, default=6)
    parser.add_argument(
        '--threads', type=int, default=1,
        help='torch intra-op threads (default 1: on a shared 2-core machine '
        'two threads thrash and run 4-5x slower; raise it on an idle one)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if not osp.isfile(osp.join(args.data_root, 'splits', 'val.txt')):
        generate_synthetic_shapes(args.data_root)
        print(f'generated the synthetic dataset in {args.data_root}')
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = args.data_root
    if args.iters:
        cfg.train_cfg.max_iters = args.iters
        cfg.train_cfg.val_interval = args.iters
        cfg.param_scheduler[0].end = args.iters
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    train_s = time.time() - start
    metrics = runner.test()
    miou = metrics['mIoU']
    classes = cfg.val_dataloader.dataset.metainfo['classes']
    print(f'\n== demo: {len(classes)} classes, trained '
          f'{cfg.train_cfg.max_iters} iters in {train_s:.0f} s ==')
    print(f'mIoU {miou:.2f}  mDice {metrics["mDice"]:.2f}  aAcc '
          f'{metrics["aAcc"]:.2f}  (chance mIoU is about '
          f'{100 / (2 * len(classes) - 1):.0f})')

    out_dir = osp.join(args.work_dir, 'overlays')
    os.makedirs(out_dir, exist_ok=True)
    palette = cfg.val_dataloader.dataset.metainfo['palette']
    model = runner.model
    model.eval()
    dataset = runner.test_dataloader.dataset
    for i in range(min(args.num_overlays, len(dataset))):
        batch = runner.test_dataloader.collate_fn([dataset[i]])
        with torch.no_grad():
            pred = model.test_step(batch)[0]
        img = batch['inputs'][0].numpy().transpose(1, 2, 0)[..., ::-1]
        gt = pred.gt_sem_seg.data[0].numpy()
        seg = pred.pred_sem_seg.data[0].numpy()
        panel = tile([img, overlay(img, gt, palette),
                      overlay(img, seg, palette)], scale=3)
        name = osp.splitext(osp.basename(pred.img_path))[0]
        save_rgb(osp.join(out_dir, f'{name}.png'),
                 np.ascontiguousarray(panel))
    print(f'overlays (image | ground truth | prediction): {out_dir}')


if __name__ == '__main__':
    main()
