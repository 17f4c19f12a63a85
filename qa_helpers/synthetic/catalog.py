"""The vocabulary of the synthetic world: what events exist in each modality and which traits make them likely.

Every event kind is an `Entry`: a log-line text (or several, for search queries with slots), a *facet*
(the life domain it belongs to, shared across modalities and used by UserU), and trait *loadings*. A user's
chance of producing each entry of a modality is a softmax over `base + sum(loading * trait)`.

`lookup(modality, text)` maps a generated event text back to its entry, so UserU answers are written
from what a record shows (its texts and numbers), never from hidden fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np

from . import interests

MODALITIES: tuple[str, ...] = ("bill", "mini", "spm", "app", "search", "tabular")
EVENT_MODALITIES: tuple[str, ...] = MODALITIES[:-1]  # the five modalities made of text events
MODALITY_LABELS = {
    "bill": "PayBill transactions",
    "mini": "Mini Program visits",
    "spm": "SPM page paths",
    "app": "App list",
    "search": "homepage searches",
    "tabular": "tabular features",
}

# Facet: (life domain as a noun phrase, the action a user takes in it). UserU topics are built from these.
FACETS: dict[str, tuple[str, str]] = {
    "takeout": ("food delivery", "order food delivery"),
    "groceries": ("grocery shopping", "buy groceries"),
    "dining": ("dining out", "eat out at restaurants and cafes"),
    "transport": ("commuting and rides", "take rides or public transit"),
    "utilities": ("household bills", "pay household bills"),
    "discount": ("bargain shopping", "shop at discount platforms"),
    "brand": ("brand shopping", "shop at brand flagship stores"),
    "concert": ("live music and shows", "look for concerts and shows"),
    "eco": ("green living", "take part in Ant Forest and green actions"),
    "wealth": ("financial planning", "manage funds and savings"),
    "social": ("online communities", "join community discussions"),
    "transfer": ("money transfers", "transfer money"),
    "security": ("account security", "check account security settings"),
    "loan": ("credit and borrowing", "look at loans and credit lines"),
    "promo": ("big sales and coupons", "hunt for big-sale coupons"),
    "value": ("value-for-money choices", "compare prices for value"),
    "health": ("health management", "handle health and medical needs"),
    "music": ("music listening", "listen to music"),
    "video": ("video entertainment", "watch videos"),
    "fitness": ("fitness and exercise", "exercise and track workouts"),
    "travel": ("travel planning", "plan trips"),
    "membership": ("memberships and loyalty programs", "use membership and loyalty cards"),
    "gifting": ("gifts and red packets", "send red packets and gifts"),
    "daily_tools": ("everyday tools", "use everyday tools such as weather and maps"),
}

# Hour-of-day profiles (relative weights for hours 0..23).
HOUR_PROFILES: dict[str, tuple[float, ...]] = {
    "day": (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 1.5, 1, 0.8, 0.5, 0.3),
    "meal": (
        0.2,
        0.1,
        0.1,
        0.1,
        0.1,
        0.1,
        0.3,
        0.6,
        0.8,
        0.6,
        0.8,
        3,
        4,
        2,
        0.8,
        0.6,
        0.8,
        2.5,
        4,
        3,
        1.5,
        1,
        0.6,
        0.4,
    ),
    "evening": (0.5, 0.3, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1, 1, 1, 1, 1, 1.2, 1.5, 2, 3, 3.5, 3.5, 2.5, 1.2),
    "any": (
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.2,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.5,
        1.2,
        0.8,
        0.5,
    ),
}
LATE_HOURS = (20, 21, 22, 23, 0, 1)  # where night owls shift part of their activity


def late_share(evening_orientation, late):
    """Chance that an event of an entry with lateness `late` falls in LATE_HOURS, for a user's evening trait."""
    return np.clip(late / (1.0 + np.exp(-(1.5 * evening_orientation - 0.5))), 0.0, 1.0)


