"""How good would BLPSeg's self-training targets be, rule by rule?

Self-training can only help if the pixels it turns into labels are right
more often than the network already is, and it locks in whatever it gets
wrong. This tool scores, on images with dense ground truth (the config's
test split, its own pipeline), the target that
:func:`~mmscribble.models.utils.self_training_target` would make from a
BLPSeg checkpoint under each selection rule:

* ``paper``: the tag-restricted prediction where its probability reaches
  the threshold (the paper's and the authors' rule, ``--threshold``,
  default the head's ``self_training_threshold``);
* ``agree``: ``paper`` kept only where the scribble head's tag-restricted
  class argmax agrees (``self_training_agreement=True``);
* ``balanced<p>``: ``paper`` plus, per image and class, the ``p``
  most confident share of the pixels predicted as the class
  (``self_training_class_portion=p``), for each ``--portions`` value;
* ``prediction``: the plain argmax, every pixel, for scale.

The image tags come from the classes in the ground truth (the test split
has no scribbles), i.e. the tags are exact: on training slices they come
from the scribbles and can only miss a class. No scribble overrides the
prediction here, so every labeled pixel is a pseudo-label. Per rule the
tool prints: ``coverage`` (share of the scored pixels that get a label),
``accuracy`` (share of the labeled pixels that are right), per non-
background class the precision of its labels, ``labeled``, the share of
its ground-truth pixels that get its label, and ``from bg``, the share
of the ground-truth background pixels labeled as that class (where a
structure leaks). ``--out`` writes the numbers as JSON.

Example (checkpoints of the traced MSCMR BLPSeg run)::

    python tools/analysis_tools/self_training_quality.py \\
        configs/benchmark/mscmr_diagnostics/blpseg-trace_upernet_mobilenet-v2-d8_1xb8-240_mscmr-scribble-161x161.py \\
        work_dirs/mscmr_table/blpseg-trace/seed0/iter_{60,120,180,240}.pth
"""
import argparse

from mmengine.config import DictAction

from mmscribble.evaluation.checkpoint_scores import write_json
from mmscribble.evaluation.self_training_quality import (rule_names,
                                                         self_training_quality)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Score BLPSeg self-training targets per selection rule '
        'against dense ground truth')
    parser.add_argument('config', help='a config with a BLPSegHead')
    parser.add_argument('checkpoints', nargs='+', help='checkpoint files')
    parser.add_argument(
        '--threshold',
        type=float,
        default=None,
        help='confidence tau (default: the head\'s self_training_threshold)')
    parser.add_argument(
        '--portions',
        type=float,
        nargs='*',
        default=[0.2, 0.5],
        help='class portions p of the balanced rules (default 0.2 0.5)')
    parser.add_argument(
        '--background',
        type=int,
        default=0,
        help='background class id (default 0)')
    parser.add_argument(
        '--limit', type=int, default=None, help='score the first N images')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the config')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = self_training_quality(args.config, args.checkpoints, args.threshold,
                                args.portions, args.background, args.limit,
                                args.device, args.cfg_options)
    results, names = out['runs'], out['classes']
    rules = rule_names(args.portions)
    k = len(names)
    others = [c for c in range(k) if c != args.background]
    print(f'{out["images"]} image(s) of the test split of {args.config}; '
          'tags from the ground truth, no scribbles')
    head_row = (['run', 'rule', 'coverage (%)', 'accuracy (%)'] +
                [f'{names[c]} precision (%)' for c in others] +
                [f'{names[c]} labeled (%)' for c in others] +
                [f'{names[c]} from bg (%)' for c in others])
    print('| ' + ' | '.join(head_row) + ' |')
    print('| --- | --- |' + ' ---: |' * (len(head_row) - 2))
    for label, res in results.items():
        for r in rules:
            v = res[r]
            cells = (
                [f'{100 * v["coverage"]:.1f}', f'{100 * v["accuracy"]:.2f}'] +
                [f'{100 * v["precision"][c]:.1f}' for c in others] +
                [f'{100 * v["labeled"][c]:.1f}' for c in others] +
                [f'{100 * v["from_bg"][c]:.2f}' for c in others])
            print(f'| {label} | {r} | ' + ' | '.join(cells) + ' |')
    write_json(args.out, out)
    return out


if __name__ == '__main__':
    main()
