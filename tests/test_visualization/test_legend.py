"""The class legend: one swatch of the class colour and its name per row."""
import numpy as np
import pytest

from mmscribble.visualization import legend_panel, with_legend
from mmscribble.visualization.legend import ROW, SWATCH

CLASSES = ('background', 'road', 'building')
PALETTE = [[0, 0, 0], [200, 10, 10], [10, 200, 10]]


def swatch(panel, row):
    y = row * ROW + 2
    return panel[y:y + SWATCH, 2:2 + SWATCH]


def test_rows_hold_the_class_colours_in_order():
    panel = legend_panel(CLASSES, PALETTE)
    assert panel.shape[0] == 3 * ROW + 4
    for row, colour in enumerate(PALETTE):
        assert (swatch(panel, row) == colour).all()
    # the name is drawn (dark pixels) right of the swatch, on a white
    # panel
    text = panel[2:2 + ROW, SWATCH + 6:]
    assert (text < 128).any() and (panel[:, -2:] == 255).all()


def test_selected_ids_only():
    panel = legend_panel(CLASSES, PALETTE, ids=[2])
    assert panel.shape[0] == ROW + 4
    assert (swatch(panel, 0) == PALETTE[2]).all()


def test_longer_names_widen_the_panel():
    short = legend_panel(('a', 'b'), PALETTE[:2])
    long = legend_panel(('a', 'a much longer class name'), PALETTE[:2])
    assert long.shape[1] > short.shape[1]


def test_unknown_id_is_named():
    with pytest.raises(ValueError, match='class id 3'):
        legend_panel(CLASSES, PALETTE, ids=[3])


def test_with_legend_keeps_the_picture_and_matches_its_height():
    img = np.random.default_rng(0).integers(0, 255, (100, 30, 3),
                                            dtype=np.uint8)
    out = with_legend(img, CLASSES, PALETTE)
    panel = legend_panel(CLASSES, PALETTE, height=100)
    assert out.shape == (100, 30 + 2 + panel.shape[1], 3)
    assert (out[:, :30] == img).all()
    assert (out[:, 32:] == panel).all()
    # a picture lower than the legend is padded below with black
    small = with_legend(img[:10], CLASSES, PALETTE)
    assert small.shape[0] == 3 * ROW + 4
    assert (small[10:, :30] == 0).all()
