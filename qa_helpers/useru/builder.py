"""UserU, the pretraining data (paper §3.1): D_future and D_uqa, written only from what a record shows.

- D_future: the template query "What are the user's most likely actions in the next period?" answered by the
  user's future-window events, aggregated into (facet, part of day) actions and chosen by frequency with a
  diversity rule (one action per facet, at most MAX_FUTURE_ACTIONS), with frequency words instead of counts.
- D_uqa: 72 life topics (24 facets x 3 aspects: habits, timing, trend). Per user, 10 topics become questions
  that ask without answering (they name the topic, never the user's item), each in one of three wordings drawn
  at random; a fourth, held-out wording (other words for the domain) is never trained on and serves the
  diagnostics. The topics (`choose_topics`) are the ones with the most evidence, except that `k_low` of the 10
  (UserU version 4) are habits topics drawn at random, so that answers also say where a user stands low
  ("far below that of most users"), not only high; k_low = 0 is version 3, the top 10 alone. A drafter writes an
  answer as a list of claims in words (how much of the user's activity goes to the facet against the population,
  when, with what, growing or fading); simulating an LLM, it gets some claims wrong at `draft_error_rate` (a
  shifted level, a wrong item, an invented interest); a reflection step re-checks every claim against the record,
  revises wrong values and drops unsupported or off-topic claims.

"Against the population" means against the other users of the records UserU is built from (`Population`): a
level is the share of those users with less, read as one of five words. The facet level compares the facet's share
of the user's events (not the raw count, which mostly says how active the user is overall: UserU version 3, see
the datasheet); the spending level compares the facet's bill amounts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from tqdm.auto import tqdm

from ..synthetic import catalog as C
from ..synthetic import interests as I

FUTURE_QUERY = "What are the user's most likely actions in the next period?"
MAX_FUTURE_ACTIONS = 5
ASPECTS = ("habits", "timing", "trend")
DAYPARTS = (
    ("night", range(0, 5)),
    ("morning", range(5, 12)),
    ("afternoon", range(12, 18)),
    ("evening", range(18, 23)),
    ("night", range(23, 24)),
)
LEVEL_WORDS = ("far below", "below", "about the same as", "above", "far above")  # quintiles of the population

# Three trained wordings per aspect ({domain}: the facet's noun phrase, {action}: its verb phrase) and one
# held-out wording that uses the facet's alias instead: never trained on, asked only by the diagnostics.
WORDINGS = {
    "habits": (
        "How much does this user engage in {domain}, and with what?",
        "Describe this user's {domain} habits.",
        "How big a part of this person's life is {domain}?",
    ),
    "timing": (
        "At what time of day does this user usually {action}?",
        "When does this person tend to {action}?",
        "Which part of the day does this user {action} in?",
    ),
    "trend": (
        "Has this user's interest in {domain} grown or faded over the last three months?",
        "Is {domain} rising or falling for this person lately?",
        "How has this user's {domain} changed over recent weeks?",
    ),
}
HELD_OUT_WORDINGS = {
    "habits": "How involved is this person in {alias}?",
    "timing": "What hours of the day does this person spend on {alias}?",
    "trend": "Is {alias} becoming more or less important for this person?",
}
# Other words for each facet's domain, used only by the held-out wordings.
ALIASES = {
    "takeout": "ordering meals to the door",
    "groceries": "buying food and household supplies",
    "dining": "eating at restaurants",
    "transport": "getting around town",
    "utilities": "paying for power, water and phone",
    "discount": "hunting for cheap deals",
    "brand": "buying from famous labels",
    "concert": "concerts and live performances",
    "eco": "eco-friendly habits",
    "wealth": "investing and saving money",
    "social": "posting in social groups",
    "transfer": "sending and receiving money",
    "security": "keeping the account safe",
    "loan": "borrowing money",
    "promo": "shopping festivals and vouchers",
    "value": "looking for the lowest price",
    "health": "medical care",
    "music": "songs and music apps",
    "video": "watching shows and clips",
    "fitness": "sport and workouts",
    "travel": "trips and hotels",
    "membership": "loyalty cards and member points",
    "gifting": "giving presents and red envelopes",
    "daily_tools": "small helpers like maps and weather",
}


@dataclass(frozen=True)
class Topic:
    key: str  # "<facet>/<aspect>"
    facet: str
    aspect: str
    title: str
    wordings: tuple[str, ...]  # the trained questions
    held_out: str  # a question never trained on (other words for the domain)

    @property
    def question(self) -> str:
        """The topic's first wording (the one the diagnostics ask)."""
        return self.wordings[0]


