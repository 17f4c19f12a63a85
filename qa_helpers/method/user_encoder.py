"""The hierarchical coarse-to-fine user encoder (paper §3.2.1, Eq. 1-2; reference code's adapters).

The modalities come from the dataset's spec (spec.py). For every event modality m, with
h_{m,t} = text vector + W_m * (log1p of its numeric fields, sin hour, cos hour) (d_enc):
  event tokens     z_evt[m, t] = EventAdapter_m(h_{m,t}) + age_{m,t} * r_m  (B, K_m, d_llm)
  modality token   z_mdl[m]    = ModalAdapter(masked_mean_t h_{m,t})       (B, d_llm), adapter shared by modalities
Tabular (when the spec has a row of width F > 0): event tokens = Linear(F -> d_llm)(x) repeated `tabular_tokens`
times; summary = Linear(F -> d_enc)(x).
  user token       z_usr       = UserAdapter(mean over present modalities of the summaries)   (B, d_llm)

Output order: [USER] [M x MODALITY] [events of each event modality, in spec order] [tabular tokens]
(see layout.prefix_segments; for the synthetic world M = 6: bill, mini, spm, app, search, tabular). As in the
reference code, summaries pool the raw vectors h, not the adapted tokens; the user token averages only the
modalities a user has (the code averages all six, zeros included).

An event's age (0 today, 1 at the window's start) enters after the adapter, as a learned per-modality
direction r_m scaled by the age (like a time embedding), so the adapter's output for an event never changes as
days pass: a daily update re-encodes only the new events (incremental.py, paper App. E).
"""

from __future__ import annotations

import torch
from torch import nn

from .spec import DatasetSpec
from .user_tensors import UserBatch


class Adapter(nn.Module):
    """LayerNorm -> Linear(d_in, d_in) -> GELU -> Linear(d_in, d_out), the reference code's LLMAdapter."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(d_in, eps=1e-6), nn.Linear(d_in, d_in), nn.GELU(), nn.Linear(d_in, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x (B, K, d) over the K positions where mask (B, K) is True; zeros for a row with none."""
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp(min=1.0)


