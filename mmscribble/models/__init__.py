from . import heads, layers, losses, segmentors, utils  # noqa: F401
from .data_preprocessor import ScribbleDataPreProcessor  # noqa: F401
