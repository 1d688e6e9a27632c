"""potts.py is the one import place of soft self-labeling's layers: every
public name of the three modules (tested in test_potts_relaxations.py,
test_potts_neighbourhoods.py and test_potts_solvers.py) is there."""
import pytest

from mmscribble.models.layers import (potts, potts_neighbourhoods,
                                      potts_relaxations, potts_solvers)

MODULES = (potts_relaxations, potts_neighbourhoods, potts_solvers)


def test_potts_exports_are_the_modules_objects():
    owner = {}
    for module in MODULES:
        for name in module.__all__:
            owner.setdefault(name, module)
    for name in potts.__all__:
        assert name in owner, name
        assert getattr(potts, name) is getattr(owner[name], name)


@pytest.mark.parametrize('name', [
    'CROSS_ENTROPIES', 'FAST_SOLVER', 'LOG_RELAXATIONS', 'RELAXATIONS',
    'REFERENCE_SOLVER', 'SOLVER_OPTIMIZERS', 'DenseNeighbourhood',
    'GridNeighbourhood', 'potts_from_products', 'potts_product_grads',
    'potts_relaxation', 'quadratic_pseudo_labels', 'rgb_guide',
    'self_label_cross_entropy', 'self_label_cross_entropy_grad_y',
    'self_labeling_energy', 'self_labeling_energy_grad', 'soft_jaccard',
    'solve_pseudo_labels'
])
def test_public_names_keep_their_import_path(name):
    assert name in potts.__all__
    assert getattr(potts, name) is not None


def test_solver_settings():
    assert potts.REFERENCE_SOLVER == dict(
        steps=200, lr=0.075, optimizer='adam')
    assert potts.FAST_SOLVER == dict(steps=50, lr=0.2, optimizer='auto')
    assert potts.SOLVER_OPTIMIZERS == ('adam', 'sgd', 'cg', 'auto')
