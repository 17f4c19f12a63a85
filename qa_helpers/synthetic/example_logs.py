"""A second synthetic dataset: a streaming and reading service, shaped unlike the payments world.

It stands in for "your own logs" in the notebook that walks a dataset through validate -> pretraining data ->
pretrain -> embed -> probe. Four event modalities and no tabular row:

    {"user_id": "s00042",
     "events": {"watch": [{"day": 3, "hour": 21, "text": "watched Night Harbor S2E4 | crime drama | on TV",
                           "minutes": 48.0}],
                "read":  [{"day": 5, "hour": 7, "text": "read 'Deep Roots' | gardening | chapter 3"}]}}

- `watch` and `listen` events carry `minutes`; `read` and `query` events carry no number.
- History window: days 0..59; future window: the 30 days after it, days 0..29 of its own.

Mechanisms:
- hidden traits: interest weights over ten genres (peaky Dirichlet), activity level (log-normal), a preferred
  hour, a device mix, a subscription tier (free: "with ads", premium: "in 4K" on TV) and whether the user is
  leaving; every event's genre, day, hour and numbers are drawn from them;
- users who are leaving often fade out over the last weeks of the history and search for how to cancel;
- the future window uses drifted interests and activity; leavers nearly stop, sports subscribers watch live
  matches with a sports pass, upgraders move to the premium tier;
- labels: `sports_subscription` and `premium_upgrade` are the latent Bernoulli draws the future window shows;
  `churn` is read off the windows (future events per day below 30% of the history's).

`genre_of(modality, text)` gives the true genre of any generated text ("account" for plan and billing queries).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..method.schema import atomic_write_text, write_jsonl

WINDOW_DAYS = 60
FUTURE_DAYS = 30
SPEC: dict = {
    "name": "streaming-service",
    "window_days": WINDOW_DAYS,
    "modalities": [
        {"name": "watch", "cap": 24, "numeric": ["minutes"]},
        {"name": "listen", "cap": 16, "numeric": ["minutes"]},
        {"name": "read", "cap": 12, "numeric": []},
        {"name": "query", "cap": 8, "numeric": []},
    ],
    "tabular": 0,
}
MODALITIES: tuple[str, ...] = tuple(m["name"] for m in SPEC["modalities"])
TASKS: dict[str, str] = {
    "sports_subscription": "Will this user start a sports subscription next month?",
    "churn": "Will this user stop using the service next month?",
    "premium_upgrade": "Will this user upgrade to the premium plan next month?",
}
TIERS: tuple[str, ...] = ("free", "standard", "premium")
DEVICES: tuple[str, ...] = ("TV", "phone", "laptop", "tablet")

# Per genre and modality: (title, kind) items, or plain query strings. Kinds decide the text and the minutes.
CATALOGUE: dict[str, dict[str, list]] = {
    "crime drama": {
        "watch": [
            ("Night Harbor", "series"),
            ("The Quiet Precinct", "series"),
            ("Cold Ledger", "series"),
            ("Blackwater Files", "series"),
            ("The Ninth Witness", "film"),
        ],
        "listen": [
            ("Case Closed: Unsolved Murders", "podcast"),
            ("Dark Alleys True Crime", "podcast"),
            ("The Detective's Notebook", "podcast"),
            ("Night Harbor Original Soundtrack", "album"),
        ],
        "read": [
            ("The Silent Harbour Murders", "book"),
            ("A Body in the Orchard", "book"),
            ("The Forger's Daughter", "book"),
            ("Inside the cold-case squad that reopened 40 murders", "article"),
        ],
        "query": [
            "night harbor season 3 release date",
            "detective series like broadchurch",
            "who is the killer in cold ledger",
            "scandinavian noir crime shows",
            "true crime documentaries about heists",
        ],
    },
    "cooking": {
        "watch": [
            ("The Sourdough Diaries", "series"),
            ("Street Food Atlas", "series"),
            ("Knife Skills with Marta", "short"),
            ("Fifteen-Minute Dinners", "short"),
            ("Burnt Sugar", "film"),
        ],
        "listen": [
            ("The Kitchen Table", "podcast"),
            ("Salt and Acid Radio", "podcast"),
            ("Ferment This!", "podcast"),
            ("Home Cook Hour", "podcast"),
        ],
        "read": [
            ("Salt, Fat, Fire", "book"),
            ("Weeknight Pasta: 60 Recipes", "book"),
            ("The Spice Road Cookbook", "book"),
            ("How to keep a sourdough starter alive", "article"),
        ],
        "query": [
            "easy sourdough starter recipe",
            "vegetarian lasagna recipe",
            "how long to roast a whole chicken",
            "ramen broth from scratch",
            "best chef's knife for home cooks",
        ],
    },
    "football": {
        "watch": [
            ("Rovers vs United", "match"),
            ("City vs Athletic", "match"),
            ("Champions Cup Final", "match"),
            ("Matchday Review", "short"),
            ("The Derby: A Season Inside", "series"),
        ],
        "listen": [
            ("The Offside Trap", "podcast"),
            ("Ninety Minutes Football Pod", "podcast"),
            ("Transfer Window Daily", "podcast"),
            ("Terrace Chants Anthology", "album"),
        ],
        "read": [
            ("Inverting the Pyramid: a history of football tactics", "book"),
            ("The Keeper's Diary", "book"),
            ("Transfer rumours: who moves in January", "article"),
            ("League table analysis after matchday 12", "article"),
        ],
        "query": [
            "rovers vs united live score",
            "premier league table",
            "champions cup fixtures",
            "football transfer news today",
            "who won the derby last night",
        ],
    },
    "jazz": {
        "watch": [
            ("Blue Note Nights: Live at the Vanguard", "film"),
            ("Jazz Legends", "series"),
            ("The Making of Kind of Blue", "film"),
        ],
        "listen": [
            ("Kind of Blue by Miles Davis", "album"),
            ("Blue Lantern by The Marlowe Trio", "album"),
            ("Late Night Jazz Piano", "album"),
            ("Ella and Louis", "album"),
            ("The Jazz Standards Hour", "podcast"),
        ],
        "read": [
            ("Coltrane: A Life in Sound", "book"),
            ("The History of Bebop", "book"),
            ("Ten essential jazz piano records", "article"),
        ],
        "query": [
            "miles davis kind of blue vinyl",
            "jazz clubs near me",
            "bill evans trio best album",
            "how to play a ii-v-i on piano",
            "saxophone jazz playlist",
        ],
    },
    "gardening": {
        "watch": [
            ("Gardeners' Year", "series"),
            ("The Secret Garden Restoration", "series"),
            ("Big Allotment Challenge", "series"),
            ("Grow Your Own Veg", "short"),
        ],
        "listen": [
            ("Roots and Shoots", "podcast"),
            ("The Potting Shed", "podcast"),
            ("Birdsong in the Garden", "album"),
        ],
        "read": [
            ("Deep Roots", "book"),
            ("The Well-Tempered Garden", "book"),
            ("When and how to prune roses", "article"),
            ("Companion planting for tomatoes", "article"),
        ],
        "query": [
            "when to plant tomatoes outside",
            "how to prune roses",
            "raised bed soil mix",
            "slugs eating lettuce",
            "best perennials for shade",
        ],
    },
    "sci-fi": {
        "watch": [
            ("Starfall Protocol", "series"),
            ("The Long Orbit", "series"),
            ("Andromeda Drift", "series"),
            ("Red Dust", "film"),
            ("Signal from Kepler", "film"),
        ],
        "listen": [
            ("Starfall Protocol Original Score", "album"),
            ("Synthwave Horizons", "album"),
            ("The Sci-Fi Book Club", "podcast"),
            ("Worldbuilders", "podcast"),
        ],
        "read": [
            ("Children of the Drift", "book"),
            ("Hollow Suns", "book"),
            ("The Last Colony Ship", "book"),
            ("The physics of warp drives, explained", "article"),
        ],
        "query": [
            "starfall protocol season 2",
            "best hard sci-fi novels",
            "space opera series like the expanse",
            "red dust ending explained",
            "andromeda drift cast",
        ],
    },
    "kids": {
        "watch": [
            ("Pip and the Puddle Dragons", "short"),
            ("Captain Koala", "short"),
            ("Bluebell Farm", "short"),
            ("The Tiny Astronauts", "short"),
            ("Pip's Big Adventure", "film"),
        ],
        "listen": [
            ("Bedtime Stories for Little Ones", "podcast"),
            ("Story Pirates", "podcast"),
            ("Sing-Along Songs Vol. 2", "album"),
            ("Lullabies for Sleepy Babies", "album"),
        ],
        "read": [
            ("Monty the Moon Bear", "book"),
            ("Goodnight, Little Fox", "book"),
            ("Ten rainy-day crafts for toddlers", "article"),
        ],
        "query": [
            "pip and the puddle dragons new episodes",
            "cartoons for 4 year olds",
            "kids movies this weekend",
            "bedtime songs for toddlers",
            "toddler craft ideas",
        ],
    },
    "finance news": {
        "watch": [
            ("Market Close", "short"),
            ("The Money Desk", "series"),
            ("Crypto Explained", "short"),
            ("Inside the Crash of 2008", "film"),
        ],
        "listen": [
            ("The Market Hour", "podcast"),
            ("Money Matters Daily", "podcast"),
            ("Invest Like a Pro", "podcast"),
            ("Central Bank Watch", "podcast"),
        ],
        "read": [
            ("The Patient Saver", "book"),
            ("What the next rate hike means for mortgages", "article"),
            ("Index funds vs active funds", "article"),
            ("Quarterly earnings roundup", "article"),
        ],
        "query": [
            "s&p 500 today",
            "mortgage rate forecast",
            "best index funds",
            "inflation report this month",
            "how do bonds work",
        ],
    },
    "fitness": {
        "watch": [
            ("20-Minute HIIT", "short"),
            ("Yoga Flow for Beginners", "short"),
            ("Strength Basics", "series"),
            ("Marathon Men", "film"),
        ],
        "listen": [
            ("Running Beats 170 BPM", "album"),
            ("Workout Power Mix", "album"),
            ("The Fitness Lab", "podcast"),
            ("Mindful Mornings", "podcast"),
        ],
        "read": [
            ("Strong at Any Age", "book"),
            ("Run Your First Marathon", "book"),
            ("Couch to 5K, week by week", "article"),
            ("Protein: how much do you really need", "article"),
        ],
        "query": [
            "beginner running plan",
            "home workout no equipment",
            "yoga for back pain",
            "10k training schedule",
            "protein shake recipe",
        ],
    },
    "history": {
        "watch": [
            ("Empires of the Bronze Age", "series"),
            ("World at War", "series"),
            ("Castles of Europe", "series"),
            ("The Last Tsar", "film"),
        ],
        "listen": [
            ("The Rest of Antiquity", "podcast"),
            ("Revolutions Retold", "podcast"),
            ("History Extra Hour", "podcast"),
        ],
        "read": [
            ("The Fall of Constantinople", "book"),
            ("The Tudors in Ten Objects", "book"),
            ("Rome: An Empire in Twelve Lives", "book"),
            ("How the Silk Road really worked", "article"),
        ],
        "query": [
            "why did the roman empire fall",
            "world war 2 documentaries",
            "castles to visit in wales",
            "who was the last tsar",
            "bronze age collapse explained",
        ],
    },
}
GENRES: tuple[str, ...] = tuple(CATALOGUE)
ACCOUNT_QUERIES: dict[str, tuple[str, ...]] = {
    "cancel": ("how to cancel my subscription", "pause membership for a month", "cheaper plan options"),
    "sports": ("sports pass price", "watch football live on the app"),
    "premium": ("premium plan 4k price", "upgrade to premium"),
    "other": ("change payment card", "download invoice", "how many profiles on family plan", "app not loading on tv"),
}
# How strongly each genre shows in each modality (watch, listen, read, query), and its typical hour.
_AFFINITY = {
    "crime drama": (2.0, 0.6, 1.0, 0.8),
    "cooking": (1.2, 0.7, 0.8, 1.5),
    "football": (2.0, 0.8, 0.6, 1.2),
    "jazz": (0.3, 3.0, 0.5, 0.7),
    "gardening": (0.8, 0.6, 1.5, 1.5),
    "sci-fi": (1.8, 0.6, 1.4, 0.9),
    "kids": (2.2, 1.2, 0.8, 0.6),
    "finance news": (0.6, 1.6, 1.8, 1.0),
    "fitness": (1.0, 2.0, 0.6, 1.0),
    "history": (1.2, 1.2, 1.8, 0.8),
}
_GENRE_HOUR = np.array([21, 18, 19, 22, 9, 22, 17, 8, 7, 20], dtype=float)
_AFFINITY_M = np.array([_AFFINITY[g] for g in GENRES])  # (G, 4)
_EVENTS_PER_60_DAYS = np.array([30.0, 18.0, 8.0, 9.0])  # average user, per modality
_NEVER_USES = np.array([0.02, 0.25, 0.35, 0.15])  # share of users who never use a modality
_LENGTH = {"series": 45.0, "film": 110.0, "match": 15.0, "short": 20.0, "podcast": 40.0, "album": 45.0, "live": 100.0}
_TEXT_GENRE = {q: g for g in GENRES for q in CATALOGUE[g]["query"]} | {
    q: "account" for qs in ACCOUNT_QUERIES.values() for q in qs
}
_FOOTBALL = GENRES.index("football")
_LIVE_MATCHES = [(title, "live") for title, kind in CATALOGUE["football"]["watch"] if kind == "match"]


def genre_of(modality: str, text: str) -> str | None:
    """The true genre of a generated event text ("account" for plan and billing queries); None if unknown."""
    if modality == "query":
        return _TEXT_GENRE.get(text)
    parts = text.split(" | ")
    return parts[1] if len(parts) == 3 and parts[1] in CATALOGUE else None


@dataclass
class Dataset:
    """Records and future-window records (aligned, one per user), labels per task, and hidden traits."""

    records: list[dict]
    future_records: list[dict]
    labels: dict[str, np.ndarray]  # task -> (n_users,) int8, aligned with records
    interest: np.ndarray  # (n_users, len(GENRES)) hidden interest weights of the history window
    tier: list[str]  # subscription tier during the history window

    @property
    def top_genre(self) -> list[str]:
        """Each user's strongest interest."""
        return [GENRES[i] for i in self.interest.argmax(1)]


