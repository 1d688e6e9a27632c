"""mmscribble.visualization.drawing: values worked by hand."""
import cv2
import numpy as np
import pytest

from mmscribble.visualization.drawing import (colorize, jet, load_image,
                                              overlay, save_rgb, tile)

PALETTE = [[10, 20, 30], [128, 0, 0], [0, 200, 100]]


def test_colorize_maps_ids_to_colours():
    label = np.array([[0, 1], [2, 255]], np.uint8)
    rgb = colorize(label, PALETTE)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(
        rgb, [[[10, 20, 30], [128, 0, 0]], [[0, 200, 100], [0, 0, 0]]])
    # an id beyond the palette is black; another ignore index too
    np.testing.assert_array_equal(
        colorize(np.array([[7]]), PALETTE), [[[0, 0, 0]]])
    rgb = colorize(label, PALETTE, ignore_index=1)
    np.testing.assert_array_equal(rgb[0, 1], [0, 0, 0])
    np.testing.assert_array_equal(rgb[0, 0], [10, 20, 30])


def test_overlay_blends_labeled_pixels_only():
    img = np.full((1, 2, 3), 100, np.uint8)
    label = np.array([[1, 255]], np.uint8)
    out = overlay(img, label, PALETTE, alpha=0.5)
    assert out.dtype == np.uint8
    # 100 * 0.5 + (128, 0, 0) * 0.5 = (114, 50, 50)
    np.testing.assert_array_equal(out[0, 0], [114, 50, 50])
    np.testing.assert_array_equal(out[0, 1], [100, 100, 100])
    # alpha 0.8: 100 * 0.2 + (0, 200, 100) * 0.8 = (20, 180, 100), but the
    # blend is truncated to uint8 and 1 - 0.8 is 0.19999999999999996 in
    # floating point, so red comes out 19
    out = overlay(img, np.array([[2, 2]], np.uint8), PALETTE, alpha=0.8)
    np.testing.assert_array_equal(out[0, 1], [19, 180, 100])


def test_tile_pads_and_separates():
    a = np.full((4, 3, 3), 7, np.uint8)
    b = np.full((2, 5, 3), 9, np.uint8)
    out = tile([a, b])
    assert out.shape == (4, 3 + 2 + 5, 3)
    np.testing.assert_array_equal(out[:, :3], a)
    np.testing.assert_array_equal(out[:, 3:5], 255)  # the 2-px gap
    np.testing.assert_array_equal(out[:2, 5:], 9)
    np.testing.assert_array_equal(out[2:, 5:], 0)  # b padded below
    big = tile([a, b], scale=2)
    assert big.shape == (8, 20, 3)
    np.testing.assert_array_equal(big[::2, ::2], out)  # nearest
    assert tile([a]).shape == a.shape


def test_save_rgb_writes_rgb(tmp_path):
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[..., 0] = 200  # red
    path = str(tmp_path / 'red.png')
    save_rgb(path, rgb)
    np.testing.assert_array_equal(cv2.imread(path), rgb[..., ::-1])
    with pytest.raises(OSError, match='cannot write'):
        save_rgb(str(tmp_path / 'no_dir' / 'x.png'), rgb)


def test_jet_scaling_and_size():
    values = np.array([[0.0, 0.5], [1.0, 2.0]])
    gray = np.array([[0, 128], [255, 255]], np.uint8)  # clipped to [0, 1]
    np.testing.assert_array_equal(
        jet(values), cv2.applyColorMap(gray, cv2.COLORMAP_JET))
    # normalize: min-max first, (0, 2, 4, 8) -> (0, .25, .5, 1)
    np.testing.assert_array_equal(
        jet(values * 4, normalize=True),
        cv2.applyColorMap(
            np.array([[0, 64], [128, 255]], np.uint8), cv2.COLORMAP_JET))
    # a constant map is drawn as 0
    flat = jet(np.full((2, 2), 3.0), normalize=True)
    np.testing.assert_array_equal(
        flat, cv2.applyColorMap(np.zeros((2, 2), np.uint8), cv2.COLORMAP_JET))
    assert jet(values, size=(4, 6)).shape == (4, 6, 3)


def test_load_image_rescales_the_long_side(tmp_path):
    path = str(tmp_path / 'img.png')
    img = np.random.default_rng(0).integers(0, 256, (20, 40, 3), np.uint8)
    cv2.imwrite(path, img)
    np.testing.assert_array_equal(load_image(path, 0), img)  # BGR, as is
    assert load_image(path, 10).shape == (5, 10, 3)
    assert load_image(path, 80).shape == (40, 80, 3)
    bad = tmp_path / 'bad.png'
    bad.write_bytes(b'not a png')
    with pytest.raises(ValueError, match='cannot decode image'):
        load_image(str(bad), 0)
