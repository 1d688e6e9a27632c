"""SPML segments (k-means split by label and superpixel) and relations."""
import torch
import torch.nn.functional as F

from mmscribble.models.utils.spml_segments import (nearest_labeled,
                                                   segment_prototypes,
                                                   spml_relations,
                                                   split_segments,
                                                   split_segments_reference)

U = 3  # unlabeled id with 3 classes


def test_split_equals_reference():
    g = torch.Generator().manual_seed(0)
    clusters = torch.randint(0, 3, (2, 5, 6), generator=g)
    clusters[1, :, 4:] = -1
    label = torch.randint(0, 4, (2, 5, 6), generator=g)
    sp = torch.randint(0, 2, (2, 5, 6), generator=g)
    for s in (sp, None):
        a = split_segments(clusters, label, s)
        b = split_segments_reference(clusters, label, s)
        assert torch.equal(a.pixel_segment, b.pixel_segment)
        for f in ('image', 'label', 'superpixel'):
            assert torch.equal(getattr(a, f), getattr(b, f))


def test_split_by_hand():
    clusters = torch.tensor([[[0, 0, 1], [0, 1, -1]]])
    label = torch.tensor([[[U, 2, 2], [U, 2, U]]])
    seg = split_segments(clusters, label)
    # (cluster, label): (0, 2) -> 0, (0, U) -> 1, (1, 2) -> 2; padding -1.
    assert seg.pixel_segment.tolist() == [1, 0, 2, 1, 2, -1]
    assert seg.label.tolist() == [2, U, 2]
    proto = segment_prototypes(
        torch.eye(6)[:, :4] + 0., seg.pixel_segment, seg.num_segments)
    assert torch.allclose(proto[1],
                          F.normalize(torch.tensor([1., 0, 0, 1]), dim=0))


def test_relations_by_hand():
    # Image 0: pixels a (label 0, sp 0, seg 0), b (unlabeled, sp 0, seg 1),
    # c (unlabeled, sp 1, seg 2). Image 1: pixel d (label 1, seg 3).
    # Memory segment 4: label 0, tags {0}, no image of the batch.
    pix_seg = torch.tensor([0, 1, 2, 3])
    pix_img = torch.tensor([0, 0, 0, 1])
    pix_lab = torch.tensor([0, U, U, 1])
    pix_sp = torch.tensor([0, 0, 1, 0])
    seg_img = torch.tensor([0, 0, 0, 1, -1])
    seg_lab = torch.tensor([0, U, U, 1, 0])
    seg_sp = torch.tensor([0, 0, 1, 0, -1])
    img_tags = torch.tensor([[1, 0, 0], [0, 1, 0]])
    seg_tags = img_tags[seg_img.clamp(min=0)].clone()
    seg_tags[4] = torch.tensor([1, 0, 0])
    proto = torch.tensor([[1., 0], [0.8, 0.6], [0, 1], [0, 1], [1, 0]])
    rel = spml_relations(
        pix_seg,
        pix_img,
        pix_lab,
        pix_sp,
        seg_img,
        seg_lab,
        seg_sp,
        seg_tags,
        img_tags,
        U,
        prototypes=proto)
    pos, neg, w = rel['image']
    assert pos.int().tolist()[0] == [1, 1, 0, 0, 0]
    assert neg.int().tolist()[0] == [0, 0, 1, 0, 0]
    assert w.tolist() == [1, 1, 1, 1]
    pos, neg, w = rel['semantic']
    assert pos.int().tolist() == [[1, 0, 0, 0, 1], [0] * 5, [0] * 5,
                                  [0, 0, 0, 1, 0]]
    assert neg.int().tolist()[0] == [0, 0, 0, 1, 0]
    assert w.tolist() == [1, 0, 0, 1]
    pos, neg, w = rel['cooccurrence']
    assert pos.int().tolist()[1] == [1, 1, 1, 0, 1]
    assert pos.int().tolist()[3] == [0, 0, 0, 1, 0]
    assert torch.equal(neg, ~pos)
    # Affinity: seg 1 nearest labeled is 0 or 4 (label 0), seg 2 -> 3
    # (label 1); pixel c now has label 1.
    assert nearest_labeled(proto, seg_lab, U).tolist() == [0, 0, 1, 1, 0]
    pos, neg, w = rel['affinity']
    assert w.tolist() == [1, 1, 1, 1]
    assert pos.int().tolist()[2] == [0, 0, 1, 1, 0]
    rel = spml_relations(
        pix_seg,
        pix_img,
        pix_lab,
        pix_sp,
        seg_img,
        seg_lab,
        seg_sp,
        seg_tags,
        img_tags,
        U,
        relations=('semantic', ),
        unlabeled_as_class=True)
    pos, neg, w = rel['semantic']
    assert pos.int().tolist()[1] == [0, 1, 1, 0, 0]
    assert w.tolist() == [1, 1, 1, 1]


def test_groups_give_the_same_masks():
    from mmscribble.models.utils.spml_segments import spml_relation_groups
    g = torch.Generator().manual_seed(5)
    p, s, n = 40, 15, 3
    pix_seg = torch.randint(-1, s, (p, ), generator=g)
    pix_img = torch.randint(0, n, (p, ), generator=g)
    pix_lab = torch.randint(0, 4, (p, ), generator=g)
    pix_sp = torch.randint(0, 3, (p, ), generator=g)
    seg_img = torch.randint(-1, n, (s, ), generator=g)
    seg_lab = torch.randint(0, 4, (s, ), generator=g)
    seg_sp = torch.where(seg_img >= 0, torch.randint(0, 3, (s, ), generator=g),
                         -1)
    img_tags = torch.rand(n, 3, generator=g) < 0.5
    seg_tags = torch.where((seg_img >= 0)[:, None],
                           img_tags[seg_img.clamp(min=0)],
                           torch.rand(s, 3, generator=g) < 0.5)
    proto = F.normalize(torch.randn(s, 4, generator=g), dim=1)
    for as_class in (False, True):
        args = (pix_seg, pix_img, pix_lab, pix_sp, seg_img, seg_lab, seg_sp,
                seg_tags, img_tags, U)
        kw = dict(prototypes=proto, unlabeled_as_class=as_class)
        masks = spml_relations(*args, **kw)
        groups = spml_relation_groups(*args, **kw)
        for rel, (pos, neg, w) in masks.items():
            group, pos_g, cand_g, wg = groups[rel]
            assert torch.equal(pos_g[:, group], pos), rel
            assert torch.equal(cand_g[:, group], pos | neg), rel
            assert torch.equal(w, wg), rel
