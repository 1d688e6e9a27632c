# Copyright (c) mmscribble contributors. All rights reserved.
"""Use a trained segmentor: mmseg's inference calls for scribble configs,
and the offline builders of the analysis tools and pseudo-label writers.

mmseg's ``init_model`` / ``inference_model`` / ``MMSegInferencer`` fail on
an mmscribble config and checkpoint in two ways:

* a checkpoint written by the Runner (``iter_N.pth``) holds mmengine's
  message hub, which torch >= 2.6's safe unpickler refuses;
* the test pipeline loads the dense ground truth with
  ``LoadScribbleAnnotations`` (mmseg strips only its own
  ``LoadAnnotations``: ``KeyError: 'seg_map_path'``) and the image with
  ``LoadScribbleImageFromFile`` (``MMSegInferencer`` looks for
  ``LoadImageFromFile``: ``ValueError``).

:func:`prepare_inference_config` derives the pipeline an image alone goes
through; :func:`init_model` and :func:`inference_model` wrap mmseg's with
it and with :func:`~mmscribble.utils.mmengine_safe_globals`;
:class:`~mmscribble.apis.ScribbleInferencer` does the same for
``MMSegInferencer``. A published checkpoint
(:func:`~mmscribble.apis.publish_checkpoint`) needs no allowlist, so
mmseg's own calls work on it given the prepared config.
"""
import copy
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch

# Transforms that read or compute training targets (labels, cue maps):
# an image alone cannot feed them, and inference does not need them.
TARGET_TRANSFORMS = ('LoadAnnotations', 'LoadScribbleAnnotations',
                     'LoadDepthAnnotation', 'SLICBoundaries',
                     'CDSPDistanceMaps', 'FelzenszwalbSuperpixels')
IMAGE_LOADERS = ('LoadImageFromFile', 'LoadScribbleImageFromFile')


def inference_pipeline(pipeline: Sequence[dict],
                       what: str = 'the test pipeline') -> list:
    """The test pipeline an image without labels goes through.

    Drops :data:`TARGET_TRANSFORMS`, and loads the image with mmcv's
    ``LoadImageFromFile`` (same arguments; the loader mmseg's
    ``inference_model`` swaps for ``LoadImageFromNDArray`` and
    ``MMSegInferencer`` for its own); resizing and packing stay.

    Args:
        pipeline (Sequence[dict]): A test pipeline config.
        what (str): Names the pipeline in errors.

    Returns:
        list[dict]: A new pipeline (the input is not modified).

    Raises:
        ValueError: The pipeline does not start with an image loader.
    """
    steps = [
        copy.deepcopy(dict(t)) for t in pipeline
        if t.get('type') not in TARGET_TRANSFORMS
    ]
    if not steps or steps[0].get('type') not in IMAGE_LOADERS:
        first = steps[0].get('type') if steps else None
        raise ValueError(f'{what} must start with one of {IMAGE_LOADERS}, '
                         f'got {first!r}')
    steps[0]['type'] = 'LoadImageFromFile'
    return steps


def prepare_inference_config(cfg):
    """A copy of ``cfg`` that mmseg's inference calls can use.

    Both pipelines mmseg reads (``cfg.test_pipeline`` for
    ``inference_model``, ``cfg.test_dataloader.dataset.pipeline`` for
    ``MMSegInferencer``) become :func:`inference_pipeline` of the test
    dataloader's pipeline (of ``cfg.test_pipeline`` when there is no test
    dataloader). Applying it twice changes nothing.

    Args:
        cfg (str | Config): A config or its path.

    Returns:
        Config: The prepared copy.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(cfg) if isinstance(cfg, str) else copy.deepcopy(cfg)
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    source = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not source:
        raise ValueError('the config has neither test_dataloader.dataset.'
                         'pipeline nor test_pipeline')
    steps = inference_pipeline(source)
    cfg.test_pipeline = steps
    if dataset:
        cfg.test_dataloader.dataset.pipeline = copy.deepcopy(steps)
    return cfg


def init_model(config,
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None):
    """mmseg's ``init_model`` for mmscribble configs and checkpoints.

    The config is :func:`prepare_inference_config`-ed (``model.cfg`` is the
    prepared copy) and the checkpoint, published or written by the Runner,
    is read under :func:`~mmscribble.utils.mmengine_safe_globals`. The
    classes and palette of the checkpoint's ``meta.dataset_meta`` become
    ``model.dataset_meta``.

    Args:
        config (str | Config): The training config (or its path).
        checkpoint (str, optional): Weights; None keeps a random model.
        device (str): Default ``'cpu'`` (mmseg's is ``'cuda:0'``).
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        nn.Module: The segmentor in eval mode.
    """
    from mmengine.config import Config
    from mmseg.apis import init_model as mmseg_init_model

    from mmscribble.utils.checkpoint import mmengine_safe_globals
    if checkpoint is not None and '://' not in str(checkpoint) \
            and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg = prepare_inference_config(cfg)
    with mmengine_safe_globals():
        return mmseg_init_model(cfg, checkpoint, device=device)


def inference_model(model, img: Union[str, np.ndarray, Sequence]):
    """mmseg's ``inference_model`` through the prepared test pipeline.

    Args:
        model: A segmentor whose ``cfg`` is an mmscribble config (from
            :func:`init_model`, or from mmseg's ``init_model``).
        img (str | np.ndarray | list): Image path(s) or ``(H, W, 3)`` BGR
            array(s).

    Returns:
        SegDataSample | list[SegDataSample]: ``pred_sem_seg`` is
        ``(1, H, W)`` at the image's size.
    """
    from mmseg.apis import inference_model as mmseg_inference_model

    # mmseg edits model.cfg.test_pipeline in place (it swaps the loader for
    # LoadImageFromNDArray on an array and keeps it so): give it a copy.
    cfg = model.cfg
    model.cfg = prepare_inference_config(cfg)
    try:
        return mmseg_inference_model(model, img)
    finally:
        model.cfg = cfg


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
