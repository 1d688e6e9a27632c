"""Fit SPML's classifier on the fixed embedding at the end of stage 1."""
from typing import Optional

from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SPMLClassifierRefitHook(Hook):
    """After the last training iteration, fit the ``SPMLHead`` classifier
    (``conv_seg``) on the learned embedding of the training scribbles.

    The paper fixes the learned embedding and then trains the softmax
    classifier ``S1`` (A.4); the head's own classifier, trained alongside
    the embedding on its detached output, may not follow it: on MSCMR at
    1920 iterations it predicted background for 98.6% of the val pixels
    while the embedding held the classes (docs/spml.md). This hook is the
    paper's step: :func:`~mmscribble.models.utils.spml_classifier_refit.
    refit_spml_classifier` on the ``train`` split's images, whole and
    unaugmented, read in eval mode. It runs before ``CheckpointHook``
    (priority ``NORMAL``), so the last checkpoint, the pseudo-label step
    and the test after training all use the fitted classifier::

        custom_hooks = [dict(type='SPMLClassifierRefitHook')]

    In a distributed run each rank reads its share of the images, the
    labeled embeddings are gathered and every rank fits the same
    classifier on all of them.

    Args:
        pixels_per_image (int, optional): At most this many labeled pixels
            per image. Default: None (all; an MSCMR slice has ~1400).
        weight_decay (float): L2 on the weight. Default: 1e-4.
        max_iter (int): L-BFGS iterations. Default: 300.
        seed (int): Seed of the per-image draw. Default: 0.
    """

    priority = 'NORMAL'

    def __init__(self,
                 pixels_per_image: Optional[int] = None,
                 weight_decay: float = 1e-4,
                 max_iter: int = 300,
                 seed: int = 0) -> None:
        if pixels_per_image is not None and int(pixels_per_image) < 1:
            raise ValueError('SPMLClassifierRefitHook: pixels_per_image must '
                             f'be >= 1 or None, got {pixels_per_image}')
        if max_iter < 1:
            raise ValueError('SPMLClassifierRefitHook: max_iter must be >= '
                             f'1, got {max_iter}')
        self.pixels_per_image = pixels_per_image
        self.weight_decay = float(weight_decay)
        self.max_iter = int(max_iter)
        self.seed = int(seed)

    def build_dataset(self, runner):
        """The ``train`` split with the whole-image pipeline."""
        from mmscribble.models.utils.spml_classifier_refit import \
            whole_training_images
        return whole_training_images(runner.cfg)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.is_last_train_iter(runner):
            return
        from mmscribble.models.utils.spml_classifier_refit import \
            refit_spml_classifier
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        dataset = self.build_dataset(runner)
        rank, world = get_dist_info()
        items = (dataset[i] for i in range(rank, len(dataset), world))
        stats = refit_spml_classifier(
            model,
            items,
            self.pixels_per_image,
            self.weight_decay,
            self.max_iter,
            seed=self.seed + rank,
            gather=all_gather_object if world > 1 else None)
        if not stats['pixels']:
            runner.logger.warning(
                'SPMLClassifierRefitHook: no labeled pixel in the '
                f'{len(dataset)} training images; the classifier is kept '
                'as trained')
            return
        runner.logger.info(
            'SPMLClassifierRefitHook: classifier fitted on the fixed '
            f'embedding of {int(stats["pixels"])} labeled pixels of '
            f'{len(dataset)} training images: loss {stats["loss_before"]:.4f}'
            f' -> {stats["loss_after"]:.4f}, accuracy '
            f'{stats["acc_before"]:.4f} -> {stats["acc_after"]:.4f}')
