"""The contrastive loss equals an explicit per-anchor loop; NTP is plain cross-entropy."""

import math

import pytest
import torch
import torch.nn.functional as F

from qa_helpers.method import losses


def loop_loss(u, v, tau, margin, variant, use_mask, answers=None):
    u, v = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
    B = len(u)
    total, masked, candidates = 0.0, 0, 0
    for i in range(B):
        pos = float(u[i] @ v[i])
        z = math.exp(pos / tau)
        for j in range(B):
            if j == i or (answers is not None and answers[j] == answers[i]):
                continue
            qd, qq, dd, dq = float(u[i] @ v[j]), float(u[i] @ u[j]), float(v[i] @ v[j]), float(v[i] @ u[j])
            if variant == "paper":
                keep = not use_mask or (qd <= pos + margin and qq <= pos + margin)
                for s in (qd, qq, dd):
                    candidates += 1
                    z += math.exp(s / tau) if keep else 0.0
                    masked += not keep
            else:
                for s in (qq, qd, dq):
                    keep = not use_mask or s <= pos + margin
                    candidates += 1
                    z += math.exp(s / tau) if keep else 0.0
                    masked += not keep
        total += -(pos / tau - math.log(z))
    return total / B, masked / candidates


@pytest.mark.parametrize("variant", ["paper", "code"])
@pytest.mark.parametrize("use_mask", [True, False])
@pytest.mark.parametrize("margin", [0.1, -0.2])
def test_vectorised_loss_equals_the_loop(variant, use_mask, margin):
    g = torch.Generator().manual_seed(3)
    u, v = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(7, 5, generator=g, dtype=torch.float64)
    v = v + 0.8 * u  # make positives likely, so the mask has something to decide
    loss, stats = losses.contrastive_loss(u, v, tau=0.2, margin=margin, variant=variant, use_mask=use_mask)
    expected, share = loop_loss(u, v, 0.2, margin, variant, use_mask)
    assert float(loss) == pytest.approx(expected, rel=1e-9)
    assert stats["masked_share"] == pytest.approx(share)


@pytest.mark.parametrize("variant", ["paper", "code"])
def test_duplicate_answers_are_never_negatives(variant):
    g = torch.Generator().manual_seed(5)
    u, v = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64)
    answers = ["a", "b", "a", "c", "b", "a"]
    v[2], v[5], v[4] = v[0], v[0], v[1]  # identical answers embed identically
    dup = losses.duplicate_answers(answers)
    assert dup.sum() == 6 + 2 * 3 + 2 * 1  # the diagonal, the three a's, the two b's
    loss, stats = losses.contrastive_loss(u, v, tau=0.2, margin=0.1, variant=variant, duplicates=dup)
    expected, share = loop_loss(u, v, 0.2, 0.1, variant, True, answers)
    assert float(loss) == pytest.approx(expected, rel=1e-9)
    assert stats["masked_share"] == pytest.approx(share)
    assert stats["duplicate_share"] == pytest.approx(8 / 30)
    with pytest.raises(ValueError, match="duplicates must be"):
        losses.contrastive_loss(u, v, duplicates=dup[:3])


def test_a_slice_of_anchors_equals_those_rows_of_the_loop():
    g = torch.Generator().manual_seed(1)
    u, v = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, 4, generator=g, dtype=torch.float64)
    full, _ = losses.contrastive_loss(u, v, variant="code", margin=0.3)
    a, _ = losses.contrastive_loss(u, v, variant="code", margin=0.3, anchor_offset=0, n_anchors=3)
    b, _ = losses.contrastive_loss(u, v, variant="code", margin=0.3, anchor_offset=3, n_anchors=3)
    assert float((a + b) / 2) == pytest.approx(float(full), rel=1e-12)


def test_collapsed_anchors_mask_every_negative_in_the_paper_variant():
    """At random init the anchors are near-identical: qq > s_i + margin for all j, so the joint mask empties Z."""
    g = torch.Generator().manual_seed(0)
    u = torch.ones(4, 3) + 0.01 * torch.randn(4, 3, generator=g)
    v = torch.randn(4, 3, generator=g)
    v[:, 0] = -v[:, 0].abs()  # every answer far from the anchors' common direction: s_i + margin < qq_ij ~ 1
    loss, stats = losses.contrastive_loss(u, v, variant="paper")
    assert stats["masked_share"] == 1.0 and float(loss) == pytest.approx(0.0, abs=1e-6)
    _, code_stats = losses.contrastive_loss(u, v, variant="code")
    assert code_stats["masked_share"] < 1.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown contrastive variant"):
        losses.contrastive_loss(torch.randn(2, 3), torch.randn(2, 3), variant="qwen")
    with pytest.raises(ValueError, match="must both be"):
        losses.contrastive_loss(torch.randn(2, 3), torch.randn(3, 3))


def test_ntp_loss_is_cross_entropy_and_its_divisor():
    logits, labels = torch.randn(5, 11), torch.tensor([1, 2, 3, 4, 5])
    assert float(losses.ntp_loss(logits, labels)) == pytest.approx(float(F.cross_entropy(logits, labels)))
    assert float(losses.ntp_loss(logits, labels, divisor=10)) == pytest.approx(
        float(F.cross_entropy(logits, labels, reduction="sum")) / 10
    )


def test_total_loss_is_the_weighted_sum_of_eq_6():
    cl, ntp = torch.tensor(2.0, requires_grad=True), torch.tensor(3.0, requires_grad=True)
    assert losses.total_loss(cl, ntp).item() == 5.0  # the paper's 1:1
    total = losses.total_loss(cl, ntp, cl_weight=0.5, ntp_weight=0.0)  # w/o NTP ablation
    total.backward()
    assert total.item() == 1.0 and cl.grad.item() == 0.5 and ntp.grad.item() == 0.0
