"""The token layout, built in one place (paper Fig. 3, §2.3 of the spec):

    [USER] [MOD bill..tabular] [bill events][mini][spm][app][search][tabular]     (prefix: hierarchical user tokens)
    (the synthetic world's modalities; any dataset's come from its spec, spec.py)
    Query: <text> [QVEC] [soft x n] <USER_EMB> Answer: <answer> <eos>              (suffix: text tokens and slots)

The prefix comes from the encoder as embeddings; the suffix is text tokens, with an optional slot for the query's
sentence vector (`query_slot`: a frozen text encoder's view of the whole question, the CPU default's stand-in for
a pretrained LLM's reading of it; see model.py) and `n_soft` slots whose embeddings a soft prompt fills
(notebook 05). The answer follows only during pretraining (for NTP), after a short separator; causal attention
keeps `<USER_EMB>` blind to it, so one pass gives the anchor embedding and the NTP logits. As in the reference
code (whose chat template puts `<|im_end|><|im_start|>assistant` between the two), the `<USER_EMB>` position itself
predicts no token: its hidden state is the embedding, not a guess at the answer's first word.

Position ids count only attended tokens (`positions`), so padded event slots do not shift the query.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .spec import DatasetSpec

USER_EMB = "<USER_EMB>"
QUERY_PREFIX = "Query: "
MAX_QUERY_TOKENS = 48  # a query longer than this is cut (the tasks' queries are 10-20 tokens)
MAX_ANSWER_TOKENS = 96  # an answer longer than this is cut before its <eos>
ANSWER_PREFIX = " Answer:"  # between <USER_EMB> and the answer in pretraining: its last token predicts the answer


def prefix_segments(spec: DatasetSpec, tabular_tokens: int) -> list[tuple[str, int, int]]:
    """(name, start, end) of every block of the prefix, in order; end is exclusive. The tabular block (of
    `tabular_tokens` copies) only when the spec has a tabular row."""
    segments, pos = [("USER", 0, 1)], 1
    for m in spec.all_modalities:
        segments.append((f"MODALITY:{m}", pos, pos + 1))
        pos += 1
    for m, k in zip(spec.all_modalities, spec.caps + (tabular_tokens,)):
        segments.append((f"events:{m}", pos, pos + k))
        pos += k
    return segments


def prefix_length(spec: DatasetSpec, tabular_tokens: int) -> int:
    return prefix_segments(spec, tabular_tokens)[-1][2]


def modality_of_position(spec: DatasetSpec, tabular_tokens: int) -> list[str]:
    """For each prefix position, the modality it belongs to ('user' for the user token)."""
    out = []
    for name, start, end in prefix_segments(spec, tabular_tokens):
        out += ["user" if name == "USER" else name.split(":")[1]] * (end - start)
    return out


@dataclass
class Suffix:
    """Tokenised suffixes of a batch, right-padded.

    ids: (B, Ls) token ids (soft and query-vector slots hold the pad id); mask: (B, Ls) bool; soft: (B, Ls) bool,
    True at soft slots; anchor: (B,) index of <USER_EMB> within the suffix; labels: (B, Ls) next-token targets for
    NTP (-100 where nothing is predicted): position t holds the token at t + 1 when that token is an answer token;
    query_slot: (B, Ls) bool, True at the query-vector slot (one per row, or none); queries: the B query texts.
    """

    ids: torch.Tensor
    mask: torch.Tensor
    soft: torch.Tensor
    anchor: torch.Tensor
    labels: torch.Tensor
    query_slot: torch.Tensor
    queries: list[str]

    def to(self, device) -> Suffix:
        return Suffix(
            *(t.to(device) for t in (self.ids, self.mask, self.soft, self.anchor, self.labels, self.query_slot)),
            self.queries,
        )


def pad_right(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token-id lists -> right-padded ids (B, L) and mask (B, L) bool, True on real tokens."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, : len(r)] = True
    return ids, mask


def build_suffix(
    tokenizer,
    queries: list[str],
    answers: list[str] | None = None,
    n_soft: int = 0,
    max_query_tokens: int = MAX_QUERY_TOKENS,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    query_slot: bool = False,
) -> Suffix:
    """`Query: q [QVEC] [soft x n_soft] <USER_EMB>` (+ ` Answer: answer <eos>` when answers are given), per row;
    the [QVEC] slot only with `query_slot`. NTP labels start at the separator's last token."""
    anchor_id = tokenizer.convert_tokens_to_ids(USER_EMB)
    if anchor_id is None or anchor_id == tokenizer.unk_token_id:
        raise ValueError(f"the tokenizer has no {USER_EMB} token")
    pad = tokenizer.pad_token_id
    q_ids = tokenizer([QUERY_PREFIX + q for q in queries], add_special_tokens=False)["input_ids"]
    a_ids = (
        tokenizer(list(answers), add_special_tokens=False)["input_ids"]
        if answers is not None
        else [[] for _ in queries]
    )
    sep = tokenizer(ANSWER_PREFIX, add_special_tokens=False)["input_ids"] if answers is not None else []
    n_q = int(query_slot)
    rows, soft_rows, anchors, label_rows = [], [], [], []
    for q, a in zip(q_ids, a_ids):
        q = q[:max_query_tokens]
        a = sep + a[:max_answer_tokens] + [tokenizer.eos_token_id] if answers is not None else []
        row = q + [pad] * (n_q + n_soft) + [anchor_id] + a
        anchor = len(q) + n_q + n_soft
        labels = [-100] * len(row)
        for t in range(anchor + len(sep), len(row) - 1):  # the separator's last token predicts the first answer token
            labels[t] = row[t + 1]
        rows.append(row)
        soft_rows.append([False] * (len(q) + n_q) + [True] * n_soft + [False] * (1 + len(a)))
        anchors.append(anchor)
        label_rows.append(labels)
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    soft = torch.zeros(len(rows), width, dtype=torch.bool)
    qslot = torch.zeros(len(rows), width, dtype=torch.bool)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    for i, (r, s, lab, q) in enumerate(zip(rows, soft_rows, label_rows, q_ids)):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
        soft[i, : len(r)] = torch.tensor(s)
        labels[i, : len(r)] = torch.tensor(lab)
        if query_slot:
            qslot[i, min(len(q), max_query_tokens)] = True
    return Suffix(ids, mask, soft, torch.tensor(anchors), labels, qslot, list(queries))


