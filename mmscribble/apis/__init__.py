# Copyright (c) mmscribble contributors. All rights reserved.
from .inference import (inference_model, inference_pipeline, init_model,
                        load_segmentor, prepare_inference_config,
                        preprocess_image)
from .inferencer import ScribbleInferencer
from .publish import publish_checkpoint, sha256_of

__all__ = [
    'init_model', 'inference_model', 'inference_pipeline',
    'prepare_inference_config', 'ScribbleInferencer', 'publish_checkpoint',
    'sha256_of', 'load_segmentor', 'preprocess_image'
]
