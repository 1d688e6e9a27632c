"""Class lists and palettes: values, and the same objects everywhere."""
import os.path as osp

from mmengine.config import Config

from mmscribble.datasets import (PascalContextScribbleDataset,
                                 VOCScribbleDataset, scribble_dataset)
from mmscribble.datasets.converters import mscmr, scribblesup
from mmscribble.datasets.metainfo import (CONTEXT_CLASSES, CONTEXT_PALETTE,
                                          MSCMR_CLASSES, VOC_CLASSES,
                                          VOC_PALETTE, bit_palette)

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')


def test_class_lists():
    assert len(VOC_CLASSES) == 21 and len(CONTEXT_CLASSES) == 60
    assert VOC_CLASSES[0] == CONTEXT_CLASSES[0] == 'background'
    assert VOC_CLASSES.index('tvmonitor') == 20
    assert CONTEXT_CLASSES.index('table') == 50
    assert len(set(CONTEXT_CLASSES)) == 60
    assert MSCMR_CLASSES == ('background', 'RV', 'Myo', 'LV')


def test_bit_palette():
    assert bit_palette(0) == []
    # Id 1 -> red bit 7, 2 -> green bit 7, 4 -> blue bit 7, 8 -> red bit 6.
    assert bit_palette(9)[1:] == [[128, 0, 0], [0, 128, 0], [128, 128, 0],
                                  [0, 0, 128], [128, 0, 128], [0, 128, 128],
                                  [128, 128, 128], [64, 0, 0]]
    assert bit_palette(21) == VOC_PALETTE
    assert CONTEXT_PALETTE == bit_palette(60)
    assert CONTEXT_PALETTE[59] == [192, 192, 64]
    assert len({tuple(c) for c in CONTEXT_PALETTE}) == 60


def test_datasets_and_converters_share_the_lists():
    assert VOCScribbleDataset.METAINFO == dict(
        classes=VOC_CLASSES, palette=VOC_PALETTE)
    assert PascalContextScribbleDataset.METAINFO == dict(
        classes=CONTEXT_CLASSES, palette=CONTEXT_PALETTE)
    for name in ('VOC_CLASSES', 'VOC_PALETTE', 'CONTEXT_CLASSES',
                 'CONTEXT_PALETTE'):
        assert getattr(scribble_dataset, name) is globals()[name]
    assert scribblesup.VOC_CLASSES is VOC_CLASSES
    assert scribblesup.DATASET_CLASSES == dict(
        voc=VOC_CLASSES, context=CONTEXT_CLASSES)
    assert mscmr.CLASSES is MSCMR_CLASSES


def test_mscmr_config_names_the_same_classes():
    cfg = Config.fromfile(
        osp.join(CONFIGS, '_base_', 'datasets', 'mscmr_scribble.py'))
    assert tuple(cfg.metainfo['classes']) == MSCMR_CLASSES
