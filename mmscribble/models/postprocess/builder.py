"""The test-time post-processing a segmentor's ``test_cfg`` asks for."""
from typing import Callable, List, Optional

from .dense_crf import DenseCRFPostProcessor
from .largest_component import LargestComponentPostProcessor

# Applied in this order: the CRF refines the network's probabilities, the
# clean-up then edits the CRF's label map.
_STEPS = (('crf', DenseCRFPostProcessor),
          ('largest_component', LargestComponentPostProcessor))


class PostProcessChain:
    """Run post-processors one after the other on a batch's results."""

    def __init__(self, steps: List[Callable]):
        self.steps = steps

    def __repr__(self):
        return f'{type(self).__name__}({self.steps})'

    def __call__(self, inputs, results, data_preprocessor):
        for step in self.steps:
            results = step(inputs, results, data_preprocessor)
        return results


def build_postprocessor(test_cfg) -> Optional[PostProcessChain]:
    """The post-processing ``test_cfg`` asks for (``crf=dict(...)``,
    ``largest_component=dict(...)``), or None."""
    steps = []
    for key, step_type in _STEPS:
        value = (test_cfg or {}).get(key, None)
        if value is None or value is False:
            continue
        if not isinstance(value, dict):
            example = ("dict(preset='blpseg')"
                       if key == 'crf' else 'dict(connectivity=4)')
            raise ValueError(f'model.test_cfg.{key}: give a dict, e.g. '
                             f'{example}, not {value!r}')
        steps.append(step_type(**dict(value)))
    return PostProcessChain(steps) if steps else None
