"""Pretraining throughput of Q-Anchor against a bare Hugging Face forward+backward of the same backbone.

    python benchmarks/pretrain_throughput.py --profile default --steps 30 [--out benchmarks/results/x.json]

Q-Anchor step: encoder + anchor pass (with NTP logits at answer positions) + semantic pass + both losses +
AdamW. Bare step: the same Qwen2 config trained as a plain causal LM (input_ids, labels, AdamW) on sequences
holding the same number of tokens per sample as the Q-Anchor step's anchor and semantic passes together.
Reports samples/s, tokens/s, the overhead ratio, and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import torch

from qa_helpers.series import artifacts, config, pipeline
from qa_helpers.series.outputs import provenance


def timed(step, n: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    cfg = config.load(args.profile)
    if cfg.backbone != "tiny":
        raise SystemExit("this benchmark compares the tiny backbone; use a profile with backbone='tiny'")
    torch.manual_seed(cfg.seed)

    trainer = pipeline.pretrainer(cfg, artifacts.pretraining_data(cfg), resume=False)
    pairs = trainer.local_pairs(0)
    batch = trainer.user_batch(pairs)
    _, prefix_mask = trainer.model.encoder(batch)
    suffix = trainer.model.suffix([p["query"] for p in pairs], [p["answer"] for p in pairs])
    answer_tokens = [
        len(trainer.model.tokenizer(p["answer"], add_special_tokens=False)["input_ids"][: cfg.max_answer_tokens]) + 1
        for p in pairs
    ]
    anchor_tokens = int(prefix_mask.sum() + suffix.mask.sum())
    tokens_per_step = anchor_tokens + sum(answer_tokens)
    padded_len = prefix_mask.shape[1] + suffix.mask.shape[1] + max(answer_tokens)

    def qanchor_step():
        trainer.step = 0  # always global batch 0: every timed step does the same work
        trainer.train_step()

    qanchor_s = timed(qanchor_step, args.steps)

    from transformers import AutoModelForCausalLM

    bare = AutoModelForCausalLM.from_config(trainer.model.lm.config, attn_implementation="sdpa")
    opt = torch.optim.AdamW(bare.parameters(), lr=cfg.lr)
    seq = max(1, round(tokens_per_step / len(pairs)))
    ids = torch.randint(5, len(trainer.model.tokenizer), (len(pairs), seq))

    def bare_step():
        opt.zero_grad()
        bare(input_ids=ids, labels=ids).loss.backward()
        torch.nn.utils.clip_grad_norm_(bare.parameters(), cfg.grad_clip)
        opt.step()

    bare_s = timed(bare_step, args.steps)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux reports KiB
    result = {
        **provenance([__file__, *(sys.argv[1:] if argv is None else argv)]),
        "profile": cfg.name,
        "batch_size": len(pairs),
        "steps_timed": args.steps,
        "tokens_per_step": tokens_per_step,
        "padded_tokens_per_step": len(pairs) * padded_len,
        "qanchor": {
            "seconds_per_step": qanchor_s,
            "samples_per_s": len(pairs) / qanchor_s,
            "tokens_per_s": tokens_per_step / qanchor_s,
        },
        "bare_hf": {
            "seconds_per_step": bare_s,
            "samples_per_s": len(pairs) / bare_s,
            "tokens_per_s": len(pairs) * seq / bare_s,
            "sequence_length": seq,
        },
        "overhead": qanchor_s / bare_s - 1,
        "peak_rss_gib": peak_gib,
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu": platform.processor() or platform.machine(),
        },
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main()
