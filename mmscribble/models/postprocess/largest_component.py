"""Test-time largest-connected-component clean-up.

Any config switches it on with ``model.test_cfg.largest_component``::

    model = dict(test_cfg=dict(mode='whole', largest_component=dict()))
    # or on the command line, for tools/test.py or the table tool:
    --cfg-options model.test_cfg.largest_component.connectivity=4

For each class in ``classes`` (default: every class but ``background``),
the predicted mask of one image keeps only its largest connected component;
the pixels of the other components become ``background``. This is the
clean-up of the cardiac MR segmentation code the MSCMR papers build on
(the ACDC baseline's ``keep_largest_connected_components``, used by the
CycleMix and ZScribbleSeg authors): one structure (RV, myocardium, LV) is
one connected region in a short-axis slice, so a second blob is an error.
It is applied per 2-D prediction (per slice on MSCMR), after the dense
CRF when both are configured. A class the image does not predict is left
alone; ties between equally large components keep the one found first
(lowest label of :func:`scipy.ndimage.label`, i.e. first in raster order).

Do not use it where one class can legitimately form several regions in one
image (people, cars in VOC): it is for anatomy with one region per
structure.
"""
from typing import Optional, Sequence

import numpy as np
import torch
from scipy import ndimage

# 4-connectivity (edge neighbours) as the ACDC code's skimage
# ``measure.label(connectivity=1)``; 8 adds the diagonal neighbours.
_STRUCTURES = {
    4: ndimage.generate_binary_structure(2, 1),
    8: ndimage.generate_binary_structure(2, 2),
}


def keep_largest_components(pred: np.ndarray,
                            classes: Sequence[int],
                            background: int = 0,
                            connectivity: int = 4) -> np.ndarray:
    """A copy of the ``(H, W)`` label map ``pred`` in which each class of
    ``classes`` keeps only its largest connected component; the rest of
    that class becomes ``background``."""
    if pred.ndim != 2:
        raise ValueError(f'keep_largest_components: pred must be (H, W), got'
                         f' shape {pred.shape}')
    if connectivity not in _STRUCTURES:
        raise ValueError(f'connectivity must be 4 or 8, got {connectivity!r}')
    out = pred.copy()
    for cls in classes:
        if cls == background:
            continue
        components, count = ndimage.label(
            pred == cls, structure=_STRUCTURES[connectivity])
        if count < 2:
            continue
        sizes = np.bincount(components.ravel())
        sizes[0] = 0  # not the class
        keep = int(np.argmax(sizes))
        out[(components != 0) & (components != keep)] = background
    return out


class LargestComponentPostProcessor:
    """Keep the largest connected component per class of each prediction.

    Args:
        classes (sequence of int, optional): the classes cleaned (default:
            every class of the head's output but ``background``).
        background (int): the class removed pixels get (default 0).
        connectivity (int): 4 (default, edge neighbours, as the ACDC /
            CycleMix code) or 8.

    ``seg_logits`` are left as the network gave them; only
    ``pred_sem_seg`` changes.
    """

    def __init__(self,
                 classes: Optional[Sequence[int]] = None,
                 background: int = 0,
                 connectivity: int = 4):
        if connectivity not in _STRUCTURES:
            raise ValueError('model.test_cfg.largest_component.connectivity '
                             f'must be 4 or 8, got {connectivity!r}')
        if not isinstance(background, int) or background < 0:
            raise ValueError('model.test_cfg.largest_component.background '
                             f'must be an int >= 0, got {background!r}')
        if classes is not None:
            classes = tuple(classes)
            bad = [c for c in classes if not isinstance(c, int) or c < 0]
            if bad or not classes:
                raise ValueError(
                    'model.test_cfg.largest_component.classes must be a '
                    f'non-empty list of class ids >= 0, got {classes!r}')
        self.classes = classes
        self.background = background
        self.connectivity = connectivity

    def __repr__(self):
        return (f'{type(self).__name__}(classes={self.classes}, background='
                f'{self.background}, connectivity={self.connectivity})')

    def __call__(self, inputs: torch.Tensor, results, data_preprocessor):
        """Clean each ``SegDataSample`` of ``results`` in place."""
        for sample in results:
            classes = self.classes
            if classes is None:
                classes = range(sample.seg_logits.data.shape[0])
            pred = sample.pred_sem_seg.data
            clean = keep_largest_components(pred[0].cpu().numpy(), classes,
                                            self.background,
                                            self.connectivity)
            sample.set_data(
                dict(
                    pred_sem_seg=sample.pred_sem_seg.__class__(
                        data=torch.from_numpy(clean).to(pred)[None])))
        return results
