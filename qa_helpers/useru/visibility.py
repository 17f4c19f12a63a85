"""How much of UserU's answers the model's prefix can show. Answers are written from a user's whole record; the
prefix holds only the K_m most recent events of each modality (the spec's caps). Two ceilings, no model:

    answer_visibility(records, spec, source)                   # per fact kind, the share that comes out the same
    fact_reader_recall(held_records, records, pairs, spec, source)   # exact-query retrieval by a perfect reader
"""

from __future__ import annotations

import numpy as np

from ..method.diagnostics import exact_query_groups
from ..method.spec import DatasetSpec
from ..method.user_tensors import capped_records
from .builder import top_topics
from .facts import FacetSource, Population, UserFacts


def answer_visibility(records: list[dict], spec: DatasetSpec, source: FacetSource, k: int = 10) -> dict:
    """Per fact kind, the share of (user, top-k topic) facts that come out the same from the K_m most recent events
    per modality (what the encoder reads; levels against the population read the same way) as from the whole
    record the answers are written from."""
    capped = capped_records(records, spec)
    full_pop, capped_pop = Population(records, source), Population(capped, source)
    same, total = {}, {}
    for rec, cut in zip(records, capped):
        whole, seen = UserFacts(rec, full_pop, spec.window_days), UserFacts(cut, capped_pop, spec.window_days)
        for topic in top_topics(whole, k):
            for kind in full_pop.kinds(topic.aspect):
                truth = whole.value(kind, topic.facet)
                if truth is None:
                    continue
                total[kind] = total.get(kind, 0) + 1
                same[kind] = same.get(kind, 0) + (seen.value(kind, topic.facet) == truth)
    return {kind: same[kind] / total[kind] for kind in total}


def fact_reader_recall(
    records: list[dict],
    population_records: list[dict],
    pairs: list[dict],
    spec: DatasetSpec,
    source: FacetSource,
    group_size: int = 32,
    seed: int = 0,
) -> dict:
    """Exact-query retrieval by a rule that reads the prefix perfectly: each D_uqa pair's facts computed from the
    K_m most recent events (levels against the capped population of `population_records`) are matched with every
    answer of its group (the facts computed from the whole record), and the answer agreeing on the most facts is
    retrieved (ties split). A ceiling for what the prefix shows, not a model. records: the pairs' users. Groups
    as the model's exact-query retrieval draws them (diagnostics.exact_query_groups)."""
    full_pop = Population(population_records, source)
    cut_pop = Population(capped_records(population_records, spec), source)
    whole = {r["user_id"]: UserFacts(r, full_pop, spec.window_days) for r in records}
    cut = {r["user_id"]: UserFacts(r, cut_pop, spec.window_days) for r in capped_records(records, spec)}
    uqa = [p for p in pairs if p["source"] == "uqa"]

    def facts(user: UserFacts, topic_key: str) -> list:
        topic = source.bank.by_key[topic_key]
        return [user.value(kind, topic.facet) for kind in full_pop.kinds(topic.aspect)]

    hits = chance = n = 0.0
    for g in exact_query_groups(uqa, group_size, seed):
        truth = [facts(whole[uqa[i]["user_id"]], uqa[i]["topic"]) for i in g]
        for a, i in enumerate(g):
            seen = facts(cut[uqa[i]["user_id"]], uqa[i]["topic"])
            agree = np.array([sum(x == y for x, y in zip(seen, t)) for t in truth])
            best = np.flatnonzero(agree == agree.max())
            hits += (a in best) / len(best)
        chance += 1
        n += len(g)
    return {"recall@1": hits / max(n, 1), "chance@1": chance / max(n, 1), "pairs": int(n)}
