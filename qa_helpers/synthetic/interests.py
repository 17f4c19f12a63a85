"""World version 2's fine-grained interests: 192 named interests with a long tail of popularity, and who holds
them (see data_samples/README.md, *Changes*, world version 2).

Each interest belongs to one of the 24 facets and is pulled by that facet's broad trait; a user holds a sparse
set of them, each with an intensity. The event texts that show an interest are the catalogue's
(`catalog.interest_entries`).

    INTERESTS[0].name, INTERESTS[0].facet          # ('late-night snacks', 'takeout')
    x = sample(traits, rng)                         # (n, N_INTERESTS) intensities, 0 where not held
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import traits

# facet -> the broad trait that pulls its interests (world version 2)
FACET_TRAIT: dict[str, str] = {
    "takeout": "takeout_habit",
    "groceries": "age",
    "dining": "social_activity",
    "transport": "activity_level",
    "utilities": "age",
    "discount": "price_sensitivity",
    "brand": "brand_loyalty",
    "concert": "entertainment_interest",
    "eco": "eco_mindedness",
    "wealth": "wealth_interest",
    "social": "social_activity",
    "transfer": "social_activity",
    "security": "fraud_propensity",
    "loan": "fraud_propensity",
    "promo": "promo_sensitivity",
    "value": "price_sensitivity",
    "health": "age",
    "music": "entertainment_interest",
    "video": "entertainment_interest",
    "fitness": "activity_level",
    "travel": "income",
    "membership": "brand_loyalty",
    "gifting": "social_activity",
    "daily_tools": "activity_level",
}

# facet -> eight interests, each (name, three keywords that say what it is about)
_BY_FACET: dict[str, tuple[tuple[str, tuple[str, str, str]], ...]] = {
    "takeout": (
        ("late-night snacks", ("midnight snack", "night market snack", "late-night skewers")),
        ("bubble tea", ("bubble tea", "milk tea", "boba")),
        ("spicy crayfish", ("crayfish", "spicy crawfish", "mala crayfish")),
        ("healthy meal boxes", ("salad bowl", "low-calorie meal box", "poke bowl")),
        ("fried chicken", ("fried chicken", "chicken wings", "crispy chicken")),
        ("breakfast delivery", ("soy milk breakfast", "jianbing", "steamed buns")),
        ("office lunch sets", ("office lunch set", "rice bowl lunch", "bento box")),
        ("dessert delivery", ("cheesecake", "mango dessert", "tiramisu")),
    ),
    "groceries": (
        ("organic produce", ("organic vegetables", "farm-fresh produce", "pesticide-free greens")),
        ("imported snacks", ("imported snacks", "Japanese snacks", "European chocolate")),
        ("seafood market", ("live seafood", "fresh fish", "hairy crab")),
        ("baking supplies", ("baking flour", "sourdough starter", "cake molds")),
        ("baby formula", ("infant formula", "baby food", "toddler milk")),
        ("wine and spirits", ("red wine", "baijiu", "craft whisky")),
        ("tea leaves", ("Longjing green tea", "pu-erh tea", "oolong tea")),
        ("frozen dumplings", ("frozen dumplings", "wontons", "frozen buns")),
    ),
    "dining": (
        ("hotpot", ("hotpot", "Sichuan hotpot", "mutton hotpot")),
        ("specialty coffee", ("pour-over coffee", "specialty coffee", "espresso bar")),
        ("Japanese omakase", ("omakase", "sushi counter", "izakaya")),
        ("barbecue", ("Korean barbecue", "charcoal grill", "lamb skewers")),
        ("vegetarian dining", ("vegetarian restaurant", "plant-based kitchen", "tofu house")),
        ("brunch cafes", ("brunch cafe", "eggs benedict", "avocado toast")),
        ("craft beer bars", ("craft beer", "taproom", "brewpub")),
        ("dim sum", ("dim sum", "Cantonese teahouse", "shrimp dumplings")),
    ),
    "transport": (
        ("electric cars", ("EV charging", "electric car", "charging pile")),
        ("motorcycle riding", ("motorcycle", "scooter repair", "riding gear")),
        ("airport commuting", ("airport express", "airport parking", "terminal shuttle")),
        ("ride-hailing premium", ("premium ride", "business car", "chauffeur")),
        ("car maintenance", ("car wash", "tyre change", "oil change")),
        ("high-speed rail trips", ("high-speed rail", "bullet train", "train station lounge")),
        ("carpooling", ("carpool", "shared ride", "intercity carpool")),
        ("parking", ("parking lot", "parking fee", "monthly parking")),
    ),
    "utilities": (
        ("smart home devices", ("smart bulb", "smart plug", "home hub")),
        ("home renovation", ("home renovation", "tiles and flooring", "interior design")),
        ("broadband upgrades", ("fiber broadband", "home wifi", "mesh router")),
        ("solar power", ("solar panel", "home battery", "solar water heater")),
        ("property management", ("property fee", "estate management", "parking space rent")),
        ("home appliances", ("air purifier", "dishwasher", "robot vacuum")),
        ("gas and heating", ("gas bill", "floor heating", "boiler service")),
        ("water filtration", ("water purifier", "filter cartridge", "bottled water delivery")),
    ),
    "discount": (
        ("group-buying", ("community group-buy", "group purchase", "bulk order")),
        ("clearance outlets", ("clearance outlet", "end-of-season stock", "factory outlet")),
        ("second-hand electronics", ("used phone", "refurbished laptop", "second-hand camera")),
        ("coupon apps", ("cash-back coupon", "coupon app", "rebate link")),
        ("dollar stores", ("ten-yuan store", "dollar store", "bargain bin")),
        ("flea markets", ("flea market", "swap meet", "thrift stall")),
        ("bulk warehouse", ("warehouse club", "family-size pack", "bulk groceries")),
        ("price trackers", ("price tracker", "price drop alert", "lowest price history")),
    ),
    "brand": (
        ("designer handbags", ("designer handbag", "leather tote", "luxury purse")),
        ("sneaker drops", ("limited sneakers", "sneaker raffle", "retro basketball shoes")),
        ("luxury watches", ("Swiss watch", "automatic watch", "watch boutique")),
        ("premium skincare", ("premium serum", "luxury face cream", "skincare set")),
        ("flagship phones", ("flagship phone", "phone launch", "pro smartphone")),
        ("outdoor gear brands", ("outdoor jacket", "hiking boots", "technical backpack")),
        ("fine jewelry", ("gold bracelet", "diamond ring", "jade pendant")),
        ("designer fashion", ("designer coat", "runway collection", "fashion boutique")),
    ),
    "concert": (
        ("live house gigs", ("live house", "indie band gig", "small venue show")),
        ("classical concerts", ("symphony orchestra", "piano recital", "concert hall")),
        ("pop star tours", ("stadium tour", "pop concert", "fan meeting")),
        ("jazz", ("jazz club", "jazz night", "saxophone quartet")),
        ("music festivals", ("music festival", "outdoor festival", "festival camping")),
        ("musical theatre", ("musical theatre", "Broadway musical", "stage musical")),
        ("stand-up comedy", ("stand-up comedy", "comedy club", "open mic")),
        ("Peking opera", ("Peking opera", "Kunqu opera", "opera house")),
    ),
    "eco": (
        ("tree planting", ("tree planting", "reforestation", "sapling donation")),
        ("zero-waste living", ("zero-waste shop", "refill station", "reusable bags")),
        ("recycling", ("recycling pickup", "old clothes recycling", "e-waste recycling")),
        ("plant-based products", ("plant-based milk", "vegan leather", "eco detergent")),
        ("cycling commute", ("commuter bike", "bike lane", "cycling helmet")),
        ("wildlife protection", ("wildlife charity", "panda conservation", "bird watching")),
        ("carbon tracking", ("carbon footprint", "low-carbon points", "green energy credits")),
        ("urban gardening", ("balcony garden", "potted herbs", "seed library")),
    ),
    "wealth": (
        ("index funds", ("index fund", "ETF", "CSI 300")),
        ("gold investing", ("gold savings", "gold bar", "precious metals")),
        ("stock trading", ("stock trading", "A-shares", "brokerage account")),
        ("crypto trading", ("crypto exchange", "bitcoin", "stablecoin")),
        ("pension planning", ("pension plan", "retirement savings", "annuity")),
        ("bond funds", ("bond fund", "treasury bonds", "fixed income")),
        ("insurance planning", ("critical illness insurance", "life insurance", "policy review")),
        ("real estate investing", ("property investment", "rental yield", "housing market")),
    ),
    "social": (
        ("anime fandom", ("anime", "cosplay", "manga club")),
        ("pet owners' community", ("pet owners group", "dog park meetup", "cat lovers")),
        ("photography club", ("photography club", "camera walk", "photo critique")),
        ("board games", ("board game cafe", "tabletop games", "murder mystery game")),
        ("book clubs", ("book club", "reading circle", "novel discussion")),
        ("parenting groups", ("parenting group", "school parents chat", "mom community")),
        ("fan clubs", ("idol fan club", "fan support", "fan voting")),
        ("volunteering", ("volunteer team", "charity event", "community service")),
    ),
    "transfer": (
        ("rent splitting", ("rent split", "roommate payment", "shared bills")),
        ("family allowance", ("family allowance", "send money to parents", "pocket money")),
        ("overseas remittance", ("overseas remittance", "tuition abroad", "foreign exchange")),
        ("dinner bill splitting", ("split the bill", "AA payment", "group dinner payback")),
        ("freelance payments", ("freelance invoice", "client payment", "design commission")),
        ("wedding gifts", ("wedding gift money", "wedding fund", "bride price")),
        ("small-shop payments", ("street vendor", "corner shop", "market stall")),
        ("tuition payments", ("tutoring fee", "training class fee", "school fee")),
    ),
    "security": (
        ("device switching", ("new device login", "switch phone", "device verification")),
        ("password resets", ("password reset", "forgot password", "account recovery")),
        ("VPN and proxies", ("VPN", "proxy server", "anonymous browsing")),
        ("multiple accounts", ("second account", "account switching", "alternate number")),
        ("SIM card changes", ("new SIM card", "number porting", "virtual phone number")),
        ("identity verification", ("face verification", "ID check", "real-name verification")),
        ("payment limits", ("raise payment limit", "transfer limit", "daily limit")),
        ("app permissions", ("screen sharing", "remote control app", "accessibility permission")),
    ),
    "loan": (
        ("payday loans", ("payday loan", "quick cash", "instant loan")),
        ("credit card debt", ("credit card repayment", "minimum payment", "card installment")),
        ("buy now pay later", ("pay later", "installment plan", "zero-interest installment")),
        ("car loans", ("car loan", "auto financing", "vehicle credit")),
        ("mortgage", ("mortgage", "home loan", "down payment")),
        ("student loans", ("student loan", "tuition loan", "education credit")),
        ("loan comparison", ("loan rates comparison", "lowest interest loan", "credit score check")),
        ("online gambling", ("online betting", "lottery odds", "casino app")),
    ),
    "promo": (
        ("Double 11 pre-sales", ("Double 11 pre-sale", "Singles' Day deposit", "11.11 countdown")),
        ("coupon stacking", ("coupon stacking", "store coupon", "cross-store discount")),
        ("flash sales", ("flash sale", "limited-time deal", "midnight deal")),
        ("live-stream shopping", ("live-stream sale", "streamer deal", "live shopping")),
        ("618 festival", ("618 sale", "mid-year festival", "618 pre-order")),
        ("lucky draws", ("lucky draw", "spin to win", "prize raffle")),
        ("points redemption", ("redeem points", "points mall", "reward points")),
        ("new-user offers", ("new-user gift", "first order discount", "welcome coupon")),
    ),
    "value": (
        ("price comparison", ("compare prices", "cheapest seller", "price comparison")),
        ("budget travel", ("budget hostel", "cheap flights", "off-season travel")),
        ("generic brands", ("store brand", "generic medicine", "unbranded goods")),
        ("meal prepping", ("meal prep", "batch cooking", "lunch box prep")),
        ("repair instead of replace", ("phone repair", "shoe repair", "tailor alterations")),
        ("bulk household goods", ("bulk tissues", "bulk detergent", "family pack")),
        ("frugal living", ("frugal living", "save money tips", "budget planner")),
        ("refurbished appliances", ("refurbished fridge", "open-box appliance", "ex-display TV")),
    ),
    "health": (
        ("traditional Chinese medicine", ("herbal medicine", "acupuncture", "TCM clinic")),
        ("dental care", ("dental clinic", "teeth cleaning", "orthodontics")),
        ("eye care", ("optometrist", "contact lenses", "eye exam")),
        ("vitamins and supplements", ("vitamin C", "fish oil", "probiotics")),
        ("chronic care", ("blood pressure monitor", "diabetes test strips", "chronic prescription")),
        ("mental wellbeing", ("counselling session", "meditation app", "sleep therapy")),
        ("health checkups", ("annual checkup", "blood test", "health screening")),
        ("maternity care", ("prenatal checkup", "maternity clinic", "postnatal care")),
    ),
    "music": (
        ("K-pop", ("K-pop", "Korean idol", "K-pop album")),
        ("indie folk", ("indie folk", "acoustic singer", "folk album")),
        ("hip-hop", ("hip-hop", "rap battle", "trap beats")),
        ("vinyl records", ("vinyl record", "turntable", "record store")),
        ("classical music", ("classical playlist", "violin concerto", "symphony recording")),
        ("karaoke", ("karaoke", "KTV room", "singing booth")),
        ("electronic music", ("electronic music", "DJ set", "techno")),
        ("learning guitar", ("guitar lessons", "guitar strings", "chord charts")),
    ),
    "video": (
        ("anime series", ("anime series", "new anime season", "anime streaming")),
        ("Korean dramas", ("Korean drama", "K-drama", "drama marathon")),
        ("documentaries", ("nature documentary", "history documentary", "docuseries")),
        ("esports streams", ("esports", "League of Legends match", "game stream")),
        ("short-video creators", ("vlog", "short video", "video editing")),
        ("cinema trips", ("cinema tickets", "IMAX", "movie premiere")),
        ("costume dramas", ("costume drama", "palace drama", "wuxia series")),
        ("cooking shows", ("cooking show", "recipe videos", "chef channel")),
    ),
    "fitness": (
        ("bouldering", ("bouldering gym", "climbing wall", "chalk bag")),
        ("yoga", ("yoga studio", "yoga mat", "hot yoga")),
        ("marathon running", ("marathon", "running shoes", "half marathon")),
        ("swimming", ("swimming pool", "swim lessons", "goggles")),
        ("badminton", ("badminton court", "badminton racket", "shuttlecock")),
        ("weight training", ("gym membership", "protein powder", "dumbbells")),
        ("hiking", ("hiking trail", "mountain hike", "trekking poles")),
        ("skiing", ("ski resort", "snowboard", "ski pass")),
    ),
    "travel": (
        ("island holidays", ("island resort", "beach holiday", "snorkelling")),
        ("backpacking", ("backpacking", "youth hostel", "rail pass")),
        ("luxury hotels", ("five-star hotel", "hotel suite", "resort spa")),
        ("camping", ("campsite", "tent", "glamping")),
        ("road trips", ("road trip", "car rental", "scenic route")),
        ("theme parks", ("theme park", "Disneyland", "roller coaster")),
        ("overseas shopping trips", ("duty-free", "tax refund", "overseas outlet")),
        ("ancient towns", ("ancient water town", "old town homestay", "heritage street")),
    ),
    "membership": (
        ("airline miles", ("frequent flyer", "airline miles", "lounge access")),
        ("supermarket clubs", ("supermarket membership", "member price", "club card")),
        ("video memberships", ("video VIP", "streaming membership", "ad-free plan")),
        ("hotel loyalty", ("hotel points", "elite status", "member rate")),
        ("coffee memberships", ("coffee stars", "coffee member day", "coffee subscription")),
        ("beauty memberships", ("beauty member", "salon card", "spa membership")),
        ("car wash memberships", ("car wash card", "unlimited washes", "detailing club")),
        ("book memberships", ("ebook membership", "audiobook plan", "library card")),
    ),
    "gifting": (
        ("Lunar New Year red packets", ("New Year red packet", "lucky money", "spring festival gift")),
        ("flower delivery", ("flower delivery", "bouquet", "roses")),
        ("birthday gifts", ("birthday gift", "birthday cake order", "gift wrapping")),
        ("Mid-Autumn mooncakes", ("mooncake gift box", "Mid-Autumn gift", "lotus mooncakes")),
        ("corporate gifts", ("corporate gift", "client gift box", "custom gift")),
        ("Valentine's gifts", ("Valentine's gift", "chocolate box", "couple gift")),
        ("gift cards", ("gift card", "e-gift voucher", "prepaid card")),
        ("wedding registries", ("wedding registry", "wedding favours", "newlywed gift")),
    ),
    "daily_tools": (
        ("photo editing", ("photo editor", "beauty camera", "photo filters")),
        ("language learning", ("English vocabulary", "language exchange", "spoken Japanese")),
        ("note-taking", ("note-taking app", "digital planner", "to-do list")),
        ("cloud storage", ("cloud drive", "photo backup", "file sync")),
        ("translation", ("translation app", "menu translator", "photo translate")),
        ("weather watching", ("air quality index", "typhoon tracker", "rain radar")),
        ("calendar planning", ("shared calendar", "meeting scheduler", "reminder app")),
        ("express parcels", ("parcel tracking", "express delivery", "parcel locker")),
    ),
}


@dataclass(frozen=True)
class Interest:
    name: str
    facet: str
    keywords: tuple[str, str, str]
    trait: str  # the broad trait that pulls it (FACET_TRAIT of its facet)
    rank: int  # popularity rank, 1 = the most widely held


def digest(*parts: str) -> int:
    """A stable integer of some strings (no seed: the catalogue is the same in every world)."""
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "little")


def _ranks(names: list[str]) -> dict[str, int]:
    """A fixed shuffle of the interests into popularity ranks 1..n (by a hash of the name, not by facet)."""
    return {n: r + 1 for r, n in enumerate(sorted(names, key=lambda n: digest("rank", n)))}


def _build() -> tuple[Interest, ...]:
    names = [name for items in _BY_FACET.values() for name, _ in items]
    ranks = _ranks(names)
    return tuple(
        Interest(name, facet, keywords, FACET_TRAIT[facet], ranks[name])
        for facet, items in _BY_FACET.items()
        for name, keywords in items
    )


INTERESTS: tuple[Interest, ...] = _build()
N_INTERESTS = len(INTERESTS)
INDEX = {i.name: k for k, i in enumerate(INTERESTS)}


# ----------------------------------------------------------------------------- who holds which interest

MOST_POPULAR = 0.35  # chance an average user holds the most popular interest
POPULARITY_EXPONENT = 0.7  # the rank-r interest: MOST_POPULAR * r ** -0.7 (rank 96: 1.4%, rank 192: 0.9%)
TRAIT_PULL = 0.8  # logit change per standard deviation of the interest's facet trait
INTENSITY_SD = 0.5  # log-normal sd of a held interest's intensity
KEEP = 0.9  # chance a held interest is still held in the future window (new ones keep the marginals)
STABILITY = 0.92  # of a kept interest's log intensity, as the traits' drift


def _logits(z: np.ndarray) -> np.ndarray:
    """(n, N_INTERESTS) logits of holding each interest, from traits (n, N_TRAITS)."""
    p = MOST_POPULAR * np.array([i.rank for i in INTERESTS], dtype=float) ** -POPULARITY_EXPONENT
    pull = z[:, [traits.INDEX[i.trait] for i in INTERESTS]]
    return np.log(p / (1 - p)) + TRAIT_PULL * pull


def sample(traits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, N_INTERESTS) intensities of each user's interests (0: not held; held: log-normal around 1)."""
    held = rng.random((len(traits), N_INTERESTS)) < 1 / (1 + np.exp(-_logits(traits)))
    out = np.zeros(held.shape)
    out[held] = np.exp(INTENSITY_SD * rng.standard_normal(int(held.sum())))
    return out