@dataclass(frozen=True)
class Entry:
    """One kind of event in one modality."""

    key: str
    facet: str
    texts: tuple[str, ...]  # all texts this entry can emit (one is drawn per event)
    loadings: dict = field(default_factory=dict)  # trait name -> weight in the softmax logit
    base: float = 0.0  # logit offset: how common the entry is for an average user
    hours: str = "any"  # key of HOUR_PROFILES
    late: float = 0.3  # how strongly evening_orientation shifts this entry's hours late
    amount: tuple[float, float] = (3.5, 0.8)  # bill only: log-normal (mu, sigma) of the amount in yuan


def _bill(key, facet, merchant, label, loadings, base=0.0, hours="any", late=0.3, amount=(3.5, 0.8), verb="pay"):
    texts = tuple(
        f"{verb} {m} | {label} | via {ch}".strip() for m in merchant for ch in ("balance", "bank card", "Huabei")
    )
    return Entry(key, facet, texts, loadings, base, hours, late, amount)


BILL = (
    _bill(
        "takeout",
        "takeout",
        ("Meituan Takeout", "Ele.me", "KFC Delivery", "Luckin Coffee Delivery"),
        "food delivery",
        {"takeout_habit": 1.6},
        base=0.3,
        hours="meal",
        late=1.8,
        amount=(3.4, 0.4),
    ),
    _bill(
        "groceries",
        "groceries",
        ("Hema Fresh", "Walmart", "FamilyMart", "7-Eleven"),
        "groceries",
        {"age": 0.3},
        base=0.6,
        hours="day",
        amount=(4.0, 0.7),
    ),
    _bill(
        "dining",
        "dining",
        ("Haidilao Hotpot", "Starbucks", "Xibei Restaurant", "Local Noodle House"),
        "restaurant",
        {"social_activity": 0.5, "income": 0.3},
        base=0.0,
        hours="meal",
        amount=(4.2, 0.6),
    ),
    _bill(
        "transport",
        "transport",
        ("Didi Chuxing", "Metro Card Top-up", "China Railway 12306"),
        "transport",
        {"activity_level": 0.3},
        base=0.3,
        hours="day",
        amount=(3.3, 0.9),
    ),
    _bill(
        "bike",
        "eco",
        ("Hellobike", "Bike Share Monthly Pass"),
        "bike sharing",
        {"eco_mindedness": 0.8},
        base=-0.8,
        hours="day",
        amount=(1.2, 0.5),
    ),
    _bill(
        "utilities",
        "utilities",
        ("State Grid Electricity", "China Mobile Top-up", "City Water Bill"),
        "utilities",
        {"age": 0.4},
        base=0.0,
        hours="day",
        amount=(4.5, 0.5),
    ),
    _bill(
        "discount",
        "discount",
        ("Pinduoduo", "Taobao Deals", "Vipshop Outlet", "Dollar Store"),
        "discount shopping",
        {"price_sensitivity": 1.1, "promo_sensitivity": 0.4},
        base=0.0,
        amount=(3.6, 0.7),
    ),
    _bill(
        "brand",
        "brand",
        ("Nike Flagship", "Apple Store", "Uniqlo", "L'Oreal Official"),
        "brand shopping",
        {"brand_loyalty": 1.3, "income": 0.5},
        base=-0.8,
        amount=(6.0, 0.8),
    ),
    _bill(
        "tickets",
        "concert",
        ("Damai Tickets", "Livehouse Box Office", "Maoyan Movies"),
        "tickets",
        {"entertainment_interest": 1.2},
        base=-1.2,
        hours="evening",
        amount=(5.3, 0.6),
    ),
    _bill(
        "green",
        "eco",
        ("Ant Forest Donation", "Recycling Kiosk"),
        "green action",
        {"eco_mindedness": 1.0},
        base=-1.5,
        amount=(2.0, 0.6),
    ),
    _bill(
        "wealth",
        "wealth",
        ("Yu'ebao Fund Purchase", "Index Fund Subscription", "Gold Savings Plan"),
        "wealth management",
        {"wealth_interest": 1.3, "income": 0.3},
        base=-1.2,
        hours="day",
        amount=(7.0, 1.0),
    ),
    _bill(
        "pharmacy",
        "health",
        ("Dingdang Pharmacy", "Hospital Registration"),
        "health",
        {"age": 0.5},
        base=-1.0,
        hours="day",
        amount=(4.0, 0.6),
    ),
    _bill(
        "red_packet",
        "gifting",
        ("red packet to group chat", "birthday red packet"),
        "gift",
        {"social_activity": 0.6},
        base=-0.8,
        hours="evening",
        amount=(3.0, 0.8),
        verb="send",
    ),
    _bill(
        "transfer_contact",
        "transfer",
        ("transfer out to a contact",),
        "transfer",
        {"social_activity": 0.4},
        base=-0.5,
        amount=(5.0, 1.0),
        verb="",
    ),
    _bill(
        "transfer_in",
        "transfer",
        ("transfer in from a contact",),
        "transfer",
        {"social_activity": 0.3},
        base=-0.8,
        amount=(5.0, 1.0),
        verb="",
    ),
    _bill(
        "new_payee",
        "transfer",
        ("transfer out to a new payee",),
        "transfer",
        {},
        base=-1.5,
        hours="day",
        late=0.0,
        amount=(5.5, 0.8),
        verb="",
    ),
    _bill(
        "rent",
        "utilities",
        ("transfer out to a landlord",),
        "rent",
        {"age": -0.3},
        base=-2.5,
        hours="day",
        late=0.0,
        amount=(8.0, 0.3),
        verb="",
    ),
)

