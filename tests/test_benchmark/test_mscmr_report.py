# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/report.py: the table's cells from runs worked
by hand (the paired difference to the control and its interval, SPML's time
with its first stage)."""
import numpy as np
import pytest

from mmscribble.benchmark.mscmr import report, stats

INFO = dict(
    split='val', machine='x', cpus=2, torch='t', load='0.0', date='d', jobs=1)


def table_row(rid, method, runs, **fields):
    """A row of the table as ``discover`` gives it, with its ``runs``:
    ``fields`` replace the defaults (a main-section method on the real
    scribbles without a control)."""
    return dict(
        dict(
            id=rid,
            method=method,
            labels='scribbles',
            baseline=False,
            section='main',
            control=None,
            no_control=False,
            runs=runs), **fields)


def test_spml_time_counts_stage_1_and_the_pseudo_labels():
    one = fake_run(0, dict(A=flat(0.6)), train_s=120.0)
    two = dict(
        fake_run(0, dict(A=flat(0.7)), train_s=60.0),
        source_train_s=120.0,
        pseudo_label_s=30.0)
    cdsp = dict(two)
    rows = [
        table_row(
            'pce',
            'partial CE', [fake_run(0, dict(A=flat(0.6)), train_s=60.0)],
            baseline=True),
        table_row('spml-stage1', 'S1', [one]),
        table_row(
            'spml',
            'S2', [two],
            control='pce',
            pseudo_labels_of='spml-stage1',
            pseudo_label_tool='spml'),
        # CDSP's pseudo-label source is another method's row: not counted.
        table_row(
            'cdsp',
            'C', [cdsp],
            control='pce',
            pseudo_labels_of='pce',
            pseudo_label_tool='segmentor'),
    ]
    # A test-only row of stage 2 (its config inherits stage 2's
    # pseudo_labels_of) keeps stage 2's time parts from its source.
    from mmscribble.benchmark.mscmr.runs import source_time_parts
    retest = dict(
        fake_run(0, dict(A=flat(0.7)), train_s=60.0),
        **source_time_parts(two))
    rows.append(
        table_row(
            'spml-slide-lcc',
            'S2 retested', [retest],
            control='pce',
            checkpoint_of='spml',
            pseudo_labels_of='spml-stage1',
            pseudo_label_tool='spml'))
    assert source_time_parts(one) == {}
    assert stats.run_time(rows[2], two) == 210.0
    assert stats.run_time(rows[3], cdsp) == 60.0
    assert stats.run_time(rows[4], retest) == 210.0
    table = report.make_table(rows, INFO)
    cells = {
        x.split('|')[1].split()[0]: [c.strip() for c in x.split('|')[1:-1]]
        for x in table.splitlines()
        if x.startswith('| ') and not x.startswith('| row')
    }
    # train time (min), s / iter (its own), time vs baseline (210 / 60 s)
    assert cells['spml'][-3:] == ['3.5', '0.50', '3.50']
    assert cells['spml-slide-lcc'][-3:] == ['3.5', '0.50', '3.50']
    assert cells['spml-stage1'][-3:] == ['2.0', '0.50', '2.00']
    assert cells['cdsp'][-3:] == ['1.0', '0.50', '1.00']
    assert ('`spml`: train time = the training of `spml-stage1` + the '
            'pseudo-label step + its own training, mean per seed: '
            '2.0 + 0.5 + 1.0 min') in table
    assert '`cdsp`: train time' not in table


def test_total_training_counts_a_test_only_row_once():
    pce = fake_run(0, dict(A=flat(0.6)), train_s=60.0)
    rows = [
        table_row('pce', 'partial CE', [pce], baseline=True),
        table_row(
            'urss',
            'U', [fake_run(0, dict(A=flat(0.7)), 120.0)],
            control='pce'),
        # Tests pce's checkpoint: its result carries pce's train time.
        table_row(
            'pce-lcc',
            'partial CE + largest component', [dict(pce)],
            section='recipe',
            control='pce',
            checkpoint_of='pce'),
    ]
    table = report.make_table(rows, INFO)
    assert 'all runs together: 3.0 min of training in 2 trained runs' in table


def fake_run(seed, per_volume, train_s=60.0, distances=None):
    """A finished (row, seed) result as run_row writes it; without
    ``distances`` (``{volume: {'HD95_RV': mm, ...}}``) as a run finished
    before the table had HD95 / ASD."""
    vols = [stats.volume_mean_dice(v) for v in per_volume.values()]
    metrics = {
        f'vol/Dice_{s}': float(np.mean([v[s] for v in per_volume.values()]))
        for s in stats.STRUCTURES
    }
    metrics.update({
        'vol/mDice3D': float(np.mean(vols)),
        'mIoU': 50.0,
        'vol/num_volumes': len(vols)
    })
    res = dict(
        seed=seed,
        per_volume=per_volume,
        metrics=metrics,
        train_s=train_s,
        s_per_iter=0.5,
        iters=240,
        batch=8,
        crop=[161, 161],
        threads=1)
    if distances is not None:
        # As VolumeDiceMetric: per structure over the volumes where it is
        # defined, then over the structures.
        for kind in stats.DISTANCES:
            keys = [f'{kind}_{s}' for s in stats.STRUCTURES]
            for key in keys:
                metrics[f'vol/{key}'] = float(
                    np.nanmean([d[key] for d in distances.values()]))
            metrics[f'vol/m{kind}'] = float(
                np.mean([metrics[f'vol/{k}'] for k in keys]))
        res['per_volume_distances'] = distances
    return res


def flat(value):
    return dict(RV=value, Myo=value, LV=value)


def test_paired_difference_and_table_by_hand():
    # Control: seeds 0, 1, 2; the method: seeds 0 and 1, each volume 0.05
    # (seed 0) and 0.15 (seed 1) above the control's.
    ctl_runs = [
        fake_run(s, dict(A=flat(0.6 + 0.1 * s), B=flat(0.5)))
        for s in (0, 1, 2)
    ]
    row_runs = [
        fake_run(0, dict(A=flat(0.65), B=flat(0.55)), 90.0),
        fake_run(1, dict(A=flat(0.85), B=flat(0.65)), 90.0)
    ]
    seeds, vols, diff = stats.paired_grid({r['seed']: r
                                           for r in row_runs},
                                          {r['seed']: r
                                           for r in ctl_runs})
    assert seeds == [0, 1] and vols == ['A', 'B']
    np.testing.assert_allclose(diff, [[0.05, 0.05], [0.15, 0.15]])
    rows = [
        table_row('pce', 'partial CE', ctl_runs, baseline=True),
        table_row('m', 'M', row_runs, control='pce'),
        table_row('n', 'N', row_runs[:1], no_control=True),
        table_row(
            'm-drop0.3',
            'M',
            row_runs[:1],
            labels='drop 0.3',
            section='robustness',
            control='pce-drop0.3'),
    ]
    table = report.make_table(rows, dict(INFO, jobs=2, wall_s=600.0))
    line = next(x for x in table.splitlines() if x.startswith('| m (control'))
    cells = [c.strip() for c in line.split('|')[1:-1]]
    # seeds, RV, Myo, LV, mean Dice (mean of 0.60 and 0.75, sd 0.106),
    # HD95 and ASD (runs without them: finished before the table had
    # them), paired difference (means 0.05 / 0.15 per seed: crossed
    # bootstrap interval [0.05, 0.15]), mIoU, time (1.5 min), s/iter,
    # 90 / 60 s.
    assert cells[3:] == [
        '2', '0.675 ± 0.106', '0.675 ± 0.106', '0.675 ± 0.106',
        '0.675 ± 0.106', 'n/a', 'n/a', '+0.100 [+0.050, +0.150] (2x2)',
        '50.0 ± 0.0', '1.5', '0.50', '1.50'
    ]
    pce = next(x for x in table.splitlines() if x.startswith('| pce |'))
    # control per seed: 0.55, 0.60, 0.65
    assert '| 3 | 0.600 ± 0.050 |' in pce and '| - |' in pce
    assert 'n/a (no benchmark.control)' in table
    assert 'n/a (no pce-drop0.3 row)' in table
    assert table.index('## Main comparison') < table.index('## Robustness')
    assert '## Test-time dense CRF' not in table  # no row in that section
    assert 'crossed bootstrap (10000 draws' in table
    assert '2 run(s) at once' in table and '10.0 min wall' in table


def distances(hd95, missing=()):
    """Per-volume HD95 / ASD (ASD = HD95 / 4): ``hd95`` is
    ``{volume: (RV, Myo, LV)}``; NaN where undefined."""
    return {
        vol: {
            f'{kind}_{s}': h / div
            for kind, div in (('HD95', 1), ('ASD', 4))
            for s, h in zip(stats.STRUCTURES, hs)
        }
        for vol, hs in hd95.items()
    }


def test_hd95_and_asd_cells_and_json_by_hand(tmp_path):
    nan = float('nan')
    # pce seed 0: Myo missed in volume B (Dice 0, no distance): HD95 per
    # structure over the volumes that have it: RV (12 + 18) / 2 = 15,
    # Myo 9, LV 6: mHD95 10.0, mASD 2.5. Seed 1: 14 / 3.5 everywhere.
    pce = [
        fake_run(
            0,
            dict(A=flat(0.8), B=dict(RV=0.7, Myo=0.0, LV=0.9)),
            distances=distances(dict(A=(12, 9, 6), B=(18, nan, 6)))),
        fake_run(
            1,
            dict(A=flat(0.8), B=flat(0.8)),
            distances=distances(dict(A=(14, ) * 3, B=(14, ) * 3))),
    ]
    assert pce[0]['metrics']['vol/mHD95'] == 10.0
    assert pce[0]['metrics']['vol/mASD'] == 2.5
    # m: seeds 0 and 1 with distances (RV absent from prediction and
    # label of volume C: not a miss), seed 2 reused from before the table
    # had them.
    m = [
        fake_run(
            0,
            dict(A=flat(0.8), C=dict(RV=nan, Myo=0.8, LV=0.8)),
            distances=distances(dict(A=(5, ) * 3, C=(nan, 5, 5)))),
        fake_run(
            1,
            dict(A=flat(0.8), C=flat(0.8)),
            distances=distances(dict(A=(7, ) * 3, C=(7, ) * 3))),
        fake_run(2, dict(A=flat(0.8), C=flat(0.8))),
    ]
    rows = [
        table_row('pce', 'partial CE', pce, baseline=True),
        table_row('m', 'M', m, control='pce'),
    ]
    table = report.make_table(rows, INFO)
    cells = {
        x.split('|')[1].split()[0]: [c.strip() for c in x.split('|')[1:-1]]
        for x in table.splitlines()
        if x.startswith('| ') and not x.startswith('| row')
    }
    assert '| mean Dice | HD95 (mm) | ASD (mm) | vs control' in table
    # mean ± sd over seeds of mHD95 (10, 14) and mASD (2.5, 3.5)
    assert cells['pce'][8:10] == ['12.0 ± 2.8', '3.00 ± 0.71']
    # m: over its 2 seeds with distances, HD95 5 and 7, ASD 1.25 and 1.75
    assert cells['m'][8:10] == [
        '6.0 ± 1.4 (2 of 3 seeds)', '1.50 ± 0.35 (2 of 3 seeds)'
    ]
    assert ('`pce`: HD95 / ASD undefined (structure in only one of '
            'prediction and label), left out: seed 0 B Myo.') in table
    assert '`m`: HD95' not in table
    assert "HD95 / ASD (mm, medpy's hd95 and asd)" in table
    out_json = str(tmp_path / 't.json')
    report.write_report(str(tmp_path / 't.md'), out_json, rows, INFO)
    raw = {r['id']: r for r in report.read_json(out_json)['rows']}
    dist = raw['pce']['distances']
    assert set(dist) == {
        'mHD95', 'mASD', 'HD95_RV', 'HD95_Myo', 'HD95_LV', 'ASD_RV', 'ASD_Myo',
        'ASD_LV'
    }
    assert dist['mHD95']['mean'] == 12.0 and dist['mHD95']['seeds'] == 2
    assert dist['mHD95']['sd'] == pytest.approx(8**0.5)
    assert dist['HD95_Myo'] == dict(
        mean=11.5, sd=pytest.approx(12.5**0.5), seeds=2)
    assert raw['m']['distances']['mASD']['seeds'] == 2
    assert raw['m']['runs'][0]['per_volume_distances']['C']['HD95_RV'] is None
    # A row without any distance: mean null, no seed.
    one = dict(rows[1], runs=m[2:])
    assert report.raw_results(
        [one], INFO)['rows'][0]['distances']['mHD95']['seeds'] == 0
    line = next(
        x for x in report.make_table([one], INFO).splitlines()
        if x.startswith('| m '))
    assert line.split('|')[9:11] == [' n/a ', ' n/a ']
