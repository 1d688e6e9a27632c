# Copyright (c) mmscribble contributors. All rights reserved.
"""Statistics of the MSCMR table: what one line of it shows.

Per row: mean and sample standard deviation over seeds of the per-volume
mean Dice (and of each structure) averaged over the volumes of the split,
and likewise of HD95 and ASD (mm; ``VolumeDiceMetric``'s ``mHD95`` /
``mASD``: per structure over the volumes where they are defined, then
over the structures; a run finished before the metric had them counts as
missing, not as a value).
Per row with a control: the paired difference of the per-volume mean Dice
(mean over RV, Myo, LV of one volume) to the control over the (seed,
volume) pairs both have, its mean and a 95% interval from a crossed
bootstrap (seeds and volumes resampled independently, with replacement,
``BOOT_SAMPLES`` times, numpy generator seed ``BOOT_SEED``; percentile
interval), so that a seed that shifts every volume counts as one draw, not
five.
"""
import math

STRUCTURES = ('RV', 'Myo', 'LV')
# Surface distances of VolumeDiceMetric (mm): the metric keys without the
# 'vol/' prefix, the means over structures first.
DISTANCES = ('HD95', 'ASD')
DISTANCE_KEYS = ('mHD95', 'mASD', 'HD95_RV', 'HD95_Myo', 'HD95_LV', 'ASD_RV',
                 'ASD_Myo', 'ASD_LV')
# Crossed bootstrap of the paired difference: resamples and generator seed.
BOOT_SAMPLES = 10000
BOOT_SEED = 0


def finite(value):
    """Whether ``value`` is a number that is not NaN (None is not)."""
    return value is not None and not (isinstance(value, float)
                                      and math.isnan(value))


def volume_mean_dice(dice):
    """Mean Dice of one volume over its structures; a structure absent from
    prediction and label (NaN, or None once written to JSON) is left out,
    as ``VolumeDiceMetric`` leaves it out of the structure's mean."""
    vals = [d for d in dice.values() if finite(d)]
    return sum(vals) / len(vals) if vals else float('nan')


def mean_sd(values):
    """``(mean, sample standard deviation, n)`` of the finite ``values``;
    the deviation is NaN for fewer than two values."""
    vals = [float(v) for v in values if finite(v)]
    n = len(vals)
    if not n:
        return float('nan'), float('nan'), 0
    mean = sum(vals) / n
    sd = math.sqrt(sum(
        (v - mean)**2 for v in vals) / (n - 1)) if n > 1 else float('nan')
    return mean, sd, n


def paired_grid(runs, control_runs):
    """Differences of per-volume mean Dice, row minus control.

    Args:
        runs, control_runs (dict): ``{seed: result}``, each result with
            ``per_volume`` (``{volume: {structure: dice}}``).

    Returns:
        tuple: ``(seeds, volumes, diff)``: the seeds both ran, the volumes
        every one of those runs scored with a finite mean on both sides (in
        the order of the first run), and ``diff`` of shape
        ``(len(seeds), len(volumes))``.
    """
    import numpy as np
    seeds = sorted(set(runs) & set(control_runs))
    if not seeds:
        return [], [], np.zeros((0, 0))
    means = {}
    for seed in seeds:
        for side, res in (('row', runs[seed]), ('ctl', control_runs[seed])):
            for vol, dice in (res.get('per_volume') or {}).items():
                means[side, seed, vol] = volume_mean_dice(dice)
    first = list((runs[seeds[0]].get('per_volume') or {}))
    volumes = [
        v for v in first if all(
            finite(means.get((side, s, v))) for s in seeds
            for side in ('row', 'ctl'))
    ]
    diff = np.array(
        [[means['row', s, v] - means['ctl', s, v] for v in volumes]
         for s in seeds],
        dtype=np.float64).reshape(len(seeds), len(volumes))
    return seeds, volumes, diff


def crossed_bootstrap(diff, samples=BOOT_SAMPLES, seed=BOOT_SEED, level=0.95):
    """Mean of a (seed, volume) grid of paired differences and its
    percentile interval from a crossed bootstrap.

    Each of ``samples`` draws resamples the S seeds (rows of ``diff``) and,
    independently, the V volumes (columns), both with replacement, and
    takes the mean over the S x V crossed cells; the interval is the
    ``(1 - level) / 2`` and ``(1 + level) / 2`` percentiles of those means
    (numpy's linear interpolation). Resampling seeds as units keeps a seed
    that moves every volume from counting as V independent draws.

    Args:
        diff (array-like): ``(S, V)`` differences, S, V >= 1.
        samples (int): bootstrap draws.
        seed (int): seed of the numpy generator (fixed: the same numbers
            give the same interval).
        level (float): coverage in (0, 1).

    Returns:
        tuple[float, float, float]: ``(mean, low, high)``.
    """
    import numpy as np
    d = np.asarray(diff, dtype=np.float64)
    if d.ndim != 2 or d.size == 0:
        raise ValueError(f'diff must be a non-empty (seeds, volumes) grid, '
                         f'got shape {d.shape}')
    if not 0 < level < 1:
        raise ValueError(f'level must be in (0, 1), got {level}')
    rng = np.random.default_rng(seed)
    num_s, num_v = d.shape
    rows = rng.integers(0, num_s, size=(samples, num_s))
    cols = rng.integers(0, num_v, size=(samples, num_v))
    means = d[rows[:, :, None], cols[:, None, :]].mean(axis=(1, 2))
    low, high = np.percentile(means, [50 * (1 - level), 50 * (1 + level)])
    return float(d.mean()), float(low), float(high)