# Signature events added on top of the category draws (see world.py): the conjunctions a
# task-agnostic count cannot see. They reuse texts of ordinary entries, so text alone does not reveal them.
FRAUD_TEXT = "transfer out to a new payee | transfer | via balance"  # small amount, 0-5 h
LAUNDER_IN_TEXT = "transfer in from a contact | transfer | via bank card"  # round amount
LAUNDER_OUT_TEXT = "transfer out to a contact | transfer | via bank card"  # same day, same amount


def _mini(key, facet, program, actions, loadings, base=0.0, hours="any", late=0.3):
    return Entry(key, facet, tuple(f"mini program {program} | {a}" for a in actions), loadings, base, hours, late)


MINI = (
    _mini(
        "forest",
        "eco",
        "Ant Forest",
        ("collect energy", "water a friend's tree", "plant a tree"),
        {"eco_mindedness": 1.7},
        base=0.2,
        hours="day",
    ),
    _mini(
        "farm",
        "eco",
        "Ant Farm",
        ("feed the chicken", "donate eggs"),
        {"eco_mindedness": 0.6, "social_activity": 0.3},
        base=-0.8,
    ),
    _mini(
        "meituan",
        "takeout",
        "Meituan Takeout",
        ("browse restaurants", "place an order"),
        {"takeout_habit": 1.3},
        base=0.0,
        hours="meal",
        late=1.5,
    ),
    _mini(
        "eleme",
        "takeout",
        "Ele.me",
        ("browse restaurants", "track a delivery"),
        {"takeout_habit": 1.2},
        base=-0.3,
        hours="meal",
        late=1.5,
    ),
    _mini(
        "damai",
        "concert",
        "Damai",
        ("browse shows", "check a seat map"),
        {"entertainment_interest": 1.4},
        base=-1.0,
        hours="evening",
    ),
    _mini(
        "community",
        "social",
        "Life Circle community",
        ("read a post", "like a post", "write a comment"),
        {"social_activity": 1.4, "entertainment_interest": 0.3},
        base=-0.5,
        hours="evening",
    ),
    _mini("didi", "transport", "Didi", ("call a ride",), {"activity_level": 0.3}, base=0.0, hours="day"),
    _mini("hellobike", "eco", "Hellobike", ("unlock a bike",), {"eco_mindedness": 0.5}, base=-0.6, hours="day"),
    _mini("fund", "wealth", "Fund Store", ("view a fund", "check returns"), {"wealth_interest": 1.3}, base=-0.8),
    _mini(
        "deals",
        "promo",
        "Juhuasuan Deals",
        ("claim a coupon", "browse flash deals"),
        {"promo_sensitivity": 1.2, "price_sensitivity": 0.5},
        base=-0.5,
    ),
    _mini(
        "member",
        "membership",
        "Brand Member Center",
        ("check member points", "claim a brand gift"),
        {"brand_loyalty": 1.3},
        base=-1.0,
    ),
    _mini(
        "health",
        "health",
        "Health Services",
        ("book an appointment", "check a lab report"),
        {"age": 0.6},
        base=-1.0,
        hours="day",
    ),
    _mini(
        "bills", "utilities", "Utilities", ("pay electricity", "pay mobile bill"), {"age": 0.4}, base=-0.5, hours="day"
    ),
    _mini("weather", "daily_tools", "Weather", ("check the forecast",), {}, base=-0.3),
    _mini(
        "jiebei",
        "loan",
        "Jiebei Loans",
        ("check loan limit", "apply for a loan"),
        {"fraud_propensity": 0.6, "price_sensitivity": 0.3},
        base=-1.5,
    ),
    _mini("travel", "travel", "Fliggy Travel", ("search flights", "book a hotel"), {"income": 0.5}, base=-1.2),
)


