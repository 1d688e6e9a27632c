from .random_walk import RandomWalk, transition_logits, transition_matrix
from .transition_ops import (ViewTransform, apply_view, crop_view,
                             dense_view_matrix, overlap_block, overlap_size,
                             sample_view, transform_transition,
                             transform_transition_dense, view_valid_mask)
from .window_affinity import (dense_window_softmax,
                              dense_window_softmax_aggregate,
                              offset_log_kernel, window_neighbours,
                              window_offsets, window_pairwise_weights,
                              window_radii, window_softmax_aggregate)
from .local_aggregation import (LocalAggregationModule, LowLevelEmbedding,
                                dense_affinity, dense_affinity_aggregate,
                                local_affinity_aggregate)
from .spherical_kmeans import spherical_kmeans, spherical_kmeans_reference
from .lorm import LoRM, lorm_rectify, lorm_rectify_dense  # noqa: F401
from .potts import (DenseNeighbourhood, GridNeighbourhood,  # noqa: F401
                    potts_relaxation, quadratic_pseudo_labels,
                    self_label_cross_entropy, self_labeling_energy,
                    solve_pseudo_labels)
from .spml_random_walk import (random_walk_matvec, random_walk_squaring,
                               spml_pseudo_label, spml_transition)
