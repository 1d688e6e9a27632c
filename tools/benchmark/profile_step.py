# Copyright (c) mmscribble contributors. All rights reserved.
"""Profile one training step of a config, and variants of it side by side.

Usage (the MSCMR baseline on one thread, four variants)::

    OMP_NUM_THREADS=1 python tools/benchmark/profile_step.py \\
        configs/benchmark/mscmr/pce_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \\
        --variant eager --variant cl:channels_last --variant bf16:bf16 \\
        --variant compile:compile --out work_dirs/profile.json

A variant is ``NAME[:OPTIONS]``, options joined by ``;``: the flags
``channels_last`` (the weights, as ``ChannelsLastHook``), ``compile``
(inductor on backbone and head), ``bf16``
(bfloat16 autocast) and config overrides ``KEY=VALUE`` (e.g.
``crop129:model.data_preprocessor.size=(129,129);train_dataloader.dataset.pipeline.5.crop_size=(129,129)``).
The first variant is the reference of the speed-ups. Prints markdown
tables: per variant the median seconds of forward, backward and optimizer
(and of loading one batch in one process), the step's GFLOP and achieved
rate against a large matmul's; the forward time by module of the first.
See :mod:`mmscribble.benchmark.step_profile` for what is measured how.
"""
import argparse
import json

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mmscribble  # noqa: F401  registers the components
from mmscribble.benchmark.step_profile import (parse_variant, profile,
                                               report)
from mmscribble.utils.cli import non_negative_int, positive_int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='training config')
    parser.add_argument(
        '--variant',
        action='append',
        type=parse_variant,
        help='NAME[:OPTIONS] (repeatable; default: one eager variant)')
    parser.add_argument(
        '--steps', type=positive_int, default=4,
        help='timed steps per variant per round (distinct batches)')
    parser.add_argument(
        '--rounds', type=positive_int, default=3,
        help='interleaved rounds over the variants')
    parser.add_argument(
        '--warmup', type=non_negative_int, default=2,
        help='untimed steps per variant first (compile happens here)')
    parser.add_argument(
        '--threads', type=positive_int, default=None,
        help="torch threads (default: torch's, i.e. OMP_NUM_THREADS)")
    parser.add_argument('--out', help='write the raw result as JSON')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # mmengine's weight-init report would bury the tables: warnings only.
    MMLogger.get_instance('profile_step', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = args.variant or [parse_variant('eager')]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise SystemExit(f'--variant: names must differ, got {names}')
    base = Config.fromfile(args.config)
    init_default_scope(base.get('default_scope', 'mmseg'))

    def cfg_for(variant):
        cfg = base.copy()
        cfg.merge_from_dict(variant.cfg_options)
        return cfg

    result = profile(cfg_for, variants, args.steps, args.rounds,
                     args.warmup)
    result['config'] = args.config
    print(report(result, names))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