def _spm(key, facet, path, loadings, base=0.0, hours="any", late=0.3):
    return Entry(key, facet, (path,), loadings, base, hours, late)


SPM = (
    _spm("forest_collect", "eco", "home > ant forest > collect energy", {"eco_mindedness": 1.7}, base=0.3, hours="day"),
    _spm(
        "forest_rank",
        "eco",
        "home > ant forest > friend ranking",
        {"eco_mindedness": 1.0, "social_activity": 0.6},
        base=-0.8,
    ),
    _spm("forest_cert", "eco", "home > ant forest > tree planting certificate", {"eco_mindedness": 1.2}, base=-1.5),
    _spm("fund_detail", "wealth", "home > wealth > fund detail", {"wealth_interest": 1.4}, base=-0.6),
    _spm("yuebao", "wealth", "home > wealth > yu'ebao", {"wealth_interest": 0.8, "income": 0.3}, base=-0.3),
    _spm("big_sale", "promo", "home > coupons > big sale venue", {"promo_sensitivity": 1.5}, base=-0.8),
    _spm(
        "my_coupons",
        "promo",
        "home > coupons > my coupons",
        {"promo_sensitivity": 0.9, "price_sensitivity": 0.6},
        base=-0.5,
    ),
    _spm(
        "takeout_list",
        "takeout",
        "home > takeout > restaurant list",
        {"takeout_habit": 1.2},
        base=-0.5,
        hours="meal",
        late=1.5,
    ),
    _spm("brand_zone", "brand", "home > brand zone > flagship store", {"brand_loyalty": 1.3}, base=-1.0),
    _spm("card_pack", "membership", "home > card pack > membership card", {"brand_loyalty": 0.6}, base=-1.0),
    _spm(
        "community_post",
        "social",
        "home > community > post detail",
        {"social_activity": 1.3},
        base=-0.6,
        hours="evening",
    ),
    _spm(
        "community_feed",
        "social",
        "home > community > topic feed",
        {"social_activity": 1.0, "entertainment_interest": 0.5},
        base=-0.6,
        hours="evening",
    ),
    _spm(
        "concert_list",
        "concert",
        "home > tickets > concert list",
        {"entertainment_interest": 1.3},
        base=-1.2,
        hours="evening",
    ),
    _spm("device_mgmt", "security", "home > security > device management", {"fraud_propensity": 1.0}, base=-2.0),
    _spm("new_device", "security", "home > security > login from new device", {"fraud_propensity": 1.4}, base=-2.5),
    _spm(
        "to_card",
        "transfer",
        "home > transfer > to bank card",
        {"laundering_pattern": 0.9, "social_activity": 0.2},
        base=-1.0,
    ),
    _spm("statement", "utilities", "home > bills > monthly statement", {"age": 0.4}, base=-0.5),
    _spm("scan", "daily_tools", "home > scan > pay", {}, base=0.5),
    _spm("insurance", "health", "home > insurance > health cover", {"age": 0.5}, base=-1.2),
    _spm("huabei", "loan", "home > credit > huabei repayment", {"price_sensitivity": 0.3}, base=-0.8),
)


