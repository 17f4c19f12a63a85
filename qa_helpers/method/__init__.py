"""The method, on any dataset spec: records and their spec (spec, schema), text vectors (sentence_encoder,
text_store), user tensors and the hierarchical encoder (user_tensors, user_encoder, layout), the LLM backbones and the
Q-Anchor model (backbones, model), its losses and pretraining (losses, batches, train), inference, prompt tuning, the
incremental update, attention and timings (inference, prompt_tuning, incremental, attention, timing), the probe protocol
and its statistics (evaluation, metrics, count_features), the label-free diagnostics (diagnostics, geometry), and the
code fingerprints caches are keyed by (fingerprints). It imports nothing of the layers above it.
"""
