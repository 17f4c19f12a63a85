"""UserU on the synthetic world: the catalogue as a FacetSource (useru.facts), the topics it asks about and the
words its answers use. The world's catalogue knows every event text's facet, so UserU here asks about 24 facets x 3
aspects (72 topics) and, on world version 2, one habits topic per interest (UserU version 5: the interest's own
subject, 'interest:jazz', whose events also count for the interest's facet).

    source = catalogue_facets(world_version=2)
    rows, stats = useru.builder.build(w.pretrain, w.pretrain_future, source, seed=0)
"""

from __future__ import annotations

from functools import cache

import numpy as np

from ..useru.facts import FacetSource
from ..useru.topics import QuestionBank, Topic, topics_from
from . import catalog, interests

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
TITLES = {"habits": "{domain} habits", "timing": "timing of {domain}", "trend": "changes in {domain}"}
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

TOPICS: tuple[Topic, ...] = topics_from(
    {f: {"domain": domain, "action": action, "alias": ALIASES[f]} for f, (domain, action) in catalog.FACETS.items()},
    WORDINGS,
    HELD_OUT_WORDINGS,
    TITLES,
)
# UserU version 5 (world version 2): one habits topic per interest, its subject the interest's catalogue key
# ("interest:jazz"); the held-out wording names the interest by its second keyword.
INTEREST_TOPICS: tuple[Topic, ...] = tuple(
    t
    for t in topics_from(
        {
            f"interest:{i.name}": {"domain": i.name, "action": f"spend time on {i.name}", "alias": i.keywords[1]}
            for i in interests.INTERESTS
        },
        WORDINGS,
        HELD_OUT_WORDINGS,
        TITLES,
    )
    if t.aspect == "habits"
)
TOPIC_BY_KEY = {t.key: t for t in TOPICS + INTEREST_TOPICS}
# a subject's domain in words: a facet's noun phrase, or an interest's name
DOMAIN = {f: domain for f, (domain, _) in catalog.FACETS.items()} | {
    f"interest:{i.name}": i.name for i in interests.INTERESTS
}


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


def subjects_of(entry: catalog.Entry) -> tuple[str, ...]:
    """The subjects an entry's events count for: its facet, and an interest's own key ('interest:jazz')."""
    return (entry.facet, entry.key) if catalog.interest_of(entry) else (entry.facet,)


class CatalogueFacets(FacetSource):
    """The catalogue's facets (and with `interests`, the interests' own subjects, UserU version 5)."""

    modalities = catalog.EVENT_MODALITIES
    period = "the last three months"

    def __init__(self, interests: bool = False):
        self._bank = QuestionBank(TOPICS, INTEREST_TOPICS if interests else ())

    @property
    def bank(self) -> QuestionBank:
        return self._bank

    def subjects(self, modality: str, text: str) -> tuple[str, ...]:
        entry = catalog.lookup(modality, text)
        return () if entry is None else subjects_of(entry)

    def future_facet(self, modality: str, text: str) -> str | None:
        entry = catalog.lookup(modality, text)
        return None if entry is None or entry.facet == "daily_tools" else entry.facet  # tools say nothing of a person

    def domain(self, subject: str) -> str:
        return DOMAIN[subject]

    def action(self, facet: str) -> str:
        return catalog.FACETS[facet][1]

    def item(self, modality: str, text: str) -> str:
        return item_name(modality, text)

    def wrong_item(self, value: str, rng: np.random.Generator) -> str:
        return "Starbucks" if value != "Starbucks" else "Pinduoduo"

    def wrong_modalities(self, value: tuple[str, ...], every: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(catalog.EVENT_MODALITIES)

    def modality_label(self, modality: str) -> str:
        return catalog.MODALITY_LABELS[modality]

    def numeric_kind(self, field: str) -> str:
        return "spend_level" if field == "amount" else super().numeric_kind(field)

    def numeric_phrase(self, kind: str) -> str:
        return "spending" if kind == "spend_level" else super().numeric_phrase(kind)


@cache
def catalogue_facets(world_version: int = 1) -> CatalogueFacets:
    """The catalogue's FacetSource on a world version: version 1's 72 topics (UserU versions 3 and 4); on version 2
    also one habits topic per interest (UserU version 5)."""
    if world_version not in (1, 2):
        raise ValueError(f"unknown world_version {world_version}; 1 (the control) or 2 (interests)")
    return CatalogueFacets(interests=world_version == 2)
