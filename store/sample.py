"""The bundled sample: a deterministic e-commerce graph with structure worth analysing.

``generate_ecommerce`` writes ArangoDB-style JSON-lines exports (one file per collection):

- vertex collections ``customers``, ``products``, ``categories``;
- edge collections ``purchased``, ``viewed``, ``reviewed`` (customers → products), ``follows``
  (customers → customers) and ``belongs_to`` (products → categories).

What the analyses should find, by construction:

- product popularity is heavy-tailed (Zipf within each category), so PageRank and degree have stars;
- customers form communities by preferred category: most purchases, views and follows stay inside;
- a few influencers per category collect most follows;
- follows are often reciprocated, so strongly connected components are non-trivial;
- three closed customer circles follow only each other and buy nothing: separate components;
- a ring of twelve recent accounts from one town all buy the same four rare gift cards, which no
  one else buys, review them five stars and follow each other in a cycle: a suspicious cluster.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from gaai.store._errors import GraphExistsError
from gaai.store._protocol import GraphStore
from gaai.store._registry import GraphInfo

__all__ = ["ensure_sample_graph", "generate_ecommerce"]

_CATEGORIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], float], ...] = (
    # name, brands, product nouns, median price
    ("Electronics", ("Voltix", "Nordtek", "Quanta"), ("Headphones", "Charger", "Speaker", "Monitor"), 89.0),
    ("Books", ("Paperlane", "Inkwell", "Folio"), ("Novel", "Cookbook", "Atlas", "Biography"), 18.0),
    ("Home & Kitchen", ("Hearthly", "Casa Viva", "Oakline"), ("Pan", "Kettle", "Lamp", "Blender"), 45.0),
    ("Sports", ("Strida", "Peakform", "Vento"), ("Yoga Mat", "Racket", "Bottle", "Helmet"), 39.0),
    ("Beauty", ("Lumea", "Velvetine", "Aurae"), ("Serum", "Lipstick", "Shampoo", "Cream"), 24.0),
    ("Toys", ("Brickle", "Funfold", "Tinytown"), ("Puzzle", "Robot Kit", "Plush", "Train Set"), 29.0),
    ("Grocery", ("Greenbasket", "Harvest & Co", "Pantri"), ("Coffee", "Olive Oil", "Tea", "Granola"), 9.0),
    ("Fashion", ("Threadly", "Marlowe", "Cobalt"), ("Jacket", "Sneakers", "Scarf", "Jeans"), 59.0),
    ("Garden", ("Verdance", "Rootwell", "Sprigg"), ("Hose", "Planter", "Shears", "Seeds"), 27.0),
    ("Automotive", ("Torqline", "Roadie", "Axlewell"), ("Wiper", "Dash Cam", "Car Wax", "Jump Starter"), 49.0),
    ("Music", ("Resona", "Fretwise", "Tempo"), ("Guitar Strings", "Ukulele", "Metronome", "Mic"), 35.0),
    ("Pet Supplies", ("Pawsome", "Furwell", "Tailor"), ("Leash", "Cat Tree", "Dog Bed", "Treats"), 22.0),
)
_FIRST = (
    "Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Lena", "Omar", "Sofia", "Lucas", "Aisha", "Mateo", "Chloe",
    "Ravi", "Hana", "Jonas", "Ines", "Kofi", "Yuki", "Elena", "Diego", "Freya", "Tariq", "Nora", "Felix",
    "Priya", "Leo", "Amara", "Hugo", "Lila", "Mason", "Sara", "Ivan", "Maya", "Theo", "Alba", "Kenji",
    "Rosa", "Samir", "Ella",
)  # fmt: skip
_LAST = (
    "Nguyen", "Smith", "Garcia", "Kowalski", "Okafor", "Rossi", "Silva", "Tanaka", "Muller", "Haddad",
    "Johansson", "Patel", "Kim", "Dubois", "Novak", "Costa", "Ivanova", "Mensah", "Lopez", "Brown",
    "Schmidt", "Ali", "Moreau", "Fischer", "Sato", "Ortiz", "Popescu", "Walsh", "Berg", "Reyes",
)  # fmt: skip
_CITIES = (
    "Lisbon", "Berlin", "Austin", "Osaka", "Lyon", "Toronto", "Krakow", "Melbourne", "Seoul", "Nairobi",
    "Denver", "Porto", "Utrecht", "Bristol", "Valencia", "Chicago", "Hamburg", "Montreal", "Dublin", "Turin",
)  # fmt: skip
_SEGMENTS = ("consumer", "premium", "student", "business")
_SEGMENT_SHARE = (0.6, 0.15, 0.15, 0.1)

_MAIN_CUSTOMERS = 4400
_CIRCLES = (24, 16, 10)  # closed circles: follow only each other, buy nothing
_RING = 12  # the suspicious accounts
_PRODUCTS_PER_CATEGORY = 125
_RARE = ("Prepaid Gift Card 250", "Prepaid Gift Card 500", "Store Credit Voucher 300", "Prepaid Gift Card 1000")
_INFLUENCERS_PER_CATEGORY = 1
_START = np.datetime64("2019-01-01T00:00:00", "s")
_END = np.datetime64("2024-12-31T23:59:59", "s")

_encode = msgspec.json.Encoder().encode


def generate_ecommerce(out_dir: Path, seed: int = 7) -> list[Path]:
    """Write the sample e-commerce graph as JSON-lines files; the same seed gives identical bytes.

    Args:
        out_dir: Folder to write into (created if missing).
        seed: Random seed.

    Returns:
        The written files: vertex collections first, then edge collections.
    """
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    num_categories = len(_CATEGORIES)

    # ---- products: a block per category, Zipf popularity within it, plus the ring's gift cards.
    product_category = np.repeat(np.arange(num_categories), _PRODUCTS_PER_CATEGORY)
    rank = np.concatenate([rng.permutation(_PRODUCTS_PER_CATEGORY) for _ in range(num_categories)])
    popularity = 1.0 / (rank + 1.0) ** 1.2
    num_regular = product_category.size
    product_category = np.concatenate([product_category, np.zeros(len(_RARE), np.int64)])  # Electronics
    popularity = np.concatenate([popularity, np.zeros(len(_RARE))])
    num_products = product_category.size
    median_price = np.array([c[3] for c in _CATEGORIES])[product_category]
    price = np.round(median_price * rng.lognormal(0.0, 0.45, num_products), 2)
    price[num_regular:] = [250.0, 500.0, 300.0, 1000.0]
    rating = np.round(np.clip(rng.normal(4.1, 0.45, num_products), 1.0, 5.0), 1)
    brand_pick = rng.integers(0, 3, num_products)
    noun_pick = rng.integers(0, 4, num_products)
    model = rng.integers(100, 999, num_products)
    products = []
    for i in range(num_products):
        _, brands, nouns, _ = _CATEGORIES[product_category[i]]
        regular = i < num_regular
        brand = brands[brand_pick[i]] if regular else "GiftHub"
        products.append(
            {
                "_key": f"p{i:05d}",
                "name": f"{brand} {nouns[noun_pick[i]]} {model[i]}" if regular else _RARE[i - num_regular],
                "price": float(price[i]),
                "brand": brand,
                "rating": float(rating[i]),
            }
        )

    # ---- customers: main population (with a preferred category), closed circles, the ring.
    num_customers = _MAIN_CUSTOMERS + sum(_CIRCLES) + _RING
    ring = np.arange(num_customers - _RING, num_customers)
    category_share = rng.dirichlet(np.full(num_categories, 4.0))
    preferred = rng.choice(num_categories, size=_MAIN_CUSTOMERS, p=category_share)
    segment = rng.choice(len(_SEGMENTS), size=num_customers, p=_SEGMENT_SHARE)
    city = rng.integers(0, len(_CITIES), num_customers)
    joined = _START + rng.integers(0, int((np.datetime64("2024-06-30", "s") - _START).astype(int)), num_customers)
    segment[ring] = 0
    city[ring] = _CITIES.index("Turin")
    joined[ring] = np.datetime64("2024-05-06T09:00:00", "s") + rng.integers(0, 5 * 86400, _RING)

    # ---- purchases and views: mostly in the preferred category, the rest from global bestsellers.
    main = np.arange(_MAIN_CUSTOMERS)
    buy_rate = np.where(segment[main] == 1, 5.5, 3.2)
    purchase_customer = np.repeat(main, rng.poisson(buy_rate))
    purchase_product = _pick_products(rng, purchase_customer, preferred, product_category, popularity, 0.75)
    view_customer = np.repeat(main, rng.poisson(4.8, _MAIN_CUSTOMERS))
    view_product = _pick_products(rng, view_customer, preferred, product_category, popularity, 0.6)

    rare = np.arange(num_regular, num_products)
    purchase_customer = np.concatenate([purchase_customer, np.repeat(ring, len(rare))])
    purchase_product = np.concatenate([purchase_product, np.tile(rare, _RING)])
    quantity = rng.choice([1, 1, 1, 2, 3], size=purchase_customer.size)
    quantity[-_RING * len(rare) :] = 1
    amount = np.round(price[purchase_product] * quantity, 2)
    purchase_ts = _times_after(rng, joined[purchase_customer])
    purchase_ts[-_RING * len(rare) :] = np.datetime64("2024-06-14T02:10:00", "s") + rng.integers(
        0, 3 * 3600, _RING * len(rare)
    )

    reviewed_mask = rng.random(purchase_customer.size) < 0.25
    reviewed_mask[-_RING * len(rare) :] = True
    review_rating = np.clip(np.round(rating[purchase_product] + rng.normal(0, 0.9, purchase_customer.size)), 1, 5)
    review_rating[-_RING * len(rare) :] = 5

    lifetime_value = np.zeros(num_customers)
    np.add.at(lifetime_value, purchase_customer, amount)

    # ---- follows: community ties, influencers, reciprocation, closed circles and the ring.
    follow_src, follow_dst = _follows(rng, preferred, num_categories)
    offset = _MAIN_CUSTOMERS
    for size in _CIRCLES:
        members = np.arange(offset, offset + size)
        extra = rng.integers(0, size, (2, size))
        follow_src = np.concatenate([follow_src, members, members[extra[0]]])
        follow_dst = np.concatenate([follow_dst, np.roll(members, -1), members[extra[1]]])
        offset += size
    follow_src = np.concatenate([follow_src, ring])
    follow_dst = np.concatenate([follow_dst, np.roll(ring, -1)])
    pairs = np.unique(follow_src.astype(np.int64) * num_customers + follow_dst)
    follow_src, follow_dst = pairs // num_customers, pairs % num_customers
    keep = follow_src != follow_dst
    follow_src, follow_dst = follow_src[keep], follow_dst[keep]

    first = rng.integers(0, len(_FIRST), num_customers)
    last = rng.integers(0, len(_LAST), num_customers)
    customers = []
    for i in range(num_customers):
        person = f"{_FIRST[first[i]]} {_LAST[last[i]]}"
        domain = "mailbox-temp.net" if i >= ring[0] else ("example.com", "mail.test", "inbox.example")[i % 3]
        customers.append(
            {
                "_key": f"c{i:05d}",
                "name": person,
                "email": f"{_FIRST[first[i]].lower()}.{_LAST[last[i]].lower()}{i}@{domain}",
                "city": _CITIES[city[i]],
                "segment": _SEGMENTS[segment[i]],
                "joined": str(joined[i].astype("datetime64[D]")),
                "lifetime_value": round(float(lifetime_value[i]), 2),
            }
        )

    categories = [{"_key": f"cat{i:02d}", "name": c[0]} for i, c in enumerate(_CATEGORIES)]

    # Each product belongs to its category; some also to a second one.
    second = rng.random(num_regular) < 0.15
    belongs_src = np.concatenate([np.arange(num_products), np.flatnonzero(second)])
    shift = rng.integers(1, num_categories, int(second.sum()))
    other = (product_category[:num_regular][second] + shift) % num_categories
    belongs_dst = np.concatenate([product_category, other])

    purchase_when = _iso(purchase_ts)
    return [
        _write(out_dir, "customers", customers),
        _write(out_dir, "products", products),
        _write(out_dir, "categories", categories),
        _write(
            out_dir,
            "purchased",
            _edges(
                "purchased",
                "customers",
                purchase_customer,
                "products",
                purchase_product,
                amount=amount.tolist(),
                ts=purchase_when,
            ),
        ),
        _write(out_dir, "viewed", _edges("viewed", "customers", view_customer, "products", view_product)),
        _write(
            out_dir,
            "reviewed",
            _edges(
                "reviewed",
                "customers",
                purchase_customer[reviewed_mask],
                "products",
                purchase_product[reviewed_mask],
                rating=review_rating[reviewed_mask].astype(int).tolist(),
            ),
        ),
        _write(out_dir, "follows", _edges("follows", "customers", follow_src, "customers", follow_dst)),
        _write(out_dir, "belongs_to", _edges("belongs_to", "products", belongs_src, "categories", belongs_dst)),
    ]


def ensure_sample_graph(store: GraphStore, name: str = "ecommerce") -> GraphInfo:
    """Import the sample graph under ``name`` unless it is already there.

    Safe when several processes call it at once: one import wins, the others return its info.

    Args:
        store: The store to import into.
        name: The graph's name.

    Returns:
        The graph's info.
    """
    if store.has_graph(name):
        return store.graph(name)
    with tempfile.TemporaryDirectory(prefix="gaai-sample-") as folder:
        paths = generate_ecommerce(Path(folder))
        try:
            return store.import_graph(name, paths)
        except GraphExistsError:
            return store.graph(name)


def _pick_products(
    rng: np.random.Generator,
    customer: np.ndarray,
    preferred: np.ndarray,
    product_category: np.ndarray,
    popularity: np.ndarray,
    loyalty: float,
) -> np.ndarray:
    """One product per event: from the customer's preferred category with probability ``loyalty``."""
    chosen = np.empty(customer.size, dtype=np.int64)
    in_preferred = rng.random(customer.size) < loyalty
    category = preferred[customer]
    for c in range(int(product_category.max()) + 1):
        slots = np.flatnonzero(in_preferred & (category == c))
        candidates = np.flatnonzero((product_category == c) & (popularity > 0))
        weights = popularity[candidates] / popularity[candidates].sum()
        chosen[slots] = rng.choice(candidates, size=slots.size, p=weights)
    slots = np.flatnonzero(~in_preferred)
    chosen[slots] = rng.choice(popularity.size, size=slots.size, p=popularity / popularity.sum())
    return chosen


