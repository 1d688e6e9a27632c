"""The one label-PNG reader, writer and checks, on PNGs written here."""
import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets import label_io
from mmscribble.datasets.converters import scribblesup
from mmscribble.datasets.label_io import (IGNORE_INDEX, check_label_array,
                                          check_label_file, check_label_ids,
                                          read_image_size, read_label_png,
                                          write_label_png)
from mmscribble.datasets.transforms import loading

LABEL = np.array([[0, 1, 2], [255, 20, 0]], dtype=np.uint8)


def save(path, arr, mode=None, palette=None):
    img = Image.fromarray(arr) if mode is None else Image.fromarray(arr, mode)
    if palette is not None:
        img = img.convert('P')
        img.putpalette(palette)
    img.save(path)
    return str(path)


def test_one_reader_for_pipeline_and_converters():
    for module in (loading, scribblesup):
        assert module.read_label_png is label_io.read_label_png
    assert scribblesup.write_label_png is write_label_png
    assert scribblesup.check_label_ids is check_label_ids
    assert scribblesup.IGNORE_INDEX == IGNORE_INDEX == 255


@pytest.mark.parametrize('eight_bit', [False, True])
def test_grey_png(tmp_path, eight_bit):
    path = save(tmp_path / 'grey.png', LABEL)
    out = read_label_png(path, eight_bit=eight_bit)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, LABEL)


@pytest.mark.parametrize('eight_bit', [False, True])
def test_palette_png_reads_indices_not_colours(tmp_path, eight_bit):
    # Index 1 is drawn white and index 2 black: colours would read 255 / 0.
    palette = [0, 0, 0, 255, 255, 255, 0, 0, 0] + [7] * (768 - 9)
    path = save(tmp_path / 'p.png', LABEL, palette=palette)
    with Image.open(path) as img:
        assert img.mode == 'P'
    out = read_label_png(path, eight_bit=eight_bit)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, LABEL)


def test_16_bit_png_only_without_eight_bit(tmp_path):
    # Superpixel ids above 255, saved as a 16-bit PNG (how the cache tool
    # writes them); PIL opens it as mode I;16 or I, by version.
    ids = np.array([[0, 300], [65535, 5]], dtype=np.uint16)
    path = save(tmp_path / 'ids.png', ids)
    out = read_label_png(path)
    assert out.dtype in (np.uint16, np.int32)
    np.testing.assert_array_equal(out, ids)
    with pytest.raises(ValueError, match=r"ids.png has image mode 'I(;16)?'"
                       r"; .*\(mode 'L' or 'P'\)"):
        read_label_png(path, eight_bit=True)


def test_grey_rgb_only_without_eight_bit(tmp_path):
    grey = save(tmp_path / 'grey_rgb.png', np.repeat(LABEL[..., None], 3, 2))
    np.testing.assert_array_equal(read_label_png(grey), LABEL)
    assert read_label_png(grey).flags['C_CONTIGUOUS']
    with pytest.raises(
            ValueError, match=r"grey_rgb.png has image mode 'RGB'"
            r'; expected'):
        read_label_png(grey, eight_bit=True)
    colour = np.zeros((2, 3, 3), np.uint8)
    colour[0, 0] = (1, 2, 3)
    path = save(tmp_path / 'colour.png', colour)
    with pytest.raises(
            ValueError,
            match=r"colour.png has image mode 'RGB' "
            'with distinct channels'):
        read_label_png(path)


def test_read_errors_name_the_file(tmp_path):
    with pytest.raises(
            FileNotFoundError, match='label file not found: .*nope.png'):
        read_label_png(str(tmp_path / 'nope.png'))
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n garbage')
    for eight_bit in (False, True):
        with pytest.raises(
                ValueError, match='cannot decode label file .*bad.png'):
            read_label_png(str(tmp_path / 'bad.png'), eight_bit=eight_bit)


def test_write_label_png(tmp_path):
    path = str(tmp_path / 'sub' / 'dir' / 'out.png')
    write_label_png(LABEL, path)
    with Image.open(path) as img:
        assert img.mode == 'L'
    np.testing.assert_array_equal(read_label_png(path), LABEL)
    with pytest.raises(ValueError, match=r'out.png.*2-D uint8.*int64'):
        write_label_png(LABEL.astype(np.int64), path)
    with pytest.raises(ValueError, match=r'out.png.*\(2, 3, 1\)'):
        write_label_png(LABEL[..., None], path)


def test_check_label_ids():
    check_label_ids(LABEL, 'a.png', 21)
    with pytest.raises(
            ValueError,
            match=r'a.png contains class ids \[20\] '
            r'outside 0..19 \(the dataset has 20 classes; 255'):
        check_label_ids(LABEL, 'a.png', 20)
    # Another unlabeled value: 255 is then an id out of range.
    with pytest.raises(ValueError, match=r'\[255\] outside 0..20'):
        check_label_ids(LABEL, 'a.png', 21, ignore_index=0)
    with pytest.raises(ValueError, match=r'\[-1\]'):
        check_label_ids(np.array([[-1, 0]]), 'a.png', 2)


def test_check_label_array():
    check_label_array(LABEL, 'a.png', 21, img_shape=(2, 3, 3))
    # num_classes 0: sizes only.
    check_label_array(LABEL, 'a.png', 0, img_shape=(2, 3))
    with pytest.raises(
            ValueError,
            match=r'a.png has size \(2, 3\) \(HxW\) '
            r'but image b.jpg has size \(3, 2\)'):
        check_label_array(
            LABEL, 'a.png', 21, img_shape=(3, 2), img_path='b.jpg')
    with pytest.raises(ValueError, match=r'\[20\]'):
        check_label_array(LABEL, 'a.png', 3)


def test_read_image_size_and_check_label_file(tmp_path):
    img = save(tmp_path / 'img.png', np.zeros((2, 3, 3), np.uint8))
    assert read_image_size(img) == (2, 3)
    label = save(tmp_path / 'label.png', LABEL)
    check_label_file(label, 21, img_path=img)
    check_label_file(label, 21)
    wide = save(tmp_path / 'wide.png', np.zeros((2, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r'label.png has size \(2, 3\)'):
        check_label_file(label, 21, img_path=wide)
    with pytest.raises(ValueError, match=r'\[20\]'):
        check_label_file(label, 20, img_path=img)
    (tmp_path / 'bad.jpg').write_bytes(b'not a jpeg')
    with pytest.raises(ValueError, match='cannot decode image .*bad.jpg'):
        read_image_size(str(tmp_path / 'bad.jpg'))
