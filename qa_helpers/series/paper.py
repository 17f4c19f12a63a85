"""The paper's reference numbers, in one place (arXiv 2602.14492 v2; copied in shared/reference/paper_spec.md).

Mean AUC and mean KS over the ten tasks (each table's `Avg` column), keyed by the row names the tables use:

    paper.MEAN["Table 2"]["Q-Anchor (Base)"]          # 0.8104 (AUC)
    paper.MEAN_KS["Table 5"]["Q-Anchor (Base)"]       # 0.5044

The equations live with the code that computes them; a grep for "Eq. N" finds each: Eq. 1-2 user_encoder.py,
Eq. 3-5 (contrastive) and Eq. 6 (next-token prediction) losses.py, Eq. 7 prompt_tuning.py.
"""

from __future__ import annotations

MEAN: dict[str, dict] = {  # mean AUC
    "Table 2": {  # main results
        "Qwen2.5-0.5B-Instruct": 0.6351,
        "Qwen3-Embedding-0.6B": 0.6508,
        "Llama-Embed-Nemotron-8B": 0.7488,
        "KaLM-Embed.-Gemma3-12B": 0.7058,
        "MSDP": 0.7692,
        "One4all": 0.7706,
        "CPC": 0.7725,
        "FOUND": 0.7832,
        "Q-Anchor (Base)": 0.8104,
        "Q-Anchor (Prompt Tuned)": 0.8225,
    },
    "Table 3": {  # ablations
        "Q-Anchor (Base)": 0.8104,
        "w/o User Tok.": 0.8086,
        "w/o Modal Tok.": 0.8088,
        "w/o Modal & User Tok.": 0.8065,
        "w/o Filter (margin mask)": 0.8047,
        "w/o NTP": 0.8061,
        "w/o Contrastive": 0.7667,
        "Q-Anchor (Prompt Tuned)": 0.8225,
        "Prompt tuning w/o pretrain": 0.7782,
    },
    "Table 7": {
        "10k steps / 20.48M pairs": 0.8029,
        "20k / 40.96M": 0.8091,
        "30k / 61.44M": 0.8099,
        "40k / 81.92M": 0.8095,
        "50k / 102.4M": 0.8105,
    },  # data scaling (Base)
    "Table 8": {"0.5B": 0.8105, "1.5B": 0.8065, "3B": 0.8044},  # backbone scaling (Base)
    "Table 9": {1: 0.8146, 2: 0.8169, 4: 0.8201, 6: 0.8225, 8: 0.8205, 16: 0.8215},  # prompt tokens, 500 steps
    "Table 10": {100: 0.8159, 200: 0.8184, 300: 0.8196, 400: 0.8213, 500: 0.8225},  # prompt steps, 6 tokens
}

MEAN_KS: dict[str, dict] = {  # mean KS, the same rows
    "Table 5": {
        "Qwen2.5-0.5B-Instruct": 0.2073,
        "Qwen3-Embedding-0.6B": 0.2219,
        "Llama-Embed-Nemotron-8B": 0.3805,
        "KaLM-Embed.-Gemma3-12B": 0.3070,
        "MSDP": 0.4469,
        "One4all": 0.4495,
        "CPC": 0.4556,
        "FOUND": 0.4529,
        "Q-Anchor (Base)": 0.5044,
        "Q-Anchor (Prompt Tuned)": 0.5267,
    },
    "Table 9": {1: 0.5140, 2: 0.5177, 4: 0.5228, 6: 0.5267, 8: 0.5241, 16: 0.5262},
    "Table 10": {100: 0.5141, 200: 0.5190, 300: 0.5212, 400: 0.5243, 500: 0.5267},
}

# Table 2, Q-Anchor (Prompt Tuned), the paper's best row, per task (AUC)
PROMPT_TUNED_TASK_AUC = {
    "Active": 0.6678,
    "Concert": 0.5844,
    "Login": 0.8443,
    "Forest": 0.9716,
    "Fraud": 0.9242,
    "Money": 0.9439,
    "Takeout": 0.8811,
    "Brand": 0.8535,
    "Promo": 0.6350,
    "Value": 0.9194,
}

# events kept per modality (K_m) in the reference code, tabular as 50 repeated tokens; the prefix adds one user
# token and six modality tokens
EVENT_CAPS = {"bill": 250, "mini": 150, "spm": 150, "app": 100, "search": 10, "tabular": 50}
PREFIX_TOKENS = 1 + len(EVENT_CAPS) + sum(EVENT_CAPS.values())  # 717

# Fig. 7: attention shares after prompt tuning (the paper does not say relative or in points)
ATTENTION_SHIFTS = {("Takeout", "bill"): 26.0, ("Forest", "spm"): 6.4}