@dataclass
class _User:
    """One user's hidden traits for a window."""

    interest: np.ndarray  # (G,)
    activity: float
    modality_use: np.ndarray  # (4,) multipliers, 0 for a modality never used
    peak_hour: float
    devices: np.ndarray  # (4,) device mix
    tier: int


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _render(modality: str, genre: str, item, device: str, tier: int, num: int, frac: float) -> tuple[str, float]:
    """The text of one event and its minutes (0 for modalities without them)."""
    if modality == "query":
        return item, 0.0
    title, kind = item
    if modality == "watch":
        head = {
            "series": f"watched {title} S{num % 4 + 1}E{num}",
            "film": f"watched {title} (film)",
            "match": f"watched {title} highlights",
            "short": f"watched {title}, episode {num}",
            "live": f"watched live: {title}",
        }[kind]
        where = f"sports pass on {device}" if kind == "live" else f"on {device}"
        where += ", with ads" if tier == 0 else ", in 4K" if tier == 2 and device == "TV" else ""
        return f"{head} | {genre} | {where}", round(_LENGTH[kind] * frac, 1)
    if modality == "listen":
        head = f"listened to {title}, episode {num * 7}" if kind == "podcast" else f"listened to {title}"
        return f"{head} | {genre} | {kind}", round(_LENGTH[kind] * frac, 1)
    tail = f"chapter {num}" if kind == "book" else "article"
    return f"read '{title}' | {genre} | {tail}", 0.0