class HierarchicalEncoder(nn.Module):
    def __init__(
        self,
        d_enc: int,
        d_llm: int,
        spec: DatasetSpec,
        tabular_tokens: int = 2,
        use_user_token: bool = True,
        use_modality_tokens: bool = True,
    ):
        super().__init__()
        self.d_enc, self.d_llm, self.spec = d_enc, d_llm, spec
        self.tabular_tokens = tabular_tokens if spec.tabular else 0
        self.use_user_token, self.use_modality_tokens = use_user_token, use_modality_tokens
        names, f = spec.event_modalities, spec.tabular
        self.numeric = nn.ModuleDict({m: nn.Linear(spec.n_numeric, d_enc) for m in names})
        self.event_adapters = nn.ModuleDict({m: Adapter(d_enc, d_llm) for m in names})
        self.tabular_event = nn.Linear(f, d_llm) if f else None
        self.tabular_summary = nn.Linear(f, d_enc) if f else None
        self.modal_adapter = Adapter(d_enc, d_llm)
        self.user_adapter = Adapter(d_enc, d_llm)
        self.age_direction = nn.ParameterDict({m: nn.Parameter(0.1 * torch.randn(d_llm)) for m in names})
        # standardisation of the tabular row, fitted on training users (fit_tabular)
        self.register_buffer("tab_mean", torch.zeros(f))
        self.register_buffer("tab_std", torch.ones(f))

    @torch.no_grad()
    def scale_numeric(self, scale: float) -> None:
        """Multiply the numeric projections' weights by `scale` and zero their biases (scale 1: left as PyTorch
        initialised them; scale 0: events are their text alone, as in the paper, and the projections are frozen at
        zero). At PyTorch's default initialisation the projection of (log1p amount, sin hour, cos hour) has a norm
        of about 9 against the text vector's 1, so the hour and the amount carry most of an event token's variance
        and the text (what the event is) a small residue; a small scale lets the token start as its text and learn
        how much the hour and the amount add (ours: the paper writes them into the text)."""
        if scale == 1.0:
            return
        for layer in self.numeric.values():
            layer.weight.mul_(scale)
            layer.bias.zero_()
            layer.requires_grad_(scale != 0.0)

    def fit_tabular(self, tabular: torch.Tensor, present: torch.Tensor) -> None:
        """Set the tabular mean and std from rows (N, F) of users with `present` (N,) True; nothing without F."""
        if not self.spec.tabular:
            return
        rows = tabular[present]
        if len(rows) < 2:
            raise ValueError("need at least two users with a tabular row to standardise it")
        self.tab_mean.copy_(rows.mean(0))
        self.tab_std.copy_(rows.std(0).clamp(min=1e-6))

    def event_vectors(self, m: str, text: torch.Tensor, numeric: torch.Tensor) -> torch.Tensor:
        """h = text vector + numeric projection: (..., d_enc) from text (..., d_enc) and numeric (..., n_numeric)."""
        return text + self.numeric[m](numeric)

    def event_tokens(self, m: str, h: torch.Tensor) -> torch.Tensor:
        """Time-free event tokens (..., d_llm): what a daily update keeps for old events."""
        return self.event_adapters[m](h)

    def tabular_parts(self, tabular: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Standardised tabular row (B, F) -> its tokens (B, tabular_tokens, d_llm) and summary (B, d_enc);
        None when the spec has no tabular row."""
        if not self.spec.tabular:
            return None
        x = (tabular - self.tab_mean) / self.tab_std
        x = x * present.unsqueeze(-1).to(x.dtype)  # missing row -> zeros
        return self.tabular_event(x).unsqueeze(1).expand(-1, self.tabular_tokens, -1), self.tabular_summary(x)

    def assemble(
        self,
        tokens: dict,
        age: dict,
        mask: dict,
        summaries: torch.Tensor,
        tabular: tuple[torch.Tensor, torch.Tensor] | None,
        tabular_present: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The prefix from per-modality parts: time-free event tokens (B, K_m, d_llm), age (B, K_m), mask (B, K_m),
        summaries (B, M, d_enc) in spec.all_modalities order, the tabular tokens (B, T, d_llm) (None without a
        tabular row) and tabular_present (B,)."""
        names = self.spec.event_modalities
        event_tokens = [tokens[m] + age[m].unsqueeze(-1) * self.age_direction[m] for m in names]
        event_masks = [mask[m] for m in names]
        present = [mask[m].any(1) for m in names]
        if tabular is not None:
            event_tokens.append(tabular)
            event_masks.append(tabular_present.unsqueeze(1).expand(-1, self.tabular_tokens))
            present.append(tabular_present)
        modality_tokens = self.modal_adapter(summaries)  # (B, M, d_llm)
        user_token = self.user_adapter(masked_mean(summaries, torch.stack(present, 1))).unsqueeze(1)
        b, n_mod = summaries.shape[:2]
        ones = torch.ones(b, 1, dtype=torch.bool, device=summaries.device)
        prefix = torch.cat([user_token, modality_tokens] + event_tokens, 1)
        prefix_mask = torch.cat(
            [ones * self.use_user_token, ones.expand(-1, n_mod) & self.use_modality_tokens] + event_masks, 1
        )
        if not self.use_user_token and not self.use_modality_tokens and not bool(prefix_mask.any(1).all()):
            raise ValueError("a user has no events and no summary tokens are used: nothing to attend to")
        return prefix, prefix_mask

    def forward(self, batch: UserBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Prefix tokens (B, L_prefix, d_llm) and their attention mask (B, L_prefix), True = attend."""
        tokens, summaries = {}, []
        for m in self.spec.event_modalities:
            h = self.event_vectors(m, batch.events[m], batch.numeric[m])  # (B, K_m, d_enc)
            tokens[m] = self.event_tokens(m, h)
            summaries.append(masked_mean(h, batch.mask[m]))  # (B, d_enc)
        tabular = self.tabular_parts(batch.tabular, batch.tabular_mask)
        if tabular is not None:
            summaries.append(tabular[1])
        tab_tokens = tabular[0] if tabular is not None else None
        return self.assemble(tokens, batch.age, batch.mask, torch.stack(summaries, 1), tab_tokens, batch.tabular_mask)
