# Copyright (c) mmscribble contributors. All rights reserved.
"""Plot MSCMR learning curves from table JSONs of several schedules.

Usage::

    for n in 240 480 960 1920; do
        OMP_NUM_THREADS=1 python tools/benchmark/mscmr_table.py --only pce \\
            --iters $n --work-dir work_dirs/lc_$n --out work_dirs/lc_$n/t.md
    done
    python tools/benchmark/learning_curve.py work_dirs/lc_*/t.json \\
        --out docs/mscmr_learning_curve.png

A file given as ``LABEL=FILE`` draws its rows as lines of their own,
``<row> (LABEL)`` (e.g. ``bf16=work_dirs/lc_bf16/t.json`` beside float32
runs of the same rows); ``--only ROW`` keeps those rows.

Prints a markdown table (mean Dice ± sd over seeds per row and schedule,
and the change from the previous schedule) and writes the PNG.
"""
import argparse
import os.path as osp

from mmscribble.benchmark.mscmr.curve import collect, markdown, plot


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'tables',
        nargs='+',
        help='table JSON files; LABEL=FILE: its rows as "<row> (LABEL)"')
    parser.add_argument(
        '--only',
        action='append',
        default=None,
        metavar='ROW',
        help='keep only this row id (repeatable)')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--title', default='MSCMR val', help='plot title')
    return parser.parse_args(argv)


def _labelled(arg):
    """``LABEL=FILE`` -> ``(FILE, LABEL)``; a plain file stays as it is (a
    file whose own name holds '=' is taken whole when it exists)."""
    label, sep, path = arg.partition('=')
    if not sep or osp.isfile(arg) or not label or '/' in label:
        return arg
    return path, label


def main(argv=None):
    args = parse_args(argv)
    curves = collect([_labelled(t) for t in args.tables], args.only)
    if not curves:
        raise SystemExit('no finished run in ' + ', '.join(args.tables))
    print(markdown(curves), end='')
    plot(curves, args.out, args.title)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
