# Copyright (c) mmscribble contributors. All rights reserved.
"""The MSCMR table as markdown (one table per section, then how it was
measured) and its raw results as JSON."""
import math

# read_json, write_json and clean lived here: their import path stays.
from .files import clean, read_json, write_json, write_text  # noqa: F401
from .rows import SECTIONS
from .stats import (BOOT_SAMPLES, BOOT_SEED, STRUCTURES, distance_summary,
                    row_summary, undefined_distances)

# Per-volume mean Dice of RV, Myo and LV on the held-out MSCMR test split
# (not available here), as published with CycleMix (Zhang & Zhuang,
# CVPR 2022) and ZScribbleSeg (Zhang & Zhuang).
PUBLISHED = (('partial CE', 0.385), ('CycleMix', 0.800), ('ZScribbleSeg',
                                                          0.870))
SECTION_TITLES = dict(
    main='Main comparison',
    variants='Variants of the methods (same seeds as the main section)',
    recipe='Recipe: changes of the shared network, data or test-time '
    'clean-up, on partial CE',
    robustness='Robustness: dropped and shrunk scribbles (one seed)',
    crf='Test-time dense CRF (one seed)')
HEADER = [
    '| row | method | labels | seeds | RV | Myo | LV | mean Dice '
    '| HD95 (mm) | ASD (mm) '
    '| vs control: paired diff. [95% CI] (seeds x volumes) '
    '| mIoU (%) | train time (min) | s / iter | time vs baseline |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
    '| --- | ---: | ---: | ---: | ---: |'
]
# Undefined HD95 / ASD named per row under the tables, at most this many.
UNDEFINED_SHOWN = 6


def fmt(value, spec):
    """``format(value, spec)``, or ``'n/a'`` for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return 'n/a'
    return format(value, spec)


def _pm(stat, spec='.3f'):
    mean, sd, n = stat
    if not n:
        return 'n/a'
    if n < 2:
        return format(mean, spec)
    return f'{format(mean, spec)} ± {format(sd, spec)}'


def _distance(sm, key, spec):
    """The cell of a distance: mean ± sd over the seeds that have it,
    their count where some finished runs do not (reused runs finished
    before the table had distances), n/a where none has it."""
    stat = sm[f'vol/{key}']
    cell = _pm(stat, spec)
    if 0 < stat[2] < sm['n']:
        cell += f' ({stat[2]} of {sm["n"]} seeds)'
    return cell


def _delta(delta):
    if delta is None:
        return '-'
    if isinstance(delta, str):
        return f'n/a ({delta})'
    return (f'{delta["mean"]:+.3f} [{delta["low"]:+.3f}, '
            f'{delta["high"]:+.3f}] ({delta["seeds"]}x{delta["volumes"]})')


def make_table(rows, info):
    """Markdown of the results, one table per section.

    Args:
        rows (list[dict]): the rows with their ``runs`` (or ``skipped``).
        info (dict): the machine and the command (``split``, ``machine``,
            ``cpus``, ``torch``, ``load``, ``date``, optionally ``device``,
            ``jobs``, ``wall_s``).

    Returns:
        str: the markdown, ending in a newline.
    """
    by_id = {r['id']: r for r in rows}
    summaries = {r['id']: row_summary(r, by_id) for r in rows}
    base = next((r for r in rows if r['baseline'] and summaries[r['id']]['n']),
                None)
    base_s = summaries[base['id']]['train_s'] if base else None
    lines = [f'# MSCMR scribble benchmark: split `{info["split"]}`']
    for section in SECTIONS:
        part = [r for r in rows if r['section'] == section]
        if part:
            lines += ['', f'## {SECTION_TITLES[section]}', '', *HEADER]
            lines += [_line(r, summaries[r['id']], base_s) for r in part]
    lines.append('')
    lines += _notes(rows, summaries, info)
    return '\n'.join(lines) + '\n'


def _line(row, sm, base_s):
    """One row of a section's table."""
    ctl = f' (control {row["control"]})' if row.get('control') else ''
    head = f'| {row["id"]}{ctl} | {row["method"]} | {row["labels"]} '
    if not sm['n']:
        why = row.get('skipped') or 'failed (see the JSON and the log)'
        return head + f'| 0 | {why} | | | | | | | | | | |'
    ratio = sm['train_s'] / base_s if base_s is not None else None
    return (head + f'| {sm["n"]} ' + ''.join(f'| {_pm(sm[f"vol/Dice_{s}"])} '
                                             for s in STRUCTURES) +
            f'| {_pm(sm["vol/mDice3D"])} '
            f'| {_distance(sm, "mHD95", ".1f")} '
            f'| {_distance(sm, "mASD", ".2f")} | {_delta(sm["delta"])} '
            f'| {_pm(sm["mIoU"], ".1f")} '
            f'| {sm["train_s"] / 60:.1f} '
            f'| {sm["s_per_iter"]:.2f} '
            f'| {fmt(ratio, ".2f")} |')