def _app(key, facet, name, genre, loadings, base=0.0):
    return Entry(key, facet, (f"installed app {name} ({genre})",), loadings, base, "any", 0.0)


APP = (
    _app("meituan", "takeout", "Meituan", "food delivery", {"takeout_habit": 1.2}, base=0.2),
    _app("eleme", "takeout", "Ele.me", "food delivery", {"takeout_habit": 1.1}, base=-0.2),
    _app("damai", "concert", "Damai", "event tickets", {"entertainment_interest": 1.3}, base=-0.8),
    _app("netease_music", "music", "NetEase Cloud Music", "music", {"entertainment_interest": 0.8, "age": -0.3}),
    _app("qq_music", "music", "QQ Music", "music", {"entertainment_interest": 0.6}),
    _app("xiaohongshu", "social", "Xiaohongshu", "lifestyle community", {"social_activity": 1.0}),
    _app("weibo", "social", "Weibo", "social media", {"social_activity": 0.8}),
    _app(
        "douban",
        "social",
        "Douban",
        "reviews community",
        {"social_activity": 0.6, "entertainment_interest": 0.4},
        base=-0.6,
    ),
    _app("keep", "fitness", "Keep", "fitness", {"activity_level": 0.3, "eco_mindedness": 0.3}, base=-0.5),
    _app("pinduoduo", "discount", "Pinduoduo", "group discounts", {"price_sensitivity": 1.2, "promo_sensitivity": 0.4}),
    _app("taobao", "promo", "Taobao", "shopping", {"promo_sensitivity": 0.6}, base=0.5),
    _app("vipshop", "discount", "Vipshop", "brand outlet", {"brand_loyalty": 0.5, "price_sensitivity": 0.5}, base=-0.8),
    _app("nike", "brand", "Nike", "brand store", {"brand_loyalty": 1.2}, base=-1.2),
    _app("tonghuashun", "wealth", "Tonghuashun", "stock trading", {"wealth_interest": 1.3}, base=-0.8),
    _app("futu", "wealth", "Futu", "brokerage", {"wealth_interest": 1.0, "income": 0.4}, base=-1.2),
    _app("didi", "transport", "Didi", "ride hailing", {}, base=0.2),
    _app("hellobike", "eco", "Hellobike", "bike sharing", {"eco_mindedness": 0.6}, base=-0.5),
    _app("bilibili", "video", "Bilibili", "video", {"entertainment_interest": 0.5, "age": -0.6}),
    _app("douyin", "video", "Douyin", "short video", {"activity_level": 0.2}, base=0.5),
    _app("weather", "daily_tools", "Weather", "tools", {}, base=0.3),
    _app("maps", "daily_tools", "Baidu Maps", "navigation", {}, base=0.3),
    _app("wps", "daily_tools", "WPS Office", "office", {"age": 0.2}),
    _app("remote_desk", "security", "Remote Desktop Helper", "screen sharing", {"fraud_propensity": 1.0}, base=-3.0),
    _app("crypto", "wealth", "Crypto Wallet", "digital assets", {"laundering_pattern": 1.0}, base=-2.5),
    _app("fliggy", "travel", "Fliggy", "travel", {"income": 0.5}, base=-0.8),
    _app("dingxiang", "health", "DXY Health", "health", {"age": 0.5}, base=-1.0),
)

_ARTISTS = ("Jay Chou", "Mayday", "G.E.M.", "Eason Chan", "JJ Lin")
_CITIES = ("Shanghai", "Hangzhou", "Beijing", "Shenzhen")
_FOODS = ("milk tea", "burger", "hotpot", "noodles", "pizza")
_ITEMS = ("phone", "laptop", "skincare", "sneakers", "headphones")
_BRANDS = ("Nike", "Apple", "Uniqlo", "Adidas", "L'Oreal")


