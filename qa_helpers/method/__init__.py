"""The method, on any dataset spec: records and their spec, text vectors, user tensors, the hierarchical encoder,
the LLM backbones, the Q-Anchor model, its losses, pretraining, inference, prompt tuning, the incremental update,
the probe protocol and the label-free diagnostics. It imports nothing of the layers above it.
"""