def _draw(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """`n` indices drawn with probability proportional to `weights` (rng.choice without its per-call checks)."""
    cum = np.cumsum(weights)
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), len(cum) - 1)


def _modality_events(
    rng: np.random.Generator, m: int, n: int, user: _User, day_w: np.ndarray, live: bool = False
) -> list[dict]:
    """`n` events of modality index `m` on days weighted by `day_w`; `live`: football live matches instead."""
    modality = MODALITIES[m]
    g = np.full(n, _FOOTBALL) if live else _draw(rng, user.interest * _AFFINITY_M[:, m], n)
    days = _draw(rng, day_w, n)
    own = rng.random(n) < 0.6
    hours = np.where(own, user.peak_hour + rng.normal(0, 1.5, n), _GENRE_HOUR[g] + rng.normal(0, 2.0, n))
    hours = np.round(hours).astype(int) % 24
    pick, num, frac = rng.random(n).tolist(), rng.integers(1, 13, n).tolist(), rng.beta(4.0, 1.5, n).tolist()
    devices = _draw(rng, user.devices, n).tolist()
    has_minutes = bool(SPEC["modalities"][m]["numeric"])
    events = []
    for k, (gk, day, hour) in enumerate(zip(g.tolist(), days.tolist(), hours.tolist())):
        genre = GENRES[gk]
        items = _LIVE_MATCHES if live else CATALOGUE[genre][modality]
        item = items[int(pick[k] * len(items))]
        text, minutes = _render(modality, genre, item, DEVICES[devices[k]], user.tier, num[k], frac[k])
        event = {"day": day, "hour": hour, "text": text}
        if has_minutes:
            event["minutes"] = minutes
        events.append(event)
    return events