def positions(mask: torch.Tensor) -> torch.Tensor:
    """Position ids (B, L) that count only attended tokens: cumsum(mask) - 1, clamped at 0."""
    return (mask.long().cumsum(1) - 1).clamp(min=0)


def describe(
    spec: DatasetSpec, tabular_tokens: int, tokenizer, query: str, n_soft: int = 0, query_slot: bool = False
) -> list[dict]:
    """Rows (positions, block, what) describing the whole sequence for one query, for the notebook."""
    rows = []
    for name, start, end in prefix_segments(spec, tabular_tokens):
        what = {"USER": "user token z_usr"}.get(name) or (
            f"modality token z_mdl[{name.split(':')[1]}]"
            if name.startswith("MODALITY")
            else f"up to {end - start} {name.split(':')[1]} event tokens (most recent first; padding masked)"
        )
        rows.append({"positions": f"{start}-{end - 1}" if end - start > 1 else str(start), "block": name, "what": what})
    start = end
    q = tokenizer(QUERY_PREFIX + query, add_special_tokens=False)["input_ids"]
    rows.append(
        {
            "positions": f"{start}-{start + len(q) - 1}",
            "block": "query",
            "what": " ".join(tokenizer.convert_ids_to_tokens(q)),
        }
    )
    start += len(q)
    if query_slot:
        rows.append(
            {
                "positions": str(start),
                "block": "query vector",
                "what": "the frozen text encoder's sentence vector of the query, through an adapter",
            }
        )
        start += 1
    if n_soft:
        rows.append(
            {
                "positions": f"{start}-{start + n_soft - 1}",
                "block": "soft prompt",
                "what": f"{n_soft} learnable vectors",
            }
        )
        start += n_soft
    rows.append({"positions": str(start), "block": USER_EMB, "what": "anchor: its last hidden state is the embedding"})
    return rows
