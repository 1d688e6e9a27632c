# Copyright (c) mmscribble contributors. All rights reserved.
"""Soft self-labeling with Potts relaxations (Zhang & Boykov): the pieces.

One import place for the three modules of one concern each:

* ``potts_relaxations.py``: the cross-entropies ``H`` (Eq. 9-11) and the
  six Potts relaxations ``P`` (Tables 1-2), with closed-form gradients;
* ``potts_neighbourhoods.py``: the grid and dense neighbourhoods ``N``
  with their colour-affinity weights, and the energy of Eq. 8 over ``y``;
* ``potts_solvers.py``: the pseudo-label solvers (Appendix A and a faster
  setting), the closed-form oracle of the quadratic pair and the soft
  Jaccard index that scores them.
"""
from .potts_neighbourhoods import (DenseNeighbourhood, GridNeighbourhood,
                                   rgb_guide, self_labeling_energy,
                                   self_labeling_energy_grad)
from .potts_relaxations import (CROSS_ENTROPIES, LOG_RELAXATIONS, RELAXATIONS,
                                potts_from_products, potts_product_grads,
                                potts_relaxation, self_label_cross_entropy,
                                self_label_cross_entropy_grad_y)
from .potts_solvers import (FAST_SOLVER, REFERENCE_SOLVER, SOLVER_OPTIMIZERS,
                            quadratic_pseudo_labels, soft_jaccard,
                            solve_pseudo_labels)

__all__ = [
    'RELAXATIONS', 'CROSS_ENTROPIES', 'LOG_RELAXATIONS', 'potts_from_products',
    'potts_relaxation', 'self_label_cross_entropy', 'rgb_guide',
    'GridNeighbourhood', 'DenseNeighbourhood', 'self_labeling_energy',
    'self_labeling_energy_grad', 'potts_product_grads',
    'self_label_cross_entropy_grad_y', 'solve_pseudo_labels',
    'REFERENCE_SOLVER', 'FAST_SOLVER', 'SOLVER_OPTIMIZERS',
    'quadratic_pseudo_labels', 'soft_jaccard'
]