def _account_queries(rng: np.random.Generator, kind: str, n: int, user: _User, day_w: np.ndarray) -> list[dict]:
    """`n` plan and billing queries of one kind (see ACCOUNT_QUERIES)."""
    texts = ACCOUNT_QUERIES[kind]
    days = _draw(rng, day_w, n).tolist()
    hours = (np.round(user.peak_hour + rng.normal(0, 2.0, n)).astype(int) % 24).tolist()
    return [{"day": d, "hour": h, "text": texts[i]} for d, h, i in zip(days, hours, rng.integers(0, len(texts), n))]


def _window(
    rng: np.random.Generator, user: _User, day_w: np.ndarray, intents: dict[str, float], live: float = 0.0
) -> dict[str, list[dict]]:
    """One window of events: per-modality counts from activity and the day weights, plus account queries
    (`intents`: kind -> expected count) and `live` expected live matches. Never empty."""
    scale = len(day_w) / WINDOW_DAYS * user.activity * day_w.mean()
    events: dict[str, list[dict]] = {m: [] for m in MODALITIES}
    for m, modality in enumerate(MODALITIES):
        n = rng.poisson(_EVENTS_PER_60_DAYS[m] * scale * user.modality_use[m])
        events[modality] += _modality_events(rng, m, n, user, day_w)
    for kind, rate in intents.items():
        events["query"] += _account_queries(rng, kind, rng.poisson(rate), user, day_w)
    if live:
        events["watch"] += _modality_events(rng, 0, rng.poisson(live), user, day_w, live=True)
    if not any(events.values()):  # nobody is invisible: one visit, of the modality the user uses most
        m = int(np.argmax(user.modality_use))
        events[MODALITIES[m]] = _modality_events(rng, m, 1, user, day_w)
    return {m: sorted(evs, key=lambda e: (e["day"], e["hour"])) for m, evs in events.items() if evs}


