# Copyright (c) mmscribble contributors. All rights reserved.
"""``MMSegInferencer`` for mmscribble configs and checkpoints."""
from mmseg.apis import MMSegInferencer

from mmscribble.utils.checkpoint import mmengine_safe_globals
from .inference import prepare_inference_config


class ScribbleInferencer(MMSegInferencer):
    """mmseg's inferencer, given a scribble config.

    Two differences from ``MMSegInferencer``, each the fix of one of its
    failures on mmscribble: the config goes through
    :func:`~mmscribble.apis.prepare_inference_config` (mmseg's looks for
    ``LoadImageFromFile`` and strips only ``LoadAnnotations``), and the
    weights are read under :func:`~mmscribble.utils.mmengine_safe_globals`
    (a Runner checkpoint holds the message hub). Everything else, the call
    and its arguments (``out_dir``, ``show``, ``return_datasamples``, ...)
    included, is mmseg's. With a published checkpoint, mmseg's own
    ``MMSegInferencer(prepare_inference_config(cfg), weights)`` works too.

    Args:
        model (str | Config): The training config (or its path).
        weights (str, optional): A checkpoint, published or not.
        **kwargs: ``MMSegInferencer``'s (``classes``, ``palette``,
            ``device``, ...).

    Example:
        >>> from mmscribble.apis import ScribbleInferencer
        >>> inferencer = ScribbleInferencer(CONFIG, CHECKPOINT, device='cpu')
        >>> result = inferencer('image.jpg', out_dir='outputs')
        >>> result['predictions'].shape  # (H, W) class ids
    """

    def __init__(self, model, weights=None, **kwargs):
        super().__init__(prepare_inference_config(model), weights, **kwargs)

    def _init_model(self, cfg, weights, device='cpu'):
        with mmengine_safe_globals():
            return super()._init_model(cfg, weights, device)