TITLES = {"habits": "{domain} habits", "timing": "timing of {domain}", "trend": "changes in {domain}"}


def topics_from(fills: dict[str, dict], wordings=WORDINGS, held_out=HELD_OUT_WORDINGS, titles=TITLES) -> tuple:
    """Facet x aspect topics, facet by facet: `fills` maps each facet to the words its templates are filled with."""
    return tuple(
        Topic(
            f"{facet}/{aspect}",
            facet,
            aspect,
            titles[aspect].format(**fill),
            tuple(w.format(**fill) for w in wordings[aspect]),
            held_out[aspect].format(**fill),
        )
        for facet, fill in fills.items()
        for aspect in ASPECTS
    )


TOPICS: tuple[Topic, ...] = topics_from(
    {f: {"domain": domain, "action": action, "alias": ALIASES[f]} for f, (domain, action) in C.FACETS.items()}
)
# UserU version 5 (world version 2): one habits topic per interest, its subject the interest's catalogue key
# ("interest:jazz"); the held-out wording names the interest by its second keyword.
INTEREST_TOPICS: tuple[Topic, ...] = tuple(
    t
    for t in topics_from(
        {
            f"interest:{i.name}": {"domain": i.name, "action": f"spend time on {i.name}", "alias": i.keywords[1]}
            for i in I.INTERESTS
        }
    )
    if t.aspect == "habits"
)
TOPIC_BY_KEY = {t.key: t for t in TOPICS + INTEREST_TOPICS}
# a subject's domain in words: a facet's noun phrase, or an interest's name
DOMAIN = {f: domain for f, (domain, _) in C.FACETS.items()} | {f"interest:{i.name}": i.name for i in I.INTERESTS}


def topic_subjects(topics) -> tuple[str, ...]:
    """The subjects (facets, and interest keys) a population needs to place every one of `topics`, in order."""
    return tuple(dict.fromkeys(t.facet for t in topics))


def topics_for(interests: bool = False) -> tuple[Topic, ...]:
    """The topics UserU asks: the 72 facet topics, and with `interests` (version 5) the interest topics too."""
    return TOPICS + INTEREST_TOPICS if interests else TOPICS


# ----------------------------------------------------------------------------- facts a record shows


def daypart(hour: int) -> str:
    return next(name for name, hours in DAYPARTS if hour in hours)


def item_name(modality: str, text: str) -> str:
    """The human name of what an event is about (merchant, mini program, page, app or query)."""
    if modality == "bill":
        name = text.split(" | ")[0]
        return name[4:] if name.startswith("pay ") else name
    if modality == "mini":
        return text.split(" | ")[0].removeprefix("mini program ")
    if modality == "spm":
        return text.split(" > ")[-1]
    if modality == "app":
        return text.removeprefix("installed app ").split(" (")[0]
    return f'"{text}"'


