from .formatting import PackScribbleInputs
from .geometric import (ScribbleGaussianBlur, ScribblePad,
                        ScribbleRandomCrop, ScribbleRandomFlip,
                        ScribbleRandomResize, ScribbleRandomRot90,
                        ScribbleRandomRotate)
from .loading import (LoadScribbleAnnotations, LoadScribbleImageFromFile,
                      check_label_file, read_label_png)

__all__ = [
    'PackScribbleInputs', 'ScribbleGaussianBlur', 'ScribblePad',
    'ScribbleRandomCrop', 'ScribbleRandomFlip', 'ScribbleRandomResize',
    'ScribbleRandomRot90', 'ScribbleRandomRotate', 'LoadScribbleAnnotations',
    'LoadScribbleImageFromFile', 'check_label_file', 'read_label_png'
]
from .cues import SLICBoundaries, compute_slic_boundaries  # noqa: F401,E402
from .distance_maps import CDSPDistanceMaps  # noqa: F401,E402
from .superpixels import FelzenszwalbSuperpixels  # noqa: F401,E402