def _notes(rows, summaries, info):
    """The lines under the tables: how the numbers were measured."""
    lines = []
    done = [res for r in rows for res in r.get('runs', []) if 'metrics' in res]
    # A test-only row (checkpoint_of) carries its source's train time:
    # counted once, with the source.
    trained = [
        res for r in rows if not r.get('checkpoint_of')
        for res in r.get('runs', []) if 'metrics' in res
    ]
    if done:
        lines.append(_method_note(done, info, trained))
    for r in rows:
        lines += _undefined_note(r)
        parts = summaries[r['id']].get('time_parts')
        if parts and summaries[r['id']]['n']:
            lines.append(
                f'`{r["id"]}`: train time = the training of '
                f'`{r["pseudo_labels_of"]}` + the pseudo-label step + its '
                'own training, mean per seed: ' +
                ' + '.join(fmt(p / 60, '.1f') for p in parts) +
                ' min; its s / iter is its own training\'s.')
    lines.append(f'Machine: {info["machine"]}, {info["cpus"]} CPUs, runs '
                 f'on {info.get("device", "cpu")}, torch '
                 f'{info["torch"]}, load average {info["load"]} at start '
                 f'({info["date"]}).')
    lines.append('')
    refs = ', '.join(f'{name} {value:.3f}' for name, value in PUBLISHED)
    lines.append(
        f'Published reference (mean Dice of RV, Myo and LV per volume on '
        f'the held-out MSCMR test split, not this split; CycleMix, '
        f'Zhang & Zhuang, CVPR 2022, and ZScribbleSeg): {refs}.')
    return lines


def _undefined_note(row):
    """The line that names a row's volumes whose HD95 / ASD of a
    structure is undefined (left out of its distances), if any."""
    missing = undefined_distances(row)
    if not missing:
        return []
    named = ', '.join(f'seed {seed} {vol} {s}'
                      for seed, vol, s in missing[:UNDEFINED_SHOWN])
    more = f' and {len(missing) - UNDEFINED_SHOWN} more' if len(
        missing) > UNDEFINED_SHOWN else ''
    return [
        f'`{row["id"]}`: HD95 / ASD undefined (structure in only one '
        f'of prediction and label), left out: {named}{more}.'
    ]


def _method_note(done, info, trained):
    first = done[0]
    vols = first['metrics'].get('vol/num_volumes')
    return (f'Dice: per 3-D volume on the original voxel grid, averaged over '
            f'{fmt(vols, ".0f")} volumes, then mean ± sample standard '
            'deviation over the seeds (seeds = the config\'s seed + 0, 1, '
            '...). HD95 / ASD (mm, medpy\'s hd95 and asd): 95th '
            'percentile of the surface distances both ways / mean distance '
            'from the predicted surface to the label\'s, per volume on the '
            'native voxel grid, averaged per structure over the volumes '
            'where both prediction and label have it, then over RV, Myo '
            'and LV, then over the seeds as Dice; n/a: no run with a value '
            '(finished before the table had distances, or no structure '
            'found). mIoU over all slices. Paired diff.: per-volume mean '
            'Dice (over RV, Myo, LV) of the row minus that of its control '
            '(partial CE on the same network) over the (seed, volume) pairs '
            'both ran; '
            f'95% percentile interval of a crossed bootstrap ({BOOT_SAMPLES} '
            'draws resampling seeds and volumes independently, generator '
            f'seed {BOOT_SEED}). Training: '
            f'{first["iters"]} iterations of batch {first["batch"]}, crop '
            f'{"x".join(str(c) for c in first["crop"])}, '
            f'{first["threads"]} torch thread(s), {info.get("jobs", 1)} '
            'run(s) at once; train time = mean per seed; time vs baseline = '
            'that / the baseline row\'s; all runs together: '
            f'{sum(r["train_s"] for r in trained) / 60:.1f} min of training '
            f'in {len(trained)} trained runs' +
            (f', {info["wall_s"] / 60:.1f} min wall for the whole table'
             if info.get('wall_s') else '') + '.')


def write_report(out, out_json, rows, info):
    """Write :func:`make_table` to ``out`` and the raw results (``info``
    and ``rows``) to ``out_json``, each atomically (a crash or a second
    writer leaves the old file or the new one, never a cut-short one).

    Returns:
        str: the table.
    """
    table = make_table(rows, info)
    write_text(out, table)
    write_json(out_json, raw_results(rows, info))
    return table


def raw_results(rows, info):
    """The table's JSON: ``info`` and the ``rows`` with their ``runs``,
    each row with ``distances`` (mm), the mean ± sd over seeds of
    ``mHD95``, ``mASD`` and each structure's
    (:func:`~mmscribble.benchmark.mscmr.stats.distance_summary`)."""
    return dict(
        info=info, rows=[dict(r, distances=distance_summary(r)) for r in rows])