def row_runs(row):
    """``{seed: result}`` of a row's finished runs."""
    return {
        res['seed']: res
        for res in row.get('runs', []) if 'metrics' in res
    }


def counts_source_time(row):
    """Whether a row's time includes its pseudo-label source's training
    and the pseudo-label step (SPML's stage 2: the source is stage 1)."""
    return bool(
        row.get('pseudo_labels_of')) and row.get('pseudo_label_tool') == 'spml'


def run_time(row, res):
    """Seconds of one (row, seed) run shown as its train time: its own
    training, plus for SPML's stage 2 (:func:`counts_source_time`) the
    stage-1 training and the pseudo-label step."""
    if not counts_source_time(row):
        return res['train_s']
    return res['train_s'] + res.get('source_train_s', float('nan')) + \
        res.get('pseudo_label_s', float('nan'))


def row_summary(row, by_id):
    """Means and deviations over seeds, and the paired difference to the
    row's control: what one line of the table shows.

    Args:
        row (dict): a row with its ``runs``.
        by_id (dict): the table's rows by id (the control).

    Returns:
        dict: ``seeds``, ``n``, ``(mean, sd, n)`` of each metric (Dice,
        ``mIoU``, ``vol/mHD95``, ``vol/HD95_RV``, ...), the mean
        ``train_s`` and ``s_per_iter`` (and ``time_parts`` where the time
        counts the source's), and ``delta``: None (no control), a reason
        (str) or the paired difference (``mean``, ``low``, ``high``,
        ``seeds``, ``volumes``).
    """
    runs = row_runs(row)
    out = dict(seeds=sorted(runs), n=len(runs))
    keys = [f'vol/Dice_{s}' for s in STRUCTURES] + ['vol/mDice3D', 'mIoU']
    for key in keys + [f'vol/{k}' for k in DISTANCE_KEYS]:
        out[key] = mean_sd(r['metrics'].get(key) for r in runs.values())
    out['train_s'] = mean_sd(run_time(row, r) for r in runs.values())[0]
    if counts_source_time(row):
        out['time_parts'] = [
            mean_sd(r.get(k) for r in runs.values())[0]
            for k in ('source_train_s', 'pseudo_label_s', 'train_s')
        ]
    out['s_per_iter'] = mean_sd(r['s_per_iter'] for r in runs.values())[0]
    out['delta'] = _delta_to_control(row, runs, by_id)
    return out


def distance_summary(row):
    """HD95 and ASD of a row for the table's JSON.

    Returns:
        dict: ``{key: {'mean': mm, 'sd': mm, 'seeds': n}}`` for every key
        of :data:`DISTANCE_KEYS` (``mHD95``, ``mASD``, ``HD95_RV``, ...):
        over the ``n`` finished runs that have it (sd NaN below two, mean
        NaN for none).
    """
    runs = row_runs(row).values()
    out = {}
    for key in DISTANCE_KEYS:
        mean, sd, n = mean_sd(r['metrics'].get(f'vol/{key}') for r in runs)
        out[key] = dict(mean=mean, sd=sd, seeds=n)
    return out


def undefined_distances(row):
    """The (seed, volume, structure) of a row's runs whose HD95 / ASD is
    undefined (the structure is in the prediction or in the label, not
    both: Dice 0) and so left out of the row's distances.

    Returns:
        list[tuple]: ``(seed, volume, structure)`` in run order.
    """
    out = []
    for seed, res in sorted(row_runs(row).items()):
        dice = res.get('per_volume') or {}
        for vol, dist in (res.get('per_volume_distances') or {}).items():
            out += [(seed, vol, s) for s in STRUCTURES
                    if f'HD95_{s}' in dist and not finite(dist[f'HD95_{s}'])
                    and finite((dice.get(vol) or {}).get(s))]
    return out


def _delta_to_control(row, runs, by_id):
    ctl = row.get('control')
    if not ctl:
        return 'no benchmark.control' if row.get('no_control') else None
    if ctl not in by_id:
        return f'no {ctl} row'
    seeds, volumes, diff = paired_grid(runs, row_runs(by_id[ctl]))
    if diff.size == 0:
        return f'{ctl} not run'
    mean, low, high = crossed_bootstrap(diff)
    return dict(
        mean=mean, low=low, high=high, seeds=len(seeds), volumes=len(volumes))
