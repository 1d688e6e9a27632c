# Copyright (c) mmscribble contributors. All rights reserved.
"""Segment image files and write label PNGs and legended overlays
(``tools/inference.py``)."""
import os
import os.path as osp
from typing import List, Tuple

import mmcv
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


def list_images(path: str) -> List[str]:
    """``[path]`` for an image file; the images of a folder (not its
    sub-folders), sorted by name.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: A folder without images, a file that is not an image,
            or two images of a folder with the same stem (their outputs
            would overwrite each other).
    """
    if osp.isfile(path):
        if not path.lower().endswith(IMAGE_EXTENSIONS):
            raise ValueError(f'{path} is not an image '
                             f'({", ".join(IMAGE_EXTENSIONS)})')
        return [path]
    if not osp.isdir(path):
        raise FileNotFoundError(f'image or folder not found: {path}')
    names = sorted(n for n in os.listdir(path)
                   if n.lower().endswith(IMAGE_EXTENSIONS)
                   and osp.isfile(osp.join(path, n)))
    if not names:
        raise ValueError(f'no image ({", ".join(IMAGE_EXTENSIONS)}) in '
                         f'{path}')
    stems = [osp.splitext(n)[0] for n in names]
    clash = sorted({s for s in stems if stems.count(s) > 1})
    if clash:
        raise ValueError(f'{path} has several images named {clash[0]}.*: '
                         'their outputs would overwrite each other')
    return [osp.join(path, n) for n in names]


def class_colours(model) -> Tuple[tuple, list]:
    """``(classes, palette)`` of ``model.dataset_meta`` (VOC's bit palette
    when the checkpoint has no palette)."""
    from mmscribble.datasets.metainfo import bit_palette
    meta = getattr(model, 'dataset_meta', None) or {}
    classes = tuple(meta.get('classes') or ())
    if not classes:
        raise ValueError('the model has no dataset_meta.classes: load it '
                         'with mmscribble.apis.init_model from a checkpoint '
                         'written by tools/train.py')
    palette = meta.get('palette') or bit_palette(len(classes))
    return classes, [list(map(int, c)) for c in palette]


def predict_label(model, img_path: str) -> np.ndarray:
    """``(H, W)`` uint8 class ids of the image at ``img_path``, at its
    size."""
    from .inference import inference_model
    result = inference_model(model, img_path)
    return result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)


def write_predictions(model,
                      images: List[str],
                      out_dir: str,
                      opacity: float = 0.5) -> List[Tuple[str, str]]:
    """Segment ``images``; write ``out_dir/labels/<stem>.png`` and
    ``out_dir/overlays/<stem>.png``.

    A label PNG is single-channel, the class id per pixel (the
    ``ScribbleDataset`` format). An overlay is the image with the
    prediction blended in at ``opacity`` and, to its right, a legend of the
    classes the prediction contains.

    Args:
        model: A segmentor from :func:`~mmscribble.apis.init_model`.
        images (list[str]): Image paths (:func:`list_images`).
        out_dir (str): Output folder (created).
        opacity (float): Weight of the class colour in the overlay.

    Returns:
        list[tuple[str, str]]: ``(label path, overlay path)`` per image.
    """
    from mmscribble.datasets.label_io import write_label_png
    from mmscribble.visualization import overlay, save_rgb, with_legend
    classes, palette = class_colours(model)
    written = []
    for path in images:
        stem = osp.splitext(osp.basename(path))[0]
        label = predict_label(model, path)
        label_path = osp.join(out_dir, 'labels', stem + '.png')
        write_label_png(label, label_path)
        img_rgb = mmcv.imread(path, channel_order='rgb')
        picture = overlay(img_rgb, label, palette, alpha=opacity)
        overlay_path = osp.join(out_dir, 'overlays', stem + '.png')
        os.makedirs(osp.dirname(overlay_path), exist_ok=True)
        save_rgb(overlay_path,
                 with_legend(picture, classes, palette, np.unique(label)))
        written.append((label_path, overlay_path))
    return written
