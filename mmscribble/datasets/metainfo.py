"""Class names and palettes of the datasets mmscribble reads.

The index of a name is its class id in the label PNGs; 255 is unlabeled.
The dataset classes (``METAINFO``) and the offline converters read the
lists from here.
"""
from typing import List

VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle',
               'bus', 'car', 'cat', 'chair', 'cow', 'diningtable', 'dog',
               'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa',
               'train', 'tvmonitor')
VOC_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128],
               [128, 0, 128], [0, 128, 128], [128, 128, 128], [64, 0, 0],
               [192, 0, 0], [64, 128, 0], [192, 128, 0], [64, 0, 128],
               [192, 0, 128], [64, 128, 128], [192, 128, 128], [0, 64, 0],
               [128, 64, 0], [0, 192, 0], [128, 192, 0], [0, 64, 128]]

# PASCAL-Context, 59 frequent classes plus background (60 labels), the
# setting ScribbleSup and BLPSeg report.
CONTEXT_CLASSES = ('background', 'aeroplane', 'bag', 'bed', 'bedclothes',
                   'bench', 'bicycle', 'bird', 'boat', 'book', 'bottle',
                   'building', 'bus', 'cabinet', 'car', 'cat', 'ceiling',
                   'chair', 'cloth', 'computer', 'cow', 'cup', 'curtain',
                   'dog', 'door', 'fence', 'floor', 'flower', 'food', 'grass',
                   'ground', 'horse', 'keyboard', 'light', 'motorbike',
                   'mountain', 'mouse', 'person', 'plate', 'platform',
                   'pottedplant', 'road', 'rock', 'sheep', 'shelves',
                   'sidewalk', 'sign', 'sky', 'snow', 'sofa', 'table', 'track',
                   'train', 'tree', 'truck', 'tvmonitor', 'wall', 'water',
                   'window', 'wood')

# MSCMRseg LGE cardiac MR: right ventricle, myocardium, left ventricle.
MSCMR_CLASSES = ('background', 'RV', 'Myo', 'LV')


def bit_palette(num_classes: int) -> List[List[int]]:
    """VOC's colour map: the bits of the class id spread over R, G and B.

    Bit ``3 j + k`` of the id (``k`` = 0 red, 1 green, 2 blue) becomes bit
    ``7 - j`` of channel ``k``, so ids that differ in a low bit differ
    strongly in colour. The first 21 entries are :data:`VOC_PALETTE`.

    Args:
        num_classes (int): Number of colours.

    Returns:
        list[list[int]]: ``num_classes`` ``[r, g, b]`` triples in 0..255.
    """
    palette = []
    for i in range(num_classes):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append([r, g, b])
    return palette


CONTEXT_PALETTE = bit_palette(len(CONTEXT_CLASSES))
