# Copyright (c) mmscribble contributors. All rights reserved.
"""mmscribble/benchmark/mscmr/stats.py: mean / deviation over seeds and the
crossed-bootstrap interval match hand-worked values."""
import math

import numpy as np
import pytest

from mmscribble.benchmark.mscmr import stats


def test_mean_sd_and_volume_mean_by_hand():
    mean, sd, n = stats.mean_sd([0.6, 0.7, 0.8, None, float('nan')])
    assert (mean, sd, n) == (pytest.approx(0.7), pytest.approx(0.1), 3)
    mean, sd, n = stats.mean_sd([0.5])
    assert mean == 0.5 and math.isnan(sd) and n == 1
    assert stats.mean_sd([])[2] == 0
    # A structure absent from a volume (NaN, None in JSON) is left out.
    assert stats.volume_mean_dice(dict(RV=0.5, Myo=None,
                                      LV=1.0)) == pytest.approx(0.75)
    assert stats.volume_mean_dice(dict(RV=0.5, Myo=float('nan'),
                                      LV=1.0)) == pytest.approx(0.75)


def test_crossed_bootstrap_by_hand():
    # One seed, volumes 0 and 1: resampled means 0, 0.5, 1 with
    # probabilities 1/4, 1/2, 1/4, so the 2.5% / 97.5% points are 0 and 1.
    assert stats.crossed_bootstrap([[0.0, 1.0]]) == (0.5, 0.0, 1.0)
    # Two seeds that shift every volume alike: the seed is the unit; means
    # 1, 2, 3 (1/4, 1/2, 1/4), not the narrower interval of 4 iid pairs.
    assert stats.crossed_bootstrap([[1.0, 1.0], [3.0, 3.0]]) == (2.0, 1.0, 3.0)
    assert stats.crossed_bootstrap([[0.25] * 3] * 2) == (0.25, 0.25, 0.25)
    # Row and control swapped: the interval is mirrored.
    rng = np.random.default_rng(1)
    d = rng.normal(0.02, 0.05, size=(3, 5))
    m, lo, hi = stats.crossed_bootstrap(d)
    m2, lo2, hi2 = stats.crossed_bootstrap(-d)
    assert (m2, lo2, hi2) == pytest.approx((-m, -hi, -lo))
    assert lo < m < hi
    # The same draws as a naive loop over the (seed, volume) cells.
    gen = np.random.default_rng(7)
    rows = gen.integers(0, 3, size=(50, 3))
    cols = gen.integers(0, 5, size=(50, 5))
    means = [
        np.mean([d[i, j] for i in r for j in c]) for r, c in zip(rows, cols)
    ]
    assert stats.crossed_bootstrap(
        d, samples=50, seed=7) == pytest.approx(
            (d.mean(), *np.percentile(means, [2.5, 97.5])))
    with pytest.raises(ValueError, match='diff'):
        stats.crossed_bootstrap(np.zeros((0, 3)))
    with pytest.raises(ValueError, match='level'):
        stats.crossed_bootstrap(d, level=95)