def _search(key, facet, texts, loadings, base=0.0, hours="any", late=0.3):
    return Entry(key, facet, tuple(texts), loadings, base, hours, late)


SEARCH = (
    _search(
        "concert",
        "concert",
        [f"{a} concert tickets" for a in _ARTISTS]
        + [f"{a} tour {c}" for a in _ARTISTS for c in _CITIES]
        + ["livehouse this weekend"],
        {"entertainment_interest": 1.5},
        base=-1.0,
        hours="evening",
    ),
    _search(
        "takeout",
        "takeout",
        [f"{f} delivery near me" for f in _FOODS] + ["late night snacks delivery"],
        {"takeout_habit": 1.3},
        base=-0.5,
        hours="meal",
        late=1.5,
    ),
    _search(
        "eco",
        "eco",
        ("ant forest energy", "how to plant a tree in ant forest", "low carbon travel"),
        {"eco_mindedness": 1.4},
        base=-1.0,
    ),
    _search(
        "promo",
        "promo",
        [f"{i} big sale coupon" for i in _ITEMS] + ["11.11 presale", "double 12 deals"],
        {"promo_sensitivity": 1.5},
        base=-0.8,
    ),
    _search(
        "value",
        "value",
        [f"best value {i}" for i in _ITEMS]
        + [f"cheap {i} under 100" for i in _ITEMS]
        + [f"{i} price comparison" for i in _ITEMS],
        {"price_sensitivity": 1.4},
        base=-0.8,
    ),
    _search(
        "brand",
        "brand",
        [f"{b} new release" for b in _BRANDS] + [f"{b} official store" for b in _BRANDS],
        {"brand_loyalty": 1.3},
        base=-1.0,
    ),
    _search(
        "wealth",
        "wealth",
        ("fund ranking this year", "index fund return", "gold price today"),
        {"wealth_interest": 1.3},
        base=-1.0,
    ),
    _search(
        "social",
        "social",
        ("community events near me", "hobby groups", "trending topics today"),
        {"social_activity": 1.0},
        base=-1.0,
    ),
    _search(
        "loan",
        "loan",
        ("quick loan approval", "part-time job earn money fast", "refund customer service phone"),
        {"fraud_propensity": 1.2},
        base=-2.0,
    ),
    _search(
        "tools",
        "daily_tools",
        ("weather tomorrow", "metro map", "electricity bill", "express delivery tracking"),
        {},
        base=0.3,
    ),
    _search("travel", "travel", (f"hotels in {c}" for c in _CITIES), {"income": 0.5}, base=-1.0),
)

# ----------------------------------------------------------------------------- world version 2: interest texts
# Each interest's events name merchants, mini programs, pages, apps and searches *about* it: a fixed pool of texts
# per modality, built once from the interest's keywords and shared name parts (no seed), so each text is seen by
# few users while its words carry the interest; the category field is only the coarse facet, as a merchant category
# code is.

_NAME_PARTS = (
    "Golden", "Blue", "Little", "Urban", "Happy", "Green", "Red Lantern", "Old Street", "Sunny", "Lucky",
    "Bamboo", "Jade", "Silver", "North", "Panda", "Lotus", "River", "Cloud", "Peak", "Harbour",
)  # fmt: skip
_SUFFIX = {"bill": ("Shop", "Store", "House", "Studio", "Center"), "mini": ("Club", "Hub", "Go", "Plus", "Pal")}
_MINI_ACTIONS = ("book", "browse", "join", "order", "check")
_SPM_ITEMS = ("shop", "events", "community", "guides")
_SEARCH_MODIFIERS = ("near me", "reviews", "best price", "for beginners", "this weekend", "recommendations")
INTEREST_POOL = {"bill": 16, "mini": 10, "spm": 12, "app": 4, "search": 10}  # texts per interest and modality