class Evidence:
    """A record's events grouped by subject in one pass (`subjects_of`, in the record's event order): what every
    fact about the record reads. The functions below take a record or its Evidence; build one per record when
    asking many facts of it (`build` does), so its events are looked up once, not once per fact."""

    def __init__(self, record: dict):
        self.record = record
        self.total = 0  # events of every modality, whether or not the catalogue knows their text
        self.by_subject: dict[str, list[tuple[str, dict]]] = {}
        for modality, events in record.get("events", {}).items():
            self.total += len(events)
            for ev in events:
                entry = C.lookup(modality, ev["text"])
                if entry is not None:
                    for subject in subjects_of(entry):
                        self.by_subject.setdefault(subject, []).append((modality, ev))


def evidence(record: dict | Evidence) -> Evidence:
    """`record`'s Evidence (itself if it is one already)."""
    return record if isinstance(record, Evidence) else Evidence(record)


def facet_events(record: dict | Evidence, facet: str) -> list[tuple[str, dict]]:
    """(modality, event) pairs of a record whose text belongs to `facet`, a facet or an interest's catalogue key
    ('interest:jazz', whose events also belong to the interest's facet); unknown texts belong to no facet."""
    return list(evidence(record).by_subject.get(facet, ()))


def subjects_of(entry: C.Entry) -> tuple[str, ...]:
    """The subjects an entry's events count for: its facet, and an interest's own key ('interest:jazz')."""
    return (entry.facet, entry.key) if C.interest_of(entry) else (entry.facet,)


def subject_totals(record: dict) -> tuple[Counter, dict[str, float], int]:
    """One pass over a record: events per subject, bill amounts per subject (summed in event order, as
    facet_spend sums them), and the number of events."""
    counts, spends, total = Counter(), {}, 0
    for modality, events in record.get("events", {}).items():
        total += len(events)
        for ev in events:
            entry = C.lookup(modality, ev["text"])
            if entry is None:
                continue
            for subject in subjects_of(entry):
                counts[subject] += 1
                if modality == "bill":
                    spends[subject] = spends.get(subject, 0) + ev["amount"]
    return counts, spends, total


def facet_spend(record: dict | Evidence, facet: str) -> float:
    """Total bill amount of a record's events of `facet` (0 without bill events)."""
    return round(sum(ev["amount"] for m, ev in facet_events(record, facet) if m == "bill"), 2)


def facet_share(record: dict | Evidence, facet: str) -> float:
    """The share of a record's events (all modalities) that belong to `facet` (0 for a record without events)."""
    ev = evidence(record)
    return len(ev.by_subject.get(facet, ())) / ev.total if ev.total else 0.0


def facet_shares(record: dict | Evidence) -> np.ndarray:
    """(len(C.FACETS),) the share of a record's events that belongs to each facet, in C.FACETS order."""
    seen = evidence(record)
    return np.array([facet_share(seen, f) for f in C.FACETS])


class Population:
    """Per facet, the sorted shares of events and bill spends of a population of records: a level is the share of
    the population below a value (ties count half), read as one of LEVEL_WORDS (quintiles)."""

    def __init__(self, records: list[dict], subjects: tuple[str, ...] | None = None):
        """`subjects`: the facets (default), and in UserU version 5 the interests' keys too."""
        if not records:
            raise ValueError("a population needs at least one record")
        subjects = tuple(C.FACETS) if subjects is None else tuple(subjects)
        totals = [subject_totals(r) for r in records]
        self.shares = {f: np.sort([c[f] / n if n else 0.0 for c, _, n in totals]) for f in subjects}
        self.spends = {f: np.sort([round(sp.get(f, 0), 2) for _, sp, _ in totals]) for f in subjects}

    @staticmethod
    def level(sorted_values: np.ndarray, value: float) -> str:
        below = np.searchsorted(sorted_values, value, "left")
        ties = np.searchsorted(sorted_values, value, "right") - below
        share = (below + 0.5 * ties) / len(sorted_values)
        return LEVEL_WORDS[min(int(share * len(LEVEL_WORDS)), len(LEVEL_WORDS) - 1)]


def share_word(share: float) -> str:
    """How dominant a part of day is: 'almost always' (>= 80%), 'mostly' (>= 50%) or 'most often'."""
    return "almost always" if share >= 0.8 else "mostly" if share >= 0.5 else "most often"


