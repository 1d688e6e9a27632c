"""mmscribble.visualization.palette: colours for given ids."""
import numpy as np
import pytest
import torch

from mmscribble.datasets.metainfo import VOC_PALETTE, bit_palette
from mmscribble.visualization.palette import (hashed_palette, pca_colours,
                                              random_colours, wrapped_palette)


def test_voc_colour_map_is_bit_palette():
    # The SPML panel's colour map: VOC's, for every 8-bit id.
    pal = bit_palette(256)
    assert pal[1] == [128, 0, 0] and pal[15] == [192, 128, 128]
    # 21 = 0b010101: bits 0, 2 set R's and B's top bit, bit 4 G's second
    assert pal[21] == [128, 64, 128]
    assert pal[255] == [224, 224, 192]


def test_wrapped_palette_wraps_around_voc():
    pal = wrapped_palette(n=23)
    assert len(pal) == 23
    assert pal[:21] == VOC_PALETTE
    assert pal[21] == [0, 0, 0] and pal[22] == [128, 0, 0]
    assert wrapped_palette([[1, 2, 3], [4, 5, 6]], 5) == [[1, 2, 3], [4, 5, 6],
                                                          [1, 2, 3], [4, 5, 6],
                                                          [1, 2, 3]]
    assert len(wrapped_palette()) == 256


def test_hashed_palette_formula():
    pal = hashed_palette()
    assert len(pal) == 256
    assert pal[0] == [0, 0, 0]
    assert pal[1] == [37, 91, 151]
    # 7 * (37, 91, 151) = (259, 637, 1057) = (3, 125, 33) mod 256
    assert pal[7] == [3, 125, 33]
    assert hashed_palette(3) == [[0, 0, 0], [37, 91, 151], [74, 182, 46]]


def test_random_colours_one_colour_per_id():
    label = np.array([[5, 5, 7], [9, 7, 5]])
    rgb = random_colours(label, seed=3)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0], rgb[0, 1])
    np.testing.assert_array_equal(rgb[0, 0], rgb[1, 2])
    np.testing.assert_array_equal(rgb[0, 2], rgb[1, 1])
    # ids shift to start at 0: the colours depend on id - min only
    np.testing.assert_array_equal(random_colours(label - 5, seed=3), rgb)
    np.testing.assert_array_equal(random_colours(label, seed=3), rgb)
    # the colour of id 5 is row 0 of the seed's draw
    draw = np.random.default_rng(3).integers(0, 256, (5, 3), dtype=np.uint8)
    np.testing.assert_array_equal(rgb[0, 0], draw[0])
    np.testing.assert_array_equal(rgb[1, 0], draw[4])


def test_pca_colours_of_a_ramp():
    # One direction of variation: the first component is the ramp, scaled
    # to [0, 255] (either sign); the two flat components are drawn as 0.
    emb = torch.zeros(3, 1, 3)
    emb[0, 0] = torch.tensor([0., 1., 2.])
    rgb = pca_colours(emb)
    assert rgb.shape == (1, 3, 3) and rgb.dtype == np.uint8
    assert rgb[0, :, 0].tolist() in ([0, 128, 255], [255, 128, 0])
    np.testing.assert_array_equal(rgb[..., 1:], 0)


@pytest.mark.parametrize('shape', [(3, 2, 2), (5, 4, 1)])
def test_pca_colours_range(shape):
    rgb = pca_colours(torch.randn(*shape, generator=torch.manual_seed(0)))
    assert rgb.shape == shape[1:] + (3, )
    assert rgb.min() == 0 and rgb.max() == 255