def _interest_texts(interest: interests.Interest, modality: str) -> tuple[str, ...]:
    """The interest's fixed pool of INTEREST_POOL[modality] event texts in one modality."""
    rng = np.random.default_rng(interests.digest("texts", interest.name, modality))
    label, _ = FACETS[interest.facet]
    out: list[str] = []
    while len(out) < INTEREST_POOL[modality]:
        word = interest.keywords[rng.integers(3)]
        title = word[0].upper() + word[1:]
        if modality == "bill":
            name = f"{_NAME_PARTS[rng.integers(len(_NAME_PARTS))]} {title} {_SUFFIX['bill'][rng.integers(5)]}"
            text = f"pay {name} | {label} | via {('balance', 'bank card', 'Huabei')[rng.integers(3)]}"
        elif modality == "mini":
            name = f"{_NAME_PARTS[rng.integers(len(_NAME_PARTS))]} {title} {_SUFFIX['mini'][rng.integers(5)]}"
            text = f"mini program {name} | {_MINI_ACTIONS[rng.integers(5)]} {word}"
        elif modality == "spm":
            text = f"home > {label} > {_SPM_ITEMS[rng.integers(4)]} > {word}"  # the page: what item_name reads
        elif modality == "app":
            text = f"installed app {_NAME_PARTS[rng.integers(len(_NAME_PARTS))]} {title} ({label})"
        else:
            text = f"{word} {_SEARCH_MODIFIERS[rng.integers(6)]}"
        if text not in out:
            out.append(text)
    return tuple(out)


@cache
def interest_entries(modality: str) -> tuple[Entry, ...]:
    """One catalogue Entry per interest in `modality` (key 'interest:<name>', the interest's facet, its texts);
    the world picks them by the user's interests, not by a softmax, so they carry no loadings."""
    if modality not in EVENT_MODALITIES:
        raise ValueError(f"unknown event modality {modality!r}; one of {EVENT_MODALITIES}")
    hours = {"bill": "day", "mini": "any", "spm": "any", "app": "any", "search": "evening"}[modality]
    return tuple(
        Entry(f"interest:{i.name}", i.facet, _interest_texts(i, modality), {}, 0.0, hours, 0.5)
        for i in interests.INTERESTS
    )


def interest_of(entry: Entry) -> str | None:
    """The interest an entry is about, or None for a version-1 catalogue entry."""
    return entry.key.removeprefix("interest:") if entry.key.startswith("interest:") else None


ENTRIES: dict[str, tuple[Entry, ...]] = {"bill": BILL, "mini": MINI, "spm": SPM, "app": APP, "search": SEARCH}
BY_KEY: dict[str, dict[str, Entry]] = {m: {e.key: e for e in entries} for m, entries in ENTRIES.items()}

# Mean number of events per user in the 90-day window for an average-activity user. App is a list of
# installed apps, so its count grows slowly with activity; search is sparse (paper's cap: 10).
BASE_EVENTS_PER_90_DAYS = {"bill": 40.0, "mini": 20.0, "spm": 30.0, "app": 12.0, "search": 5.0}
ACTIVITY_EXPONENT = {"bill": 0.8, "mini": 0.8, "spm": 0.9, "app": 0.3, "search": 0.6}

# Chance that a user has no data at all for a modality (not linked, not consented, new account).
MISSING_RATE = {"bill": 0.03, "mini": 0.12, "spm": 0.08, "app": 0.15, "search": 0.25, "tabular": 0.05}


@cache
def _text_index() -> dict[tuple[str, str], Entry]:
    index = {}
    for modality, entries in ENTRIES.items():
        for entry in entries + interest_entries(modality):
            for text in entry.texts:
                index[(modality, text)] = entry
    return index


def lookup(modality: str, text: str) -> Entry | None:
    """The catalogue entry that emits `text` in `modality` (version 1's entries and world version 2's interest
    entries, whose texts differ from every version-1 text), or None for a text the world never generates."""
    return _text_index().get((modality, text))


def facet_of_text(text: str) -> str:
    """The facet of a generated event text (whatever its modality), or 'unknown'."""
    for modality in EVENT_MODALITIES:
        entry = lookup(modality, text)
        if entry is not None:
            return entry.facet
    return "unknown"
