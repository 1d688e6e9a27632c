"""How much Dice does a boundary error cost each structure of a split?

Moves the reference's own boundary in-plane by fixed distances (grown
and shrunk, :mod:`mmscribble.evaluation.boundary_tolerance`) and prints
each structure's Dice against the unmoved reference, averaged over the
split's volumes (per volume on the native grid, as
:class:`~mmscribble.evaluation.VolumeDiceMetric` scores). A thin
structure (the myocardium, a ring of about 1 cm) loses far more Dice to
the same error than a round one (the LV blood pool).

``--results`` adds, for each ``result.json`` of the MSCMR table
(``tools/benchmark/mscmr_table.py``), the run's measured Dice and ASD per
structure beside the reference moved by that run's own ASD of the same
volume (grown and shrunk; the mean of the two): the Dice a prediction
with that mean boundary error and no other fault would score.

Example (the MSCMR val split, the three structures, the soft
self-labeling runs of the converged table)::

    python tools/analysis_tools/boundary_tolerance.py data/mscmr/meta.json \\
        --results work_dirs/benchmark/mscmr_converged/softsl/seed*/result.json
"""
import argparse
import json

import numpy as np

from mmscribble.datasets.volumes import load_meta
from mmscribble.evaluation.boundary_tolerance import (boundary_tolerance,
                                                      moved_by_measured_asd,
                                                      split_label_volumes)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Dice of each structure against itself with its '
        'boundary moved in-plane by fixed distances (mm)')
    parser.add_argument(
        'meta', help='meta.json of the converted MSCMR-style dataset')
    parser.add_argument(
        '--nifti-root',
        default='../shared/data/mscmr',
        help='folder the label paths of meta.json are relative to '
        '(default: ../shared/data/mscmr)')
    parser.add_argument('--split', default='val', help='default: val')
    parser.add_argument(
        '--mm',
        type=float,
        nargs='+',
        default=[0.5, 1.0, 1.5, 2.0, 3.0],
        help='distances in mm (default: 0.5 1 1.5 2 3)')
    parser.add_argument(
        '--results',
        nargs='+',
        default=[],
        help='result.json files of the MSCMR table: their measured Dice '
        'and ASD beside the reference moved by that ASD')
    parser.add_argument('--out', help='also write the numbers as JSON')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    names = load_meta(args.meta)['classes']
    classes = {n: i for i, n in enumerate(names) if i > 0}
    labels = split_label_volumes(args.meta, args.nifti_root, args.split)
    per_volume = {
        vol: boundary_tolerance(label, spacing, classes, args.mm)
        for vol, (label, spacing) in labels.items()
    }
    table = {
        name: {
            key: np.nanmean([per_volume[v][name][key] for v in per_volume],
                            axis=0).tolist()
            for key in ('grow', 'shrink')
        }
        for name in classes
    }
    print(f'{len(labels)} volume(s) of split {args.split!r}; Dice of each '
          'structure against itself with its boundary moved in-plane')
    head = ['structure'] + [f'grown {d:g} mm' for d in args.mm
                            ] + [f'shrunk {d:g} mm' for d in args.mm]
    print('| ' + ' | '.join(head) + ' |')
    print('| --- |' + ' ---: |' * (len(head) - 1))
    for name, rows in table.items():
        cells = [f'{v:.3f}' for v in rows['grow'] + rows['shrink']]
        print(f'| {name} | ' + ' | '.join(cells) + ' |')
    runs = {}
    if args.results:
        print('\nmeasured, and the reference moved by the run\'s own ASD '
              '(per volume): Dice grown / shrunk / mean of the two')
        print('| run | structure | Dice | ASD (mm) | moved by ASD: grown | '
              'shrunk | mean |')
        print('| --- | --- | ---: | ---: | ---: | ---: | ---: |')
        for path in args.results:
            runs[path] = moved_by_measured_asd(path, labels, classes)
            for name, r in runs[path].items():
                print(f'| {path} | {name} | {r["dice"]:.3f} | '
                      f'{r["asd"]:.2f} | {r["grown"]:.3f} | '
                      f'{r["shrunk"]:.3f} | '
                      f'{(r["grown"] + r["shrunk"]) / 2:.3f} |')
    out = dict(split=args.split, mm=args.mm, mean=table,
               per_volume=per_volume, runs=runs)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    main()