def trend_word(first: int, second: int) -> str:
    """Events in the window's first and second half -> grown, faded or stayed about the same."""
    return "grown" if second > 1.25 * first + 1 else "faded" if first > 1.25 * second + 1 else "stayed about the same"


FACT_KINDS = ("count", "level", "modalities", "top_item", "spend_level", "daypart", "trend")


def compute_fact(
    record: dict | Evidence, kind: str, facet: str, population: Population | None = None, window_days: int = 90
):
    """The true value of one kind of fact about a facet, or None when the record shows no evidence for it.

    count: events (int); level: the facet's share of the user's events (0 without any: a level is a fact about
    every facet), spend_level: its bill amounts, each one of LEVEL_WORDS against `population` (required for these);
    modalities: tuple of modalities; top_item: the most frequent item; daypart: (part of day, share word);
    trend: grown / faded / stayed about the same."""
    if kind not in FACT_KINDS:
        raise ValueError(f"unknown fact kind {kind!r}; choose one of {FACT_KINDS}")
    if kind in ("level", "spend_level") and population is None:
        raise ValueError(f"a {kind!r} fact needs the population to compare with")
    record = evidence(record)
    if kind == "level":
        return Population.level(population.shares[facet], facet_share(record, facet))
    evs = facet_events(record, facet)
    if not evs:
        return None
    if kind == "count":
        return len(evs)
    if kind == "spend_level":
        spend = facet_spend(record, facet)
        return Population.level(population.spends[facet], spend) if spend > 0 else None
    if kind == "modalities":
        return tuple(m for m in C.EVENT_MODALITIES if any(mm == m for mm, _ in evs))
    if kind == "top_item":
        counts = Counter(item_name(m, ev["text"]) for m, ev in evs)
        return min(counts, key=lambda k: (-counts[k], k))
    if kind == "daypart":
        counts = Counter(daypart(ev["hour"]) for _, ev in evs)
        part = min(counts, key=lambda k: (-counts[k], k))
        return part, share_word(counts[part] / len(evs))
    half = window_days // 2
    return trend_word(sum(ev["day"] < half for _, ev in evs), sum(ev["day"] >= half for _, ev in evs))


@dataclass(frozen=True)
class Claim:
    kind: str
    facet: str
    value: object

    def text(self) -> str:
        domain = DOMAIN[self.facet]
        v = self.value
        if self.kind == "count":
            return f"The user shows {v} events related to {domain}."
        if self.kind == "level":
            return f"The share of their activity that goes to {domain} is {v} that of most users."
        if self.kind == "modalities":
            return f"This shows up in {', '.join(C.MODALITY_LABELS[m] for m in v)}."
        if self.kind == "top_item":
            return f"The most frequent one is {v}."
        if self.kind == "spend_level":
            return f"Their spending on it is {v} that of most users."
        if self.kind == "daypart":
            return f"It {v[1]} happens in the {v[0]}."
        if self.kind == "trend":
            return f"Over the last three months it has {v}."
        raise ValueError(f"unknown fact kind {self.kind!r}")


def supported(claim: Claim, truth) -> bool:
    """Does a claimed value agree with the record? Every fact is a count or a word, compared exactly."""
    return claim.value == truth


# ----------------------------------------------------------------------------- D_uqa

ASPECT_FACTS = {
    "habits": ("level", "modalities", "top_item", "spend_level"),
    "timing": ("level", "daypart", "top_item"),
    "trend": ("level", "trend", "spend_level"),
}


def topic_relevance(record: dict | Evidence, window_days: int = 90, interests: bool = False) -> dict[str, float]:
    """Evidence score per topic key; 0 means the record says nothing about it. With `interests` (version 5), each
    interest's habits topic scores log1p of its events, as a facet's habits topic does."""
    record = evidence(record)
    scores = {}
    for facet in C.FACETS:
        scores |= facet_relevance(facet, facet_events(record, facet), window_days)
    if interests:
        scores |= {t.key: float(np.log1p(len(record.by_subject.get(t.facet, ())))) for t in INTEREST_TOPICS}
    return scores