def _follows(rng: np.random.Generator, preferred: np.ndarray, num_categories: int) -> tuple[np.ndarray, np.ndarray]:
    """Follows among the main customers: influencers, same-community ties, some reciprocated."""
    people = preferred.size
    influencers = np.array(
        [rng.choice(np.flatnonzero(preferred == c), size=_INFLUENCERS_PER_CATEGORY) for c in range(num_categories)]
    )
    source = np.repeat(np.arange(people), rng.poisson(2.0, people))
    kind = rng.random(source.size)
    # Whoever is not redirected below (15%) follows someone anywhere: the ties between communities.
    target = rng.integers(0, people, source.size)
    to_influencer = kind < 0.35
    target[to_influencer] = influencers[
        preferred[source[to_influencer]], rng.integers(0, _INFLUENCERS_PER_CATEGORY, int(to_influencer.sum()))
    ]
    same_community = (kind >= 0.35) & (kind < 0.85)
    for c in range(num_categories):
        slots = np.flatnonzero(same_community & (preferred[source] == c))
        target[slots] = rng.choice(np.flatnonzero(preferred == c), size=slots.size)
    reciprocate = same_community & (rng.random(source.size) < 0.3)
    return np.concatenate([source, target[reciprocate]]), np.concatenate([target, source[reciprocate]])


