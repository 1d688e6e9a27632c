# Copyright (c) mmscribble contributors. All rights reserved.
"""Build a trained segmentor for offline use (the analysis tools and the
pseudo-label writers) and feed it one image."""
import numpy as np
import torch


def load_segmentor(config: str,
                   checkpoint: str,
                   device: str,
                   cfg_options=None,
                   head_type=None,
                   check=None):
    """Build the segmentor of ``config`` and load ``checkpoint`` into it.

    The backbone's ``init_cfg`` (ImageNet weights) is never applied: all
    weights come from the checkpoint. With ``head_type``, a config whose
    decode head is of another type is rejected before loading, and
    ``check(model)`` (if given) may raise for a tool-specific reason, also
    before the checkpoint is read.
    """
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmseg.registry import MODELS

    from mmscribble.utils.checkpoint import mmengine_safe_globals
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    cfg.model.train_cfg = None
    model = MODELS.build(cfg.model)
    if head_type is not None and not isinstance(model.decode_head, head_type):
        raise TypeError(f'{config} builds a {type(model.decode_head).__name__}'
                        f'; this tool needs a {head_type.__name__}')
    if check is not None:
        check(model)
    # A Runner-written checkpoint (work_dirs/iter_N.pth) holds mmengine's
    # message hub, which the safe unpickler reads only with this allowlist.
    with mmengine_safe_globals():
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    return revert_sync_batchnorm(model).to(device).eval()


def preprocess_image(model, img: np.ndarray) -> dict:
    """Run ``model``'s data preprocessor (test mode) on one BGR image.

    Args:
        model: A segmentor from :func:`load_segmentor`.
        img (np.ndarray): ``(H, W, 3)`` BGR uint8 image.

    Returns:
        dict: The preprocessor's output; ``inputs`` is the ``(1, 3, H', W')``
        normalised batch on the model's device.
    """
    device = next(model.parameters()).device
    inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return model.data_preprocessor(dict(inputs=[inputs.to(device)]), False)
