"""Test (and evaluate) a segmentor; same flags as mmseg's tools/test.py."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmscribble.utils import (mmengine_safe_globals, setup_cpu_distributed,
                              teardown_distributed)
from mmscribble.utils.loader_workers import cap_loader_workers
from mmscribble.utils.run_paths import check_run_paths


def parse_args():
    parser = argparse.ArgumentParser(
        description='Test (and eval) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='dir to save the metrics file')
    parser.add_argument(
        '--out', type=str, help='dir to save the predicted label maps')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='dir to save painted predictions (overlays)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value (xxx=yyy format)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError(
            'VisualizationHook must be in default_hooks to use --show or '
            '--show-dir')
    hook = default_hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir
    return cfg


def main():
    args = parse_args()
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} file not found: {path}')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise KeyError(f'--tta needs tta_pipeline and tta_model in '
                           f'{args.config}')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        # A config may list several evaluators (MSCMR: IoUMetric and
        # VolumeDiceMetric); the label maps are written by IoUMetric.
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
        targets = [e for e in evaluators if e.get('type') == 'IoUMetric']
        if not targets:
            raise ValueError(f'--out needs an IoUMetric in test_evaluator of '
                             f'{args.config}')
        for evaluator in targets:
            evaluator['output_dir'] = args.out
            evaluator['keep_results'] = True
    # No more loader workers than usable cores (logged when it lowers one).
    cap_loader_workers(cfg)
    # Every data and metric path, before the Runner starts.
    check_run_paths(cfg, ('test', ), what=args.config)
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    # The Runner loads the checkpoint here; mmengine checkpoints hold a
    # message hub that torch's safe unpickler reads only with this allowlist.
    with mmengine_safe_globals():
        runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