def facet_relevance(facet: str, events: list[tuple[str, dict]], window_days: int) -> dict[str, float]:
    """The evidence score of a facet's three topics from its (modality, event) pairs: log1p of the count, times a
    salience: habits always 1; timing grows from 0 (spread over the 4 parts of day) to 2 (all in one); trend grows
    from 0 (even halves) to 2 (all events in one half)."""
    n = len(events)
    base = float(np.log1p(n))
    parts = Counter(daypart(ev["hour"]) for _, ev in events)
    concentration = max(parts.values()) / n if n else 0.0
    first = sum(ev["day"] < window_days // 2 for _, ev in events)
    change = abs(n - 2 * first) / n if n else 0.0
    return {
        f"{facet}/habits": base,
        f"{facet}/timing": base * 2 * (concentration - 0.25) / 0.75 if n >= 3 else 0.0,
        f"{facet}/trend": base * 2 * change if n >= 4 else 0.0,
    }


def top_topics(record: dict | Evidence, k: int = 10, window_days: int = 90, interests: bool = False) -> list[Topic]:
    """The k most relevant topics with any evidence, best first (ties in topics_for(interests) order)."""
    scores = topic_relevance(record, window_days, interests)
    ranked = sorted((t for t in topics_for(interests) if scores[t.key] > 0), key=lambda t: -scores[t.key])
    return ranked[:k]


def choose_topics(
    ranked: list[Topic], topics: tuple[Topic, ...], k: int, k_low: int, rng: np.random.Generator
) -> list[Topic]:
    """A user's D_uqa topics: the first k - k_low of `ranked` (the topics with evidence, best first), then k_low
    habits topics of `topics` drawn at random among those not chosen, evidence or not: the user's level on them
    is whatever it is, often low. k_low = 0: ranked[:k], drawing nothing from `rng` (UserU version 3)."""
    if not 0 <= k_low <= k:
        raise ValueError(f"need 0 <= k_low <= k, got k_low={k_low}, k={k}")
    chosen = list(ranked[: k - k_low])
    if k_low:
        keys = {t.key for t in chosen}
        pool = [t for t in topics if t.aspect == "habits" and t.key not in keys]
        chosen += [pool[i] for i in rng.choice(len(pool), min(k_low, len(pool)), replace=False)]
    return chosen


def draft_claims(
    record: dict | Evidence,
    topic: Topic,
    population: Population,
    rng: np.random.Generator,
    error_rate: float,
    window_days: int = 90,
) -> list[Claim]:
    """A drafted answer as claims. Like an LLM draft, a share `error_rate` of claims is wrong, and with the same
    chance one claim about an interest the record does not show is invented."""
    record = evidence(record)
    claims = []
    for kind in ASPECT_FACTS[topic.aspect]:
        value = compute_fact(record, kind, topic.facet, population, window_days)
        if value is None:
            continue
        if rng.random() < error_rate:
            value = corrupt(kind, value, rng)
        claims.append(Claim(kind, topic.facet, value))
    if rng.random() < error_rate:
        absent = [f for f in C.FACETS if f != topic.facet and not record.by_subject.get(f)]
        if absent:
            claims.append(Claim("level", absent[rng.integers(len(absent))], LEVEL_WORDS[rng.integers(2, 5)]))
    return claims


def corrupt(kind: str, value, rng: np.random.Generator):
    """A wrong value of a fact, as a drafting LLM would write it (the reflection step's test material)."""
    if kind in ("level", "spend_level"):  # one or two quintiles off, staying in range
        i = LEVEL_WORDS.index(value)
        options = [j for j in range(len(LEVEL_WORDS)) if 0 < abs(j - i) <= 2]
        return LEVEL_WORDS[options[rng.integers(len(options))]]
    if kind == "trend":
        others = [w for w in ("grown", "faded", "stayed about the same") if w != value]
        return others[rng.integers(len(others))]
    if kind == "daypart":
        others = [p for p in ("morning", "afternoon", "evening", "night") if p != value[0]]
        return others[rng.integers(len(others))], value[1]
    if kind == "top_item":
        return "Starbucks" if value != "Starbucks" else "Pinduoduo"
    if kind == "modalities":
        return tuple(C.EVENT_MODALITIES)
    raise ValueError(kind)


@dataclass
class ReflectionReport:
    checked: int = 0
    supported: int = 0
    revised: int = 0
    dropped: int = 0

    def add(self, other: ReflectionReport) -> None:
        for f in ("checked", "supported", "revised", "dropped"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


def reflect(
    record: dict | Evidence,
    topic: Topic,
    claims: list[Claim],
    population: Population | None = None,
    window_days: int = 90,
) -> tuple[list[Claim], ReflectionReport]:
    """Check each claim against the record: keep it if supported, revise a wrong value, drop an unsupported one or
    one about another facet than the topic's (it does not answer the question)."""
    record = evidence(record)
    report = ReflectionReport()
    kept = []
    for claim in claims:
        report.checked += 1
        truth = compute_fact(record, claim.kind, claim.facet, population, window_days)
        if truth is None or claim.facet != topic.facet:
            report.dropped += 1
        elif supported(claim, truth):
            report.supported += 1
            kept.append(claim)
        else:
            report.revised += 1
            kept.append(replace(claim, value=truth))
    return kept, report


# ----------------------------------------------------------------------------- D_future


def frequency_word(n: int) -> str:
    return "often" if n >= 6 else "several times" if n >= 3 else "a couple of times" if n == 2 else "once"


def future_actions(future_record: dict, max_actions: int = MAX_FUTURE_ACTIONS) -> list[tuple[str, str, int]]:
    """(facet, part of day, count) actions of a future window, by frequency, at most one per facet."""
    counts = Counter()
    for modality, events in future_record.get("events", {}).items():
        for ev in events:
            entry = C.lookup(modality, ev["text"])
            if entry is not None and entry.facet != "daily_tools":  # tools say nothing about the person
                counts[(entry.facet, daypart(ev["hour"]))] += 1
    return choose_actions(counts, max_actions)


def choose_actions(counts: Counter, max_actions: int = MAX_FUTURE_ACTIONS) -> list[tuple[str, str, int]]:
    """The most frequent (facet, part of day) actions, at most one per facet; after the first, only repeated ones."""
    chosen, facets = [], set()
    for (facet, part), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if facet in facets or (chosen and n < 2):
            continue
        chosen.append((facet, part, n))
        facets.add(facet)
        if len(chosen) == max_actions:
            break
    return chosen


def future_answer(actions: list[tuple[str, str, int]]) -> str:
    if not actions:
        return "The user is likely to stay mostly inactive in the next period."
    parts = [f"{C.FACETS[f][1]} in the {p} ({frequency_word(n)})" for f, p, n in actions]
    return "In the next period the user is most likely to " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- the dataset


def build(
    records: list[dict],
    future_records: list[dict],
    seed: int,
    k: int = 10,
    error_rate: float = 0.25,
    window_days: int = 90,
    k_low: int = 0,
    interests: bool = False,
) -> tuple[list[dict], dict]:
    """UserU pairs for pretraining users, and statistics of the reflection step. Levels compare each user with
    all of `records`; `k_low` of the k topics are drawn at random (choose_topics); `interests` adds the interest
    topics (version 5, on world version 2).

    Returns rows {user_id, source: future|uqa, topic, wording, query, answer, checked, revised, dropped} (wording:
    the index of the topic's trained wording asked; 0 for D_future) and a stats dict.
    """
    if len(records) != len(future_records):
        raise ValueError("records and future_records must describe the same users")
    rng = np.random.default_rng(seed)
    topics = topics_for(interests)
    population = Population(records, topic_subjects(topics))
    rows, total = [], ReflectionReport()
    answers_dropped = 0
    topics_per_user = []
    for rec, fut in tqdm(list(zip(records, future_records)), desc="UserU", mininterval=1.0):
        if rec["user_id"] != fut["user_id"]:
            raise ValueError(f"user order differs: {rec['user_id']} vs {fut['user_id']}")
        rows.append(future_row(rec["user_id"], future_answer(future_actions(fut))))
        seen = Evidence(rec)  # every fact below reads it
        chosen = choose_topics(top_topics(seen, k, window_days, interests), topics, k, k_low, rng)
        topics_per_user.append(len(chosen))
        for topic in chosen:
            drafted = draft_claims(seen, topic, population, rng, error_rate, window_days)
            claims, report = reflect(seen, topic, drafted, population, window_days)
            wording = int(rng.integers(len(topic.wordings)))
            total.add(report)
            if not claims:
                answers_dropped += 1
                continue
            rows.append(uqa_row(rec["user_id"], topic, wording, " ".join(c.text() for c in claims), report))
    return rows, pair_stats(rows, len(records), total, answers_dropped, topics_per_user)


def future_row(user_id: str, answer: str) -> dict:
    """A D_future pair: the template query and the user's next-period answer."""
    row = {"user_id": user_id, "source": "future", "topic": "future", "wording": 0, "query": FUTURE_QUERY}
    return {**row, "answer": answer, "checked": 0, "revised": 0, "dropped": 0}


def uqa_row(user_id: str, topic: Topic, wording: int, answer: str, report: ReflectionReport) -> dict:
    """A D_uqa pair: the topic asked in its trained wording `wording`, the reflected answer and what reflection did."""
    row = {"user_id": user_id, "source": "uqa", "topic": topic.key, "wording": wording}
    row |= {"query": topic.wordings[wording], "answer": answer}
    return row | {"checked": report.checked, "revised": report.revised, "dropped": report.dropped}


def pair_stats(
    rows: list[dict], users: int, total: ReflectionReport, answers_dropped: int, topics_per_user: list[int]
) -> dict:
    """The statistics `build` returns beside its pairs."""
    return {
        "users": users,
        "pairs_future": sum(r["source"] == "future" for r in rows),
        "pairs_uqa": sum(r["source"] == "uqa" for r in rows),
        "claims_checked": total.checked,
        "claims_supported": total.supported,
        "claims_revised": total.revised,
        "claims_dropped": total.dropped,
        "answers_dropped": answers_dropped,
        "mean_topics_per_user": float(np.mean(topics_per_user)) if topics_per_user else 0.0,
        "distinct_queries": len({r["query"] for r in rows}),
        "distinct_answers": len({r["answer"] for r in rows}),
    }


def question(topic_key: str, wording: int | str = 0) -> str:
    """A topic's question in one wording: an index of its trained wordings, or 'held_out'. The D_future topic
    ('future') always has the template query."""
    if topic_key == "future":
        return FUTURE_QUERY
    topic = TOPIC_BY_KEY[topic_key]
    return topic.held_out if wording == "held_out" else topic.wordings[wording]


def query_of(pair: dict, wording: int | str = "own") -> str:
    """The question of a pair: 'own' (the wording it was built with), or `question(pair's topic, wording)`."""
    return pair["query"] if wording == "own" else question(pair["topic"], wording)


def all_questions(interests: bool = False) -> list[str]:
    """Every question UserU can ask (trained and held-out wordings, and the D_future template); with `interests`,
    the interest topics' too."""
    return [FUTURE_QUERY] + [q for t in topics_for(interests) for q in (*t.wordings, t.held_out)]
