"""Pretraining losses: the margin-masked contrastive loss (paper Eq. 3-5, two variants), next-token prediction
(Eq. 6) and their total.

Contrastive, for anchors u_i (query-anchored user embeddings) and answers v_i, cosine similarities over the
global batch, temperature tau, positive s_i = sim(u_i, v_i):

    L = -1/B sum_i log( exp(s_i/tau) / Z_i )
    paper: Z_i = exp(s_i/tau) + sum_{j!=i} m_ij [exp(qd_ij/tau) + exp(qq_ij/tau) + exp(dd_ij/tau)]
           m_ij = 0 if qd_ij > s_i + margin or qq_ij > s_i + margin (one joint mask: likely false negatives)
    code:  Z_i = exp(s_i/tau) + sum_{j!=i} [1(qq_ij <= s_i + c) exp(qq_ij/tau) + 1(qd_ij <= s_i + c) exp(qd_ij/tau)
                                            + 1(dq_ij <= s_i + c) exp(dq_ij/tau)]   (a mask per block, no dd)

with qd_ij = sim(u_i, v_j), qq_ij = sim(u_i, u_j), dd_ij = sim(v_i, v_j), dq_ij = sim(v_i, u_j). Diagonals of
every block are excluded (the positive is counted once; self-similarity is not a negative), and so is every j
whose answer is word for word the answer of i (`duplicates`): such a j is a certain false negative, which the
margin mask cannot see (v_j = v_i is never "more similar than the positive").

Under torch.distributed, `gather` concatenates every rank's embeddings with a differentiable all-gather, so each
rank's local anchors see the whole global batch as negatives.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

VARIANTS = ("paper", "code")


class _GatherWithGrad(torch.autograd.Function):
    """All-gather along dim 0 whose backward sums every rank's gradient for the local slice."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        ctx.rank, ctx.n = dist.get_rank(), x.shape[0]
        return torch.cat(parts, 0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def gather(x: torch.Tensor) -> torch.Tensor:
    """All ranks' x (same shape on every rank) concatenated along dim 0, differentiable; x when not distributed."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return x
    return _GatherWithGrad.apply(x)


def duplicate_answers(answers: list[str]) -> torch.Tensor:
    """(B, B) bool, True where two rows of a batch have the same answer text (the diagonal included)."""
    ids = {a: i for i, a in enumerate(dict.fromkeys(answers))}
    codes = torch.tensor([ids[a] for a in answers])
    return codes.unsqueeze(0) == codes.unsqueeze(1)


def contrastive_loss(
    u: torch.Tensor,
    v: torch.Tensor,
    tau: float = 0.07,
    margin: float = 0.1,
    variant: str = "paper",
    use_mask: bool = True,
    anchor_offset: int = 0,
    n_anchors: int | None = None,
    duplicates: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict]:
    """Mean loss over anchors `anchor_offset .. anchor_offset + n_anchors` of the batch (u, v: (B, d)).

    Negatives come from all B rows, except rows whose answer duplicates the anchor's (`duplicates`, (B, B) bool,
    see duplicate_answers). Returns the loss and stats {'masked_share': share of the remaining candidate
    negatives removed by the margin mask, 'duplicate_share': share of candidates removed as duplicates}.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown contrastive variant {variant!r}; choose one of {VARIANTS}")
    if u.shape != v.shape or u.ndim != 2:
        raise ValueError(f"u and v must both be (B, d), got {tuple(u.shape)} and {tuple(v.shape)}")
    n_anchors = u.shape[0] - anchor_offset if n_anchors is None else n_anchors
    rows = torch.arange(anchor_offset, anchor_offset + n_anchors, device=u.device)
    u, v = F.normalize(u, dim=-1), F.normalize(v, dim=-1)
    ua, va = u[rows], v[rows]
    qd, qq, dd, dq = ua @ v.T, ua @ u.T, va @ v.T, va @ u.T  # (n_anchors, B) each
    pos = (ua * va).sum(-1, keepdim=True)  # (n_anchors, 1)
    off_diag = torch.ones_like(qd, dtype=torch.bool)
    off_diag[torch.arange(n_anchors, device=u.device), rows] = False
    n_pairs = off_diag.sum()
    if duplicates is not None:
        if duplicates.shape != (u.shape[0], u.shape[0]):
            raise ValueError(f"duplicates must be ({u.shape[0]}, {u.shape[0]}), got {tuple(duplicates.shape)}")
        off_diag &= ~duplicates.to(u.device)[rows]
    limit = pos + margin
    if variant == "paper":
        keep = (qd <= limit) & (qq <= limit) if use_mask else torch.ones_like(off_diag)
        blocks = [(qd, keep), (qq, keep), (dd, keep)]
    else:
        blocks = [(b, b <= limit) if use_mask else (b, torch.ones_like(off_diag)) for b in (qq, qd, dq)]
    logits = [pos / tau]
    for sim, keep in blocks:
        logits.append((sim / tau).masked_fill(~(keep & off_diag), float("-inf")))
    all_logits = torch.cat(logits, 1)  # (n_anchors, 1 + 3B)
    loss = -(pos.squeeze(1) / tau - torch.logsumexp(all_logits, 1)).mean()
    candidates = sum(off_diag.sum() for _ in blocks)
    kept = sum((keep & off_diag).sum() for _, keep in blocks)
    return loss, {
        "masked_share": float(1 - kept / candidates) if candidates else 0.0,
        "duplicate_share": float(1 - off_diag.sum() / n_pairs) if n_pairs else 0.0,
    }


def ntp_loss(logits: torch.Tensor, labels: torch.Tensor, divisor: float | None = None) -> torch.Tensor:
    """L_ntp (Eq. 6): summed next-token cross-entropy over supervised positions, divided by `divisor` (default:
    their number).

    logits: (N, V) at the supervised positions, labels: (N,). Under torch.distributed pass
    divisor = global supervised-token count / world size: averaging the ranks' gradients then equals one process
    averaging over every token of the global batch.
    """
    loss_sum = F.cross_entropy(logits, labels, reduction="sum")
    return loss_sum / (divisor if divisor is not None else max(len(labels), 1))


def total_loss(cl: torch.Tensor, ntp: torch.Tensor, cl_weight: float = 1.0, ntp_weight: float = 1.0) -> torch.Tensor:
    """The pretraining objective: L = w_cl L_cl + w_ntp L_ntp (L_ntp is Eq. 6). The paper calls it a weighted sum
    and gives no weights (1:1); a weight of 0 is an ablation (Table 3: w/o NTP, w/o Contrastive)."""
    return cl_weight * cl + ntp_weight * ntp
