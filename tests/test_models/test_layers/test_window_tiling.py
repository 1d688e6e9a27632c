"""The key-buffer tiling of the window engine
(mmscribble/models/layers/window_tiling.py): every view reads the pixel
it names."""
import pytest
import torch

from mmscribble.models.layers.window_tiling import WindowTiling


def _map(n=2, c=3, h=5, w=23, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, h, w, generator=g, dtype=torch.float64)


@pytest.mark.parametrize('ry, rx', [(0, 0), (1, 2), (2, 9)])
def test_round_trips(ry, rx):
    t = _map()
    geo = WindowTiling(2, 5, 23, ry, rx)
    assert geo.width_keys >= 23 + rx
    assert geo.span == geo.tile + 2 * rx
    assert torch.equal(geo.from_keys(geo.keys(t)), t)
    tiles = geo.query_tiles(t)
    assert tiles.shape == (5, 2, geo.n_tiles, geo.tile, 3)
    assert torch.equal(geo.from_query_tiles(tiles), t)


def test_rows_and_sweep_order():
    geo = WindowTiling(1, 6, 4, 2, 1)
    assert geo.rows(0) == (0, 6)
    assert geo.rows(2) == (0, 4)
    assert geo.rows(-2) == (2, 6)
    assert geo.dys == [0, -2, -1, 1, 2]


@pytest.mark.parametrize('ry, rx', [(1, 2), (2, 9)])
def test_key_windows_read_the_window(ry, rx):
    n, c, h, w = 2, 3, 5, 23
    t = _map(n, c, h, w)
    geo = WindowTiling(n, h, w, ry, rx)
    buf = geo.keys(t)
    for dy in range(-ry, ry + 1):
        y0, y1 = geo.rows(dy)
        win = geo.key_windows(buf, dy).view(y1 - y0, n, geo.n_tiles, geo.span,
                                            c)
        queries = geo.query_windows(buf, dy).view(y1 - y0, n, geo.n_tiles,
                                                  geo.tile, c)
        for y in range(y0, y1):
            for b in range(geo.n_tiles):
                for q in range(geo.span):
                    x = b * geo.tile + q - rx
                    got = win[y - y0, :, b, q]
                    if 0 <= x < w:
                        assert torch.equal(got, t[:, :, y + dy, x])
                    elif x < 0:
                        assert torch.equal(got, torch.zeros_like(got))
                for j in range(geo.tile):
                    x = b * geo.tile + j
                    if x < w:
                        assert torch.equal(queries[y - y0, :, b, j], t[:, :, y,
                                                                       x])


def test_add_key_windows_is_the_adjoint_of_key_windows():
    n, c, h, w, ry, rx = 1, 2, 4, 19, 1, 3
    geo = WindowTiling(n, h, w, ry, rx)
    g = torch.Generator().manual_seed(1)
    t = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
    dy = 1
    y0, y1 = geo.rows(dy)
    count = (y1 - y0) * n * geo.n_tiles
    lhs = torch.randn(count, geo.span, 1, generator=g, dtype=torch.float64)
    rhs = torch.ones(count, 1, c, dtype=torch.float64)
    # <key_windows(keys(t)), lhs @ rhs> == <t, from_keys(adjoint)>.
    forward = (geo.key_windows(geo.keys(t), dy) * (lhs @ rhs)).sum()
    acc = geo.keys(torch.zeros_like(t))
    geo.add_key_windows_(acc, lhs, rhs, dy)
    torch.testing.assert_close((geo.from_keys(acc) * t).sum(), forward)


def test_biases_keep_the_band_and_each_querys_own_key():
    geo = WindowTiling(1, 3, 10, 1, 2)
    bias = geo.biases(None, torch.float64, torch.device('cpu'))
    assert bias.shape == (3, geo.n_tiles, geo.tile, geo.span)
    for t in range(geo.tile):
        # Own key (dy = 0, dx = 0) always kept, even past the image.
        assert bias[1, -1, t, t + 2].item() == 0
        # Outside the band 0 <= q - t <= 2 rx: no weight.
        if t + 5 < geo.span:
            assert bias[0, 0, t, t + 5].item() == float('-inf')
    # A key column left of the image has no weight, except the own key.
    assert bias[0, 0, 0, 0].item() == float('-inf')
    kernel = torch.tensor([[-1., -2., -3., -4., -5.]] * 3, dtype=torch.float64)
    kb = geo.biases(kernel, torch.float64, torch.device('cpu'))
    assert kb[0, 0, 0, 2].item() == -3.0  # q - t = 2: kernel column 2
    assert kb[0, 0, 1, 5].item() == -5.0  # q - t = 4: kernel column 4
