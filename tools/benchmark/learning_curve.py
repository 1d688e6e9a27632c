# Copyright (c) mmscribble contributors. All rights reserved.
"""Plot MSCMR learning curves from table JSONs of several schedules.

Usage::

    for n in 240 480 960 1920; do
        OMP_NUM_THREADS=1 python tools/benchmark/mscmr_table.py --only pce \\
            --iters $n --work-dir work_dirs/lc_$n --out work_dirs/lc_$n/t.md
    done
    python tools/benchmark/learning_curve.py work_dirs/lc_*/t.json \\
        --out docs/mscmr_learning_curve.png

Prints a markdown table (mean Dice ± sd over seeds per row and schedule,
and the change from the previous schedule) and writes the PNG.
"""
import argparse

from mmscribble.benchmark.mscmr.curve import collect, markdown, plot


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('tables', nargs='+', help='table JSON files')
    parser.add_argument('--out', required=True, help='PNG to write')
    parser.add_argument('--title', default='MSCMR val', help='plot title')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    curves = collect(args.tables)
    if not curves:
        raise SystemExit('no finished run in ' + ', '.join(args.tables))
    print(markdown(curves), end='')
    plot(curves, args.out, args.title)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
