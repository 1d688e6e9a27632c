from .scribble_encoder_decoder import ScribbleEncoderDecoder

__all__ = ['ScribbleEncoderDecoder']
