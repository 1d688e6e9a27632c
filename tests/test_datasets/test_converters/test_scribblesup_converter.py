"""ScribbleSup XML / PNG release -> scribble label PNGs."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets.converters.scribblesup import (
    CONTEXT_CLASSES, VOC_CLASSES, class_name_to_id, convert_png_release,
    convert_xml_release, detect_release_format, parse_scribble_xml,
    read_label_png, render_strokes, rerender_label, stroke_kernel,
    xml_to_label)

DATA = osp.join(osp.dirname(__file__), '..', '..', 'data')
XML_DIR = osp.join(DATA, 'scribblesup_xml')
XML = osp.join(XML_DIR, '2007_000032.xml')
STEMS = ('2007_000032', '2007_000033')


def fixture_png(voc_fixture, stem):
    return osp.join(voc_fixture, 'pascal_2012_scribble', stem + '.png')


def test_class_names_and_aliases():
    assert class_name_to_id('background') == 0
    assert class_name_to_id('plane') == 1
    assert class_name_to_id('Aeroplane') == 1
    assert class_name_to_id('bike') == 2
    assert class_name_to_id('dining table') == 11
    assert class_name_to_id('table') == 11
    assert class_name_to_id('plant') == 16
    assert class_name_to_id('monitor') == 20
    assert class_name_to_id('sky') is None
    # 'table' is a class of its own in PASCAL-Context: no alias there.
    assert class_name_to_id('table', CONTEXT_CLASSES) == \
        CONTEXT_CLASSES.index('table')
    assert class_name_to_id('sky', CONTEXT_CLASSES) == \
        CONTEXT_CLASSES.index('sky')


def test_parse_scribblesup_xml():
    anno = parse_scribble_xml(XML)
    assert anno.filename == '2007_000032.jpg'
    assert anno.size == (281, 500)
    assert [s.class_id for s in anno.strokes] == [0, 1, 15, 2]
    assert [s.name for s in anno.strokes
            ] == ['background', 'plane', 'person', 'bike']
    np.testing.assert_array_equal(anno.strokes[0].points,
                                  [[10, 10], [100, 10], [100, 60]])
    np.testing.assert_array_equal(anno.strokes[2].points, [[200, 200]])


def test_parse_labelme_layout(tmp_path):
    path = tmp_path / 'a.xml'
    path.write_text('<annotation><filename>a.jpg</filename>'
                    '<imagesize><nrows>40</nrows><ncols>60</ncols></imagesize>'
                    '<object><name>dog</name><deleted>0</deleted><polygon>'
                    '<pt><x>1</x><y>2</y></pt><pt><x>30.4</x><y>2.6</y></pt>'
                    '</polygon></object>'
                    '<object><name>cat</name><deleted>1</deleted><polygon>'
                    '<pt><x>5</x><y>5</y></pt></polygon></object>'
                    '</annotation>')
    anno = parse_scribble_xml(str(path))
    assert anno.size == (40, 60)
    assert [s.class_id for s in anno.strokes] == [VOC_CLASSES.index('dog')]
    np.testing.assert_array_equal(anno.strokes[0].points, [[1, 2], [30, 3]])


def test_parse_errors_name_the_file(tmp_path):
    bad = tmp_path / 'broken.xml'
    bad.write_text('<annotation><polygon>')
    with pytest.raises(ValueError, match='broken.xml'):
        parse_scribble_xml(str(bad))
    unknown = tmp_path / 'unknown.xml'
    unknown.write_text('<annotation><polygon><tag>unicorn</tag><point><X>1'
                       '</X><Y>1</Y></point></polygon></annotation>')
    with pytest.raises(ValueError, match=r'unknown.xml.*unicorn'):
        parse_scribble_xml(str(unknown))
    with pytest.warns(UserWarning, match='unicorn'):
        anno = parse_scribble_xml(str(unknown), skip_unknown=True)
    assert anno.strokes == []
    with pytest.raises(ValueError, match=r'unknown.xml.*no <size>'), \
            pytest.warns(UserWarning, match='unicorn'):
        xml_to_label(str(unknown), skip_unknown=True)


def test_stroke_kernel():
    assert stroke_kernel(1).tolist() == [[1]]
    assert stroke_kernel(2).sum() == 4
    assert stroke_kernel(3).sum() == 9
    k5 = stroke_kernel(5)
    assert k5.sum() == 21 and k5[0, 0] == 0 and k5[2].all()
    for width in (0, -1, 2.5):
        with pytest.raises(ValueError, match='width'):
            stroke_kernel(width)


@pytest.mark.parametrize('width', [1, 3, 5])
def test_xml_stroke_width(width):
    label = xml_to_label(XML, width=width)
    assert label.shape == (281, 500) and label.dtype == np.uint8
    # The horizontal plane stroke, away from other strokes: ``width`` rows.
    assert (label[:, 75] == 1).sum() == width
    assert (label[:, 130] == 1).sum() == width
    # The one-point person stroke is a dot of the kernel's shape.
    assert (label == 15).sum() == stroke_kernel(width).sum()
    # Points outside the image are clamped to its border.
    assert (label[:, 499] == 2).sum() == width
    assert set(np.unique(label).tolist()) == {0, 1, 2, 15, 255}


def test_xml_overlap_rules():
    last = xml_to_label(XML, width=3, overlap='last')
    ignore = xml_to_label(XML, width=3, overlap='ignore')
    # The plane stroke (drawn later) crosses the background stroke at
    # (x=100, y=30).
    assert last[30, 100] == 1
    assert ignore[30, 100] == 255
    assert (ignore[29:32, 99:102] == 255).all()
    # Elsewhere both rules agree.
    differ = last != ignore
    assert differ.sum() == 9
    with pytest.raises(ValueError, match='overlap'):
        xml_to_label(XML, overlap='first')


def test_xml_size_from_image(voc_fixture, tmp_path):
    img = osp.join(voc_fixture, 'JPEGImages', '2007_000032.jpg')
    np.testing.assert_array_equal(
        xml_to_label(XML, img_path=img), xml_to_label(XML))
    wrong = tmp_path / 'wrong_size.xml'
    text = open(XML).read().replace('<height>281', '<height>300')
    wrong.write_text(text)
    with pytest.warns(UserWarning, match='differs'):
        label = xml_to_label(str(wrong), img_path=img)
    assert label.shape == (281, 500)
    # Without <size> the image is the only source of the size.
    no_size = tmp_path / 'no_size.xml'
    no_size.write_text(text.split('<size>')[0] + text.split('</size>')[1])
    assert xml_to_label(str(no_size), img_path=img).shape == (281, 500)


def test_render_strokes_is_deterministic():
    strokes = parse_scribble_xml(XML).strokes
    a = render_strokes(strokes, (281, 500))
    b = render_strokes(strokes, (281, 500))
    np.testing.assert_array_equal(a, b)


def test_convert_xml_release(voc_fixture, tmp_path):
    out = tmp_path / 'out'
    stems = convert_xml_release(
        XML_DIR, str(out), img_dir=osp.join(voc_fixture, 'JPEGImages'))
    assert stems == ['2007_000032']
    with Image.open(out / '2007_000032.png') as img:
        assert img.mode == 'L'
        np.testing.assert_array_equal(np.array(img), xml_to_label(XML))
    with pytest.raises(FileNotFoundError, match='2007_000032.jpg'):
        convert_xml_release(XML_DIR, str(out), img_dir=str(tmp_path))
    assert detect_release_format(XML_DIR) == 'xml'


def test_png_keep_width_copies(voc_fixture, tmp_path):
    src = osp.join(voc_fixture, 'pascal_2012_scribble')
    assert detect_release_format(src) == 'png'
    stems = convert_png_release(src, str(tmp_path), keep_width=True)
    assert stems == list(STEMS)
    for stem in STEMS:
        with Image.open(tmp_path / (stem + '.png')) as img:
            assert img.mode == 'L'
            out = np.array(img)
        np.testing.assert_array_equal(
            out, read_label_png(fixture_png(voc_fixture, stem)))


def test_png_rerender_width(voc_fixture):
    label = read_label_png(fixture_png(voc_fixture, '2007_000032'))
    counts = {}
    for width in (1, 3, 5):
        out = rerender_label(label, width)
        assert set(np.unique(out).tolist()) == set(np.unique(label).tolist())
        counts[width] = (out != 255).sum()
        both = (out != 255) & (label != 255)
        # Re-rendered strokes lie on the original ones with their class.
        assert (out[both] == label[both]).all()
    assert counts[1] < counts[3] < counts[5]
    # The release is 3 px wide: re-rendering at 3 px reproduces it.
    out = rerender_label(label, 3)
    iou = ((out != 255) & (label != 255)).sum() / ((out != 255) |
                                                   (label != 255)).sum()
    assert iou > 0.9


def test_png_rerender_exact_width():
    label = np.full((40, 80), 255, dtype=np.uint8)
    label[17:24, 10:70] = 5  # a 7-px wide horizontal stroke
    for width in (1, 3, 5):
        out = rerender_label(label, width)
        assert (out[:, 40] == 5).sum() == width
        assert out[20, 40] == 5


def test_png_palette_input(voc_fixture, tmp_path):
    label = read_label_png(fixture_png(voc_fixture, '2007_000033'))
    src = tmp_path / 'src'
    src.mkdir()
    img = Image.fromarray(label).convert('P')
    img.putpalette(list(np.random.RandomState(0).randint(0, 255, 768)))
    img.save(src / 'p.png')
    with Image.open(src / 'p.png') as check:
        assert check.mode == 'P'
    convert_png_release(str(src), str(tmp_path / 'out'), keep_width=True)
    with Image.open(tmp_path / 'out' / 'p.png') as out:
        assert out.mode == 'L'
        np.testing.assert_array_equal(np.array(out), label)


def test_png_validation_names_the_file(voc_fixture, tmp_path):
    src = tmp_path / 'src'
    shutil.copytree(osp.join(voc_fixture, 'pascal_2012_scribble'), src)
    label = np.full((10, 10), 255, dtype=np.uint8)
    label[2, 2] = 21
    Image.fromarray(label).save(src / 'bad_id.png')
    with pytest.raises(ValueError, match=r'bad_id.png.*\[21\]'):
        convert_png_release(str(src), str(tmp_path / 'out'))
    # Context has 60 classes: 21 is valid there.
    os.remove(src / '2007_000032.png')
    os.remove(src / '2007_000033.png')
    convert_png_release(
        str(src),
        str(tmp_path / 'out'),
        keep_width=True,
        num_classes=len(CONTEXT_CLASSES))
    os.remove(src / 'bad_id.png')
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(src / 'rgb.png')
    with pytest.raises(ValueError, match=r"rgb.png.*mode 'RGB'"):
        convert_png_release(str(src), str(tmp_path / 'out'))
