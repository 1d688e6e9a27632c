# Copyright (c) mmscribble contributors. All rights reserved.
from .inference import load_segmentor, preprocess_image

__all__ = ['load_segmentor', 'preprocess_image']
