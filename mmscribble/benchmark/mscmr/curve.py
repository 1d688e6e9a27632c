# Copyright (c) mmscribble contributors. All rights reserved.
"""Learning curves from MSCMR tables trained at several schedules.

Each run of ``tools/benchmark/mscmr_table.py --iters N`` writes a table JSON
whose runs record their ``iters`` and per-volume metrics; a learning curve
is the per-seed mean Dice of each row against ``iters``, collected from
several such JSONs (one work folder per schedule, since the folder of a
(row, seed) holds one schedule's checkpoint).
"""
import json
import math
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple, Union

# metric of a run that the curve follows: per-volume 3-D Dice of RV, Myo
# and LV, averaged over the structures and the split's volumes
DICE_KEY = 'vol/mDice3D'


def collect(paths: Sequence[Union[str, Tuple[str, str]]],
            only: Optional[Sequence[str]] = None
            ) -> Dict[str, Dict[int, List[float]]]:
    """Mean Dice per seed of every row and schedule in the table JSONs.

    Args:
        paths (Sequence): table JSON files (``--out`` with ``.json``), or
            ``(file, label)``: that file's rows become ``<id> (<label>)``,
            a line of their own (e.g. runs of another precision, which
            would otherwise be the same (row, iters, seed) as a float32
            run's).
        only (Sequence[str], optional): the row ids to keep (before any
            label); None keeps every row.

    Returns:
        dict: ``{row_id: {iters: [mean Dice of each seed, in seed order]}}``.

    Raises:
        ValueError: a file that is not a table JSON, or two files holding
            the same (row, iters, seed), named.
    """
    curves: Dict[str, Dict[int, Dict[int, float]]] = defaultdict(dict)
    for item in paths:
        path, label = (item, None) if isinstance(item, str) else item
        with open(path) as f:
            try:
                table = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}: not a table JSON ({err})') from None
        if not isinstance(table, dict) or 'rows' not in table:
            raise ValueError(f'{path}: not a table JSON (no "rows")')
        for row in table['rows']:
            if only is not None and row['id'] not in only:
                continue
            rid = row['id'] if label is None else f'{row["id"]} ({label})'
            for run in row.get('runs', []):
                if DICE_KEY not in run.get('metrics', {}):
                    continue  # a failed run: its error is in the table
                seeds = curves[rid].setdefault(int(run['iters']), {})
                if run['seed'] in seeds:
                    raise ValueError(
                        f'{path}: {rid} seed {run["seed"]} at '
                        f'{run["iters"]} iterations is in two tables')
                seeds[run['seed']] = float(run['metrics'][DICE_KEY])
    return {
        rid: {it: [s[k] for k in sorted(s)]
              for it, s in sorted(points.items())}
        for rid, points in curves.items()
    }


def _mean_sd(values: Sequence[float]):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    var = sum((v - mean)**2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(var)


def markdown(curves: Dict[str, Dict[int, List[float]]]) -> str:
    """A markdown table: one line per (row, iters), mean ± sd over seeds
    and the change from the previous schedule of the same row."""
    lines = [
        '| row | iterations | seeds | mean Dice | change from the previous |',
        '| --- | ---: | ---: | ---: | ---: |'
    ]
    for rid, points in curves.items():
        previous = None
        for iters, values in points.items():
            mean, sd = _mean_sd(values)
            cell = f'{mean:.3f}' + ('' if sd is None else f' ± {sd:.3f}')
            change = '-' if previous is None else f'{mean - previous:+.3f}'
            lines.append(f'| {rid} | {iters} | {len(values)} | {cell} | '
                         f'{change} |')
            previous = mean
    return '\n'.join(lines) + '\n'


def plot(curves: Dict[str, Dict[int, List[float]]], out: str,
         title: str = 'MSCMR val') -> None:
    """One PNG: mean Dice against iterations (log scale), a line per row,
    each seed as a dot.

    Args:
        curves (dict): what :func:`collect` returns.
        out (str): the PNG to write.
        title (str): the plot's title.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        for rid, points in curves.items():
            iters = list(points)
            means = [_mean_sd(v)[0] for v in points.values()]
            line, = ax.plot(iters, means, marker='o', label=rid)
            for it, values in points.items():
                ax.scatter([it] * len(values), values, s=10, alpha=0.5,
                           color=line.get_color())
        ax.set_xscale('log', base=2)
        all_iters = sorted({it for p in curves.values() for it in p})
        ax.set_xticks(all_iters, [str(it) for it in all_iters])
        ax.set_xlabel('training iterations (batch 8)')
        ax.set_ylabel('mean Dice (RV, Myo, LV), per volume')
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out)
    finally:
        plt.close(fig)
