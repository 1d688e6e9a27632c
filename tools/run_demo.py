"""The README's main job: train + evaluate a scribble model on the embedded
synthetic dataset, print mIoU, and save ``image | ground truth |
prediction | legend`` panels as PNG
(:mod:`mmscribble.visualization.prediction_panel`).

    .venv/bin/python tools/run_demo.py [--iters N] [--work-dir DIR]
"""
import argparse
import os.path as osp
import time

import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmscribble.datasets.synthetic import generate_synthetic_shapes
from mmscribble.utils.loader_workers import cap_loader_workers
from mmscribble.visualization.prediction_panel import write_prediction_panels

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(
    ROOT, 'configs', 'demo',
    'pce_deeplabv2_r18-d8_1xb8-600_synthetic-shapes-96x96.py')


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
    cap_loader_workers(cfg)
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
    runner.model.eval()
    write_prediction_panels(runner.model, runner.test_dataloader, out_dir,
                            args.num_overlays)
    print(f'overlays (image | ground truth | prediction | legend): '
          f'{out_dir}')


if __name__ == '__main__':
    main()