def _times_after(rng: np.random.Generator, start: np.ndarray) -> np.ndarray:
    """A uniformly random second between each start and the end of the sample period."""
    span = (_END - start).astype(np.int64)
    return start + (rng.random(start.size) * span).astype(np.int64)


def _iso(times: np.ndarray) -> list[str]:
    return [f"{t}Z" for t in np.datetime_as_string(times, unit="s")]


def _edges(
    collection: str,
    from_collection: str,
    source: np.ndarray,
    to_collection: str,
    target: np.ndarray,
    **attributes: list[Any],
) -> list[dict[str, Any]]:
    """Edge documents with ArangoDB-style keys and ids; ``attributes`` are per-edge value lists."""
    prefix = {"customers": "c", "products": "p", "categories": "cat"}
    width = {"customers": 5, "products": 5, "categories": 2}
    docs = []
    for i, (s, t) in enumerate(zip(source.tolist(), target.tolist(), strict=True)):
        doc = {
            "_key": str(i),
            "_id": f"{collection}/{i}",
            "_from": f"{from_collection}/{prefix[from_collection]}{s:0{width[from_collection]}d}",
            "_to": f"{to_collection}/{prefix[to_collection]}{t:0{width[to_collection]}d}",
        }
        for name, values in attributes.items():
            doc[name] = values[i]
        docs.append(doc)
    return docs


def _write(out_dir: Path, collection: str, docs: list[dict[str, Any]]) -> Path:
    path = out_dir / f"{collection}.jsonl"
    with path.open("wb") as handle:
        for doc in docs:
            if "_id" not in doc:
                doc = {"_key": doc["_key"], "_id": f"{collection}/{doc['_key']}", **doc}
            handle.write(_encode(doc))
            handle.write(b"\n")
    return path