def drift(intensity: np.ndarray, future_traits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Intensities in the future window: a held interest is kept with chance KEEP (its log intensity drifted as
    the traits are), and one not held is picked up with the chance that keeps each interest's share of holders."""
    p = 1 / (1 + np.exp(-_logits(future_traits)))
    held = intensity > 0
    u = rng.random(held.shape)
    keep = held & (u < KEEP)
    pick_up = ~held & (u < (1 - KEEP) * p / np.maximum(1 - p, 1e-6))
    out = np.zeros(held.shape)
    noise = np.sqrt(1 - STABILITY**2) * INTENSITY_SD * rng.standard_normal(int(keep.sum()))
    out[keep] = np.exp(STABILITY * np.log(intensity[keep]) + noise)
    out[pick_up] = np.exp(INTENSITY_SD * rng.standard_normal(int(pick_up.sum())))
    return out


def strength(intensity: np.ndarray) -> np.ndarray:
    """log(1 + intensity): how much an interest drives a task's score (0 when not held)."""
    return np.log1p(intensity)


def draw_future(n: int, rng: np.random.Generator, with_interests: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """`n` fresh users' future-window traits (n, N_TRAITS) and, with `with_interests` (world version 2), their
    interest intensities (n, N_INTERESTS), drawn in the world's order (traits, their drift, interests, theirs)."""
    history = traits.sample(n, rng)
    future = traits.drift(history, rng)
    return future, drift(sample(history, rng), future, rng) if with_interests else None


def latent_state(traits: np.ndarray, intensity: np.ndarray | None = None) -> np.ndarray:
    """(n, N_TRAITS [+ N_INTERESTS]) the state labels are drawn from: the traits, and each interest's strength."""
    return traits if intensity is None else np.concatenate([traits, strength(intensity)], axis=1)
