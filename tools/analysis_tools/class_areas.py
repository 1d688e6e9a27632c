"""How much of each class do checkpoints predict, and where does it leak?

A segmentation that collapses (a class shrinking to nothing, background
spreading into a structure) shows in its per-class areas before it shows
in a mean score. For each checkpoint this tool predicts the config's test
split (``test_dataloader``, its own pipeline, the same ``test_step`` as
``tools/test.py``), pools one confusion matrix over the images
(:mod:`mmscribble.evaluation.confusion`) and prints, per class:

* ``area``: the share of scored pixels predicted as the class (the first
  row, ``ground truth``, has the true shares);
* ``IoU``;
* ``from bg``: the share of the ground-truth background pixels predicted
  as the class (``--background``, default class 0), i.e. where a structure
  leaks into the background.

Give several checkpoints of one run (``iter_60.pth iter_120.pth ...``) to
follow the areas through training, or the final checkpoints of several
runs of the same config family (an ablation) to compare them; each row is
labelled by its run folder and file name. ``--out`` writes the numbers as
JSON.

Example (the URSS diagnostic on fully shrunk MSCMR scribbles)::

    python tools/analysis_tools/class_areas.py \\
        configs/benchmark/mscmr_diagnostics/urss-trace_deeplabv2_mobilenet-v2-d8_1xb8-240_mscmr-scribble-shrink1.0-161x161.py \\
        work_dirs/mscmr_table/urss-trace-shrink1.0/seed0/iter_{60,120,180,240}.pth
"""
import argparse

from mmengine.config import DictAction

from mmscribble.evaluation.checkpoint_scores import class_areas, write_json


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-class predicted areas, IoU and background leak of '
        'checkpoints on a config\'s test split')
    parser.add_argument('config', help='config file (model and test split)')
    parser.add_argument('checkpoints', nargs='+', help='checkpoint files')
    parser.add_argument(
        '--background',
        type=int,
        default=0,
        help='class id whose pixels the "from bg" columns split (default 0)')
    parser.add_argument(
        '--limit', type=int, default=None, help='score the first N images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the config, e.g. test_dataloader.dataset.'
        'data_root=...')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = class_areas(args.config, args.checkpoints, args.background,
                      args.limit, args.device, args.cfg_options)
    rows, names = out['runs'], out['classes']
    k = len(names)
    others = [c for c in range(k) if c != args.background]
    print(f'{out["images"]} image(s) of the test split of {args.config}')
    head = (['run'] + [f'{names[c]} area (%)' for c in range(k)] +
            [f'{names[c]} IoU (%)'
             for c in range(k)] + [f'{names[c]} from bg (%)' for c in others])
    print('| ' + ' | '.join(head) + ' |')
    print('| --- |' + ' ---: |' * (len(head) - 1))
    first = next(iter(rows.values()))
    print('| ground truth | ' + ' | '.join(f'{100 * a:.2f}'
                                           for a in first['gt_area']) + ' |' +
          ' - |' * (k + len(others)))
    for label, r in rows.items():
        cells = ([f'{100 * a:.2f}' for a in r['pred_area']] +
                 [f'{100 * v:.1f}' for v in r['iou']] +
                 [f'{100 * r["from_bg"][c]:.2f}' for c in others])
        print(f'| {label} | ' + ' | '.join(cells) + ' |')
    write_json(args.out, out)
    return out


if __name__ == '__main__':
    main()