def _n_events(record: dict) -> int:
    return sum(len(evs) for evs in record["events"].values())


def generate(n_users: int, seed: int) -> Dataset:
    """`n_users` users of the streaming service: history, future window, labels. Deterministic in `seed`."""
    rng = np.random.default_rng(seed)
    G = len(GENRES)
    interest = rng.dirichlet(np.full(G, 0.35), size=n_users) + 1e-3
    interest /= interest.sum(1, keepdims=True)
    log_act = rng.normal(0.0, 0.55, n_users)
    use = np.exp(rng.normal(0.0, 0.5, (n_users, 4))) * (rng.random((n_users, 4)) >= _NEVER_USES)
    peak = rng.choice([8.0, 13.0, 20.0, 23.0], size=n_users, p=[0.2, 0.15, 0.45, 0.2]) + rng.normal(0, 1, n_users)
    devices = rng.dirichlet(np.full(len(DEVICES), 0.8), size=n_users)
    premium = rng.random(n_users) < _sigmoid(-1.6 + 0.8 * log_act)
    tier = np.where(premium, 2, (rng.random(n_users) < 0.45).astype(int))
    churn_prop = rng.normal(0, 1, n_users) + 0.6 * (tier == 0) - 0.6 * (tier == 2) - 0.5 * log_act
    leaving = rng.random(n_users) < _sigmoid(-1.9 + 1.1 * churn_prop)
    fades = leaving & (rng.random(n_users) < 0.7)  # the rest leave without warning
    fade_start, fade_days = rng.uniform(20, 50, n_users), rng.uniform(5, 15, n_users)
    trend = rng.normal(0, 0.3, n_users)  # everybody drifts a little up or down over the history
    sports = ~leaving & (rng.random(n_users) < _sigmoid(-2.6 + 7.0 * interest[:, _FOOTBALL] + 0.5 * (tier > 0)))
    tv = devices[:, DEVICES.index("TV")]
    upgrade = (
        ~leaving & (tier < 2) & (rng.random(n_users) < _sigmoid(-2.3 + 1.5 * log_act + 2.5 * tv + 0.8 * (tier == 1)))
    )
    # future window: drifted interests (sports subscribers lean into football) and activity
    interest_f = interest * np.exp(rng.normal(0, 0.4, (n_users, G)))
    interest_f[:, _FOOTBALL] += 0.3 * sports
    interest_f /= interest_f.sum(1, keepdims=True)
    act_f = np.where(leaving, 0.06, np.exp(rng.normal(0, 0.35, n_users)))

    hist_days = np.arange(WINDOW_DAYS, dtype=float)
    records, future_records, churn = [], [], np.zeros(n_users, dtype=np.int8)
    for i in range(n_users):
        uid = f"s{i:05d}"
        user = _User(interest[i], float(np.exp(log_act[i])), use[i], float(peak[i]), devices[i], int(tier[i]))
        day_w = np.exp(trend[i] * (hist_days - 30) / 30)
        if fades[i]:
            day_w *= np.exp(-np.maximum(0.0, hist_days - fade_start[i]) / fade_days[i])
        intents = {
            "cancel": 1.0 if leaving[i] else 0.04,
            "sports": 0.6 if sports[i] else 0.05,
            "premium": 0.6 if upgrade[i] else 0.05,
            "other": 0.3,
        }
        history = {"user_id": uid, "events": _window(rng, user, day_w, intents)}
        future_user = _User(
            interest_f[i], user.activity * act_f[i], use[i], user.peak_hour, devices[i], 2 if upgrade[i] else user.tier
        )
        live = rng.gamma(2.0, 2.0) if sports[i] else 0.0
        future = {"user_id": uid, "events": _window(rng, future_user, np.ones(FUTURE_DAYS), {"other": 0.15}, live)}
        churn[i] = _n_events(future) / FUTURE_DAYS < 0.3 * _n_events(history) / WINDOW_DAYS
        records.append(history)
        future_records.append(future)
    labels = {"sports_subscription": sports.astype(np.int8), "churn": churn, "premium_upgrade": upgrade.astype(np.int8)}
    return Dataset(records, future_records, labels, interest, [TIERS[t] for t in tier])


def write(folder: str | Path, n_users: int, seed: int) -> Dataset:
    """Generate and write records.jsonl, future.jsonl, spec.json, labels.csv and tasks.json into `folder`."""
    folder = Path(folder)
    data = generate(n_users, seed)
    write_jsonl(folder / "records.jsonl", data.records)
    write_jsonl(folder / "future.jsonl", data.future_records)
    atomic_write_text(folder / "spec.json", json.dumps(SPEC, indent=1) + "\n")
    atomic_write_text(folder / "tasks.json", json.dumps(TASKS, indent=1) + "\n")
    rows = [",".join(["user_id", *TASKS])]
    for i, rec in enumerate(data.records):
        rows.append(",".join([rec["user_id"], *(str(int(data.labels[t][i])) for t in TASKS)]))
    atomic_write_text(folder / "labels.csv", "\n".join(rows) + "\n")
    return data
