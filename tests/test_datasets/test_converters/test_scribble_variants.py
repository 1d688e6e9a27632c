"""Scribble-drop / scribble-shrink generators."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmscribble.datasets.converters.scribble_variants import (
    drop_dir, file_rng, group_objects, label_scribbles, scribble_drop,
    scribble_shrink, shrink_dir, shrink_mask)
from mmscribble.datasets.converters.scribblesup import read_label_png

STEMS = ('2007_000032', '2007_000033')
RATIOS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


def load(voc_fixture, stem):
    return read_label_png(
        osp.join(voc_fixture, 'pascal_2012_scribble', stem + '.png'))


def crossed_stroke():
    """A class-1 stroke cut in two by a vertical 3-px class-2 stroke."""
    label = np.full((40, 100), 255, dtype=np.uint8)
    label[19:22, 10:90] = 1
    label[5:35, 49:52] = 2
    return label


def test_label_scribbles(voc_fixture):
    comp, classes = label_scribbles(load(voc_fixture, '2007_000032'))
    assert classes.tolist() == [0, 1, 1, 15, 15]
    assert comp.max() == 5
    comp, classes = label_scribbles(crossed_stroke())
    assert classes.tolist() == [1, 1, 2]


def test_group_objects_link_distance():
    comp, classes = label_scribbles(crossed_stroke())
    assert group_objects(comp, classes).tolist() == [0, 0, 1]
    assert group_objects(comp, classes, link_distance=0).tolist() == [0, 1, 2]
    # Scribbles 20 px apart are distinct objects at the default distance.
    label = np.full((40, 100), 255, dtype=np.uint8)
    label[10:13, 10:40] = 1
    label[10:13, 60:90] = 1
    comp, classes = label_scribbles(label)
    assert group_objects(comp, classes).tolist() == [0, 1]
    assert group_objects(comp, classes, link_distance=25).tolist() == [0, 0]
    with pytest.raises(ValueError, match='link_distance'):
        group_objects(comp, classes, link_distance=-1)


def test_group_objects_instances():
    label = np.full((40, 100), 255, dtype=np.uint8)
    label[10:13, 5:30] = 1  # on instance 1
    label[10:13, 70:95] = 1  # on instance 1, 40 px away
    label[30:33, 5:30] = 1  # on instance 2
    label[36:39, 5:95] = 0  # background, on no instance
    instance = np.zeros((40, 100), dtype=np.uint8)
    instance[5:20, :] = 1
    instance[25:34, :] = 2
    instance[12, 5:30] = 255  # void pixels do not vote
    comp, classes = label_scribbles(label)
    assert classes.tolist() == [0, 1, 1, 1]
    obj = group_objects(comp, classes, instance=instance)
    assert obj.tolist() == [0, 1, 1, 2]
    with pytest.raises(ValueError, match='instance map shape'):
        group_objects(comp, classes, instance=instance[:10])


@pytest.mark.parametrize('stem', STEMS)
def test_drop_ratio_zero_is_identity(voc_fixture, stem):
    label = load(voc_fixture, stem)
    for keep in (True, False):
        out = scribble_drop(
            label, 0.0, file_rng(0, stem), keep_background=keep)
        np.testing.assert_array_equal(out, label)


@pytest.mark.parametrize('stem', STEMS)
def test_drop_ratio_one(voc_fixture, stem):
    label = load(voc_fixture, stem)
    out = scribble_drop(label, 1.0, file_rng(0, stem))
    expected = np.where(label == 0, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    out = scribble_drop(label, 1.0, file_rng(0, stem), keep_background=False)
    assert (out == 255).all()


def test_drop_keeps_objects_whole():
    label = crossed_stroke()
    for seed in range(20):
        out = scribble_drop(label, 0.5, file_rng(seed, 'x'))
        left, right = out[20, 20], out[20, 80]
        assert left == right  # both halves of the cut stroke, or neither


def test_drop_is_nested_in_ratio(voc_fixture):
    label = load(voc_fixture, '2007_000033')
    for seed in range(5):
        prev = label
        for ratio in RATIOS:
            out = scribble_drop(
                label, ratio, file_rng(seed, 'a'), keep_background=False)
            assert ((out != 255) <= (prev != 255)).all()
            prev = out


def test_drop_background_flag_does_not_change_foreground(voc_fixture):
    label = load(voc_fixture, '2007_000032')
    for seed in range(10):
        kept = scribble_drop(label, 0.5, file_rng(seed, 's'))
        dropped = scribble_drop(
            label, 0.5, file_rng(seed, 's'), keep_background=False)
        fg = label != 0
        np.testing.assert_array_equal(kept[fg], dropped[fg])


def test_file_rng():
    a = file_rng(3, '2007_000032').random(4)
    np.testing.assert_array_equal(a, file_rng(3, '2007_000032').random(4))
    assert not np.array_equal(a, file_rng(4, '2007_000032').random(4))
    assert not np.array_equal(a, file_rng(3, '2007_000033').random(4))
    for seed in (-1, 1.5, True):
        with pytest.raises(ValueError, match='seed'):
            file_rng(seed, 'x')


def read_dir(path):
    return {
        f: open(osp.join(path, f), 'rb').read()
        for f in sorted(os.listdir(path))
    }


def test_drop_dir_reproducible_and_order_independent(voc_fixture, tmp_path):
    src = osp.join(voc_fixture, 'pascal_2012_scribble')
    drop_dir(src, str(tmp_path / 'a'), 0.5, seed=7)
    drop_dir(src, str(tmp_path / 'b'), 0.5, seed=7)
    a = read_dir(tmp_path / 'a')
    assert sorted(a) == [s + '.png' for s in STEMS]
    assert a == read_dir(tmp_path / 'b')
    # One file alone, or the files in reverse order, give the same bytes.
    single = tmp_path / 'single'
    single.mkdir()
    shutil.copy(osp.join(src, '2007_000033.png'), single)
    drop_dir(str(single), str(tmp_path / 'c'), 0.5, seed=7)
    assert read_dir(tmp_path / 'c')['2007_000033.png'] == \
        a['2007_000033.png']
    for stem in reversed(STEMS):
        out = scribble_drop(load(voc_fixture, stem), 0.5, file_rng(7, stem))
        written = read_label_png(str(tmp_path / 'a' / (stem + '.png')))
        np.testing.assert_array_equal(out, written)
    # Seeds matter.
    outs = set()
    for seed in range(10):
        drop_dir(src, str(tmp_path / f's{seed}'), 0.5, seed=seed)
        outs.add(tuple(read_dir(tmp_path / f's{seed}').values()))
    assert len(outs) > 1


def test_drop_dir_instances(tmp_path):
    src, inst = tmp_path / 'src', tmp_path / 'inst'
    src.mkdir()
    inst.mkdir()
    label = np.full((40, 100), 255, dtype=np.uint8)
    label[10:13, 5:30] = 1
    label[10:13, 70:95] = 1
    instance = np.zeros((40, 100), dtype=np.uint8)
    instance[5:20, :] = 1
    for stem in ('a', 'b'):
        Image.fromarray(label).save(src / f'{stem}.png')
    Image.fromarray(instance).save(inst / 'a.png')
    result = drop_dir(
        str(src), str(tmp_path / 'out'), 0.5, seed=0, instance_dir=str(inst))
    assert result == dict(written=['a', 'b'], with_instances=['a'])
    for seed in range(20):
        out = scribble_drop(label, 0.5, file_rng(seed, 'a'), instance=instance)
        assert out[11, 10] == out[11, 80]
    Image.fromarray(instance[:20]).save(inst / 'b.png')
    with pytest.raises(ValueError, match=r'b.png.*size'):
        drop_dir(str(src), str(tmp_path / 'out'), 0.5, instance_dir=str(inst))


def test_ratio_validation(voc_fixture):
    label = load(voc_fixture, '2007_000032')
    for ratio in (-0.1, 1.5, 'x'):
        with pytest.raises(ValueError, match='ratio'):
            scribble_drop(label, ratio, file_rng(0, 'x'))
        with pytest.raises(ValueError, match='ratio'):
            scribble_shrink(label, ratio)


@pytest.mark.parametrize('stem', STEMS)
def test_shrink_ratio_zero_is_identity(voc_fixture, stem):
    label = load(voc_fixture, stem)
    np.testing.assert_array_equal(scribble_shrink(label, 0.0), label)
    # The algorithm itself (not only the shortcut) keeps whole scribbles at
    # ratios too small to remove a path pixel.
    np.testing.assert_array_equal(scribble_shrink(label, 1e-6), label)


@pytest.mark.parametrize('stem', STEMS)
def test_shrink_ratio_one_keeps_one_pixel_per_scribble(voc_fixture, stem):
    label = load(voc_fixture, stem)
    comp, classes = label_scribbles(label)
    out = scribble_shrink(label, 1.0)
    ys, xs = np.nonzero(out != 255)
    assert len(ys) == len(classes)
    assert sorted(comp[ys, xs].tolist()) == list(range(1, len(classes) + 1))
    np.testing.assert_array_equal(out[ys, xs], label[ys, xs])


@pytest.mark.parametrize('stem', STEMS)
def test_shrink_is_monotone_and_nested(voc_fixture, stem):
    label = load(voc_fixture, stem)
    prev = label
    counts = []
    for ratio in RATIOS:
        out = scribble_shrink(label, ratio)
        kept = out != 255
        assert (kept <= (prev != 255)).all()
        assert (out[kept] == label[kept]).all()
        counts.append(kept.sum())
        prev = out
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert counts[0] > counts[3] > counts[-1]
    # Roughly proportional to the kept length.
    assert abs(counts[3] / counts[0] - 0.5) < 0.1


def test_shrink_keeps_centre_and_width():
    label = np.full((30, 140), 255, dtype=np.uint8)
    label[14:17, 20:121] = 3  # 3 px wide, 101 px long
    out = scribble_shrink(label, 0.5)
    cols = np.nonzero((out == 3).any(0))[0]
    assert abs(cols.mean() - 70) <= 1
    assert 45 <= len(cols) <= 55
    assert ((out[:, cols] == 3).sum(0) == 3).all()
    assert ((out == 3) <= (label == 3)).all()


def test_shrink_measures_along_the_path():
    # An L: two 60-px arms; the central half lies around the corner.
    mask = np.zeros((80, 80), dtype=bool)
    mask[10:13, 10:70] = True
    mask[10:70, 67:70] = True
    kept = shrink_mask(mask, 0.5)
    assert kept[11, 68]  # the corner
    assert not kept[11, 15] and not kept[65, 68]  # both far ends
    # Both arms keep about a quarter of their length.
    horizontal = np.nonzero(kept[11, :66])[0]
    vertical = np.nonzero(kept[14:, 68])[0]
    assert abs(len(horizontal) - len(vertical)) <= 3


def test_shrink_dir(voc_fixture, tmp_path):
    src = osp.join(voc_fixture, 'pascal_2012_scribble')
    assert shrink_dir(src, str(tmp_path / 'a'), 0.5) == list(STEMS)
    shrink_dir(src, str(tmp_path / 'b'), 0.5)
    assert read_dir(tmp_path / 'a') == read_dir(tmp_path / 'b')
    for stem in STEMS:
        with Image.open(tmp_path / 'a' / (stem + '.png')) as img:
            assert img.mode == 'L'
