from .maps import (FIELD_TO_SPEC, SCRIBBLE_MAPS, MapSpec, get_map_spec,
                   register_map)

__all__ = [
    'MapSpec', 'SCRIBBLE_MAPS', 'FIELD_TO_SPEC', 'get_map_spec', 'register_map'
]
