"""What people interact with: platform courses and each partner's items.

Every item has a category of its source (hence a topic), a Zipf-like popularity rank within its
topic, and the vertical's own attributes (realty city/size, finance risk level, ...). Home items
have a style and automod items fit a car brand: these "facets" are also tags of the platform's
interior-design and car-culture courses, so a taste shown on the platform carries to partners.
Personal-finance and real-estate-investing courses carry a risk grade tag (R1..R5), the risk
facet matching finance items' risk_level.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from xrec_tools.sample.taxonomy import Taxonomy

log = logging.getLogger(__name__)

# Within-topic popularity: long-tailed but not so steep that the head explains everything.
ZIPF_EXPONENT = 0.7
LATE_SHARE = 0.10  # items first published after day 0
ACTIVE_SHARE = 0.95
# Chinese labels for the seed categories, used in bilingual titles.
CATEGORY_ZH = {
    "property_investment": "房产投资",
    "housing_market": "楼市观察",
    "wealth_management": "财富管理",
    "insurance_planning": "保险规划",
    "interior_design": "室内设计",
    "home_organization": "家居收纳",
    "car_culture": "汽车文化",
    "auto_maintenance": "汽车保养",
    "career_development": "职场进阶",
    "public_speaking": "演讲表达",
    "parenting": "科学育儿",
    "fitness": "健身训练",
    "nutrition": "营养膳食",
    "programming": "编程入门",
    "data_analysis": "数据分析",
    "apartment": "精装公寓",
    "villa": "独栋别墅",
    "commercial": "商铺写字楼",
    "school_district": "学区房",
    "mortgage": "房贷",
    "property_fund": "地产基金",
    "reit": "REITs",
    "insurance": "保险",
    "wealth_product": "理财产品",
    "furniture": "家具",
    "lighting": "灯具",
    "textiles": "布艺",
    "kitchen": "厨房用品",
    "kids_furniture": "儿童家具",
    "wheels": "轮毂",
    "exhaust": "排气",
    "detailing": "美容镀晶",
    "audio": "音响改装",
    "performance_tuning": "动力升级",
}
ZH_SUFFIXES = np.array(["精讲", "实战", "入门", "进阶", "全攻略", "精选", "特惠", "推荐"])
EN_SUFFIXES = np.array(
    ["Essentials", "in Practice", "101", "Advanced", "Complete Guide", "Selection", "Special", "Pick"]
)
# Titles that exercise RFC 4180 quoting: a comma, double quotes, an embedded newline.
DECORATIONS = np.array(["", "，限时优惠, limited offer", ' "爆款" best-seller', "\n第二期 / Season 2"])
DECORATION_P = [0.9, 0.04, 0.03, 0.03]
INSTRUCTORS = np.array(["王老师", "李教授", "Zhang Wei", "陈博士", "Emily Liu", "刘明", "赵老师", "Kevin Zhou"])
DISTRICTS = np.array(["一区", "二区", "新区", "高新区", "滨江", "老城", "开发区", "湖畔"])
STYLES = np.array(["modern", "nordic", "new_chinese", "japanese", "industrial", "minimalist"])
ROOMS = np.array(["living_room", "bedroom", "kitchen", "study", "bathroom", "kids_room"])
BRANDS = {
    "BMW": ["3 Series", "5 Series", "X3"],
    "Audi": ["A4L", "Q5L"],
    "Toyota": ["Camry", "RAV4"],
    "Honda": ["Civic", "Accord"],
    "Tesla": ["Model 3", "Model Y"],
    "BYD": ["Han", "Seal"],
    "Volkswagen": ["Golf GTI", "Passat"],
}
BRAND_NAMES = np.array(list(BRANDS))
# Risk grades as Chinese platforms label investment content (R1 conservative .. R5 aggressive).
RISK_GRADES = np.array(["R1", "R2", "R3", "R4", "R5"])
# Facets (a lasting personal preference visible on both sides): values, and the platform topics
# whose courses are tagged with them. Column j of People.facets is a preference for facet j; the
# risk facet is the person's risk tolerance, which finance items match by their risk_level.
FACET_VALUES = (STYLES, BRAND_NAMES, RISK_GRADES)
FACET_TOPICS = (("interior_design",), ("car_culture",), ("personal_finance", "real_estate_investing"))
RISK_FACET = 2
PARTNER_FACET = {"home": 0, "automod": 1}  # every item of these partners has that facet
PART_TYPES = {
    "wheels": "wheel",
    "exhaust": "exhaust_system",
    "detailing": "coating",
    "audio": "speaker",
    "performance_tuning": "ecu_tune",
}
PRODUCT_TYPES = {
    "mortgage": "mortgage_loan",
    "property_fund": "fund",
    "reit": "reit",
    "insurance": "insurance_policy",
    "wealth_product": "wealth_management",
}
RISK_RANGES = {
    "mortgage": (1, 2),
    "property_fund": (3, 5),
    "reit": (3, 5),
    "insurance": (1, 2),
    "wealth_product": (1, 4),
}
SQM_PRICE_CNY = {1: 65_000, 2: 32_000, 3: 18_000}  # by city tier
CITY_EMPTY_SHARE = {"platform": 1.0, "realty": 0.0, "finance": 0.7, "home": 0.4, "automod": 0.5}
ID_PREFIX = {"platform": "C", "realty": "RL", "finance": "FP", "home": "HM", "automod": "AM"}


@dataclass
class Catalogue:
    """One source's items (courses for the platform); aligned arrays."""

    source: str
    item_id: np.ndarray
    category: np.ndarray  # index into the source's categories
    topic: np.ndarray  # topic index
    title: np.ndarray
    price_cents: np.ndarray
    city: np.ndarray  # canonical city index, -1 when the item has none
    is_active: np.ndarray
    first_day: np.ndarray
    first_at: np.ndarray  # datetime64[s] published_at
    popularity: np.ndarray  # Zipf weight within the item's topic
    risk_level: np.ndarray  # finance: 1..5, else 0
    facet_kind: np.ndarray  # which facet (index into FACET_VALUES) the item has, -1 none
    facet: np.ndarray  # the item's value of that facet, -1 none
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # vertical columns (strings)


def _zipf_within(topic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1/rank^s with a random rank order inside each topic (long-tailed popularity)."""
    order = np.lexsort((rng.random(len(topic)), topic))
    sorted_topic = topic[order]
    starts = np.searchsorted(sorted_topic, sorted_topic, side="left")
    rank = np.empty(len(topic), dtype=np.int64)
    rank[order] = np.arange(len(topic)) - starts
    return 1.0 / (rank + 1.0) ** ZIPF_EXPONENT


def _titles(source: str, category: np.ndarray, tax: Taxonomy, rng: np.random.Generator) -> np.ndarray:
    n = len(category)
    names = np.array(tax.categories[source])[category]
    zh = pd.Series([CATEGORY_ZH.get(c, c) for c in tax.categories[source]]).to_numpy()[category]
    en = pd.Series(names).str.replace("_", " ").str.title()
    k = rng.integers(0, len(ZH_SUFFIXES), n)
    decoration = DECORATIONS[rng.choice(len(DECORATIONS), size=n, p=DECORATION_P)]
    decoration[1:4] = DECORATIONS[1:4]  # every catalogue exercises all three quoting cases
    title = (
        pd.Series(zh)
        + pd.Series(ZH_SUFFIXES[k])
        + " | "
        + en
        + " "
        + pd.Series(EN_SUFFIXES[k])
        + " No."
        + pd.Series(rng.integers(1, 500, n)).astype(str)
        + pd.Series(decoration)
    )
    return title.to_numpy(dtype=object)


def _facets(source: str, topic: np.ndarray, tax: Taxonomy, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(facet kind, facet value) per item, -1 where none: every home/automod item, and the
    platform's courses of each facet's topic."""
    if source in PARTNER_FACET:
        kind = np.full(len(topic), PARTNER_FACET[source], dtype=np.int64)
    else:
        topic_kind = np.full(len(tax.topics), -1, dtype=np.int64)
        if source == "platform":
            for j, topics in enumerate(FACET_TOPICS):
                topic_kind[[tax.topics.index(t) for t in topics]] = j
        kind = topic_kind[topic]
    sizes = np.array([len(values) for values in FACET_VALUES])
    value = np.where(kind >= 0, rng.integers(0, sizes[np.maximum(kind, 0)]), -1)
    return kind, value


def facet_labels(kind: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Facet value names per item ('' where the item has no facet)."""
    labels = np.full(len(kind), "", dtype=object)
    for j, values in enumerate(FACET_VALUES):
        labels[kind == j] = values[value[kind == j]]
    return labels


def _vertical(
    source: str,
    names: np.ndarray,
    kind: np.ndarray,
    facet: np.ndarray,
    city: np.ndarray,
    tax: Taxonomy,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(price_cents, risk_level, vertical attribute columns) for one source."""
    n = len(names)
    risk = np.zeros(n, dtype=np.int64)
    attrs: dict[str, np.ndarray] = {}
    if source == "platform":
        price_cny = rng.choice(
            [0, 9.9, 19.9, 49.9, 99, 199, 299, 599], size=n, p=[0.08, 0.12, 0.15, 0.2, 0.2, 0.12, 0.08, 0.05]
        )
        tags = (
            pd.Series(names)
            + "|"
            + pd.Series(facet_labels(kind, facet))
            + "|"
            + pd.Series(rng.choice(["新手", "高分", "热门", "bestseller", "new", "直播"], size=n))
        )
        attrs["tags"] = tags.str.replace("||", "|", regex=False).to_numpy(dtype=object)
        attrs["instructor"] = rng.choice(INSTRUCTORS, size=n).astype(object)
    elif source == "realty":
        tier = tax.city_tiers[city]
        area = np.rint(rng.gamma(6.0, 16.0, n) + 30).astype(np.int64)
        rent = rng.random(n) < 0.35
        unit = np.array([SQM_PRICE_CNY[t] for t in tier]) * rng.uniform(0.7, 1.4, n)
        price_cny = np.where(rent, area * unit / 450, area * unit).round(-2)
        attrs.update(
            district=rng.choice(DISTRICTS, size=n).astype(object),
            area_sqm=area.astype(str).astype(object),
            bedrooms=np.clip(area // 40, 1, 5).astype(str).astype(object),
            listing_type=np.where(rent, "rent", "sale").astype(object),
        )
    elif source == "finance":
        low, high = (np.array([RISK_RANGES.get(c, (1, 5))[i] for c in names]) for i in (0, 1))
        risk = rng.integers(low, high + 1)
        minimum = np.array([1_000, 10_000, 50_000, 100_000, 1_000_000])[
            np.clip(risk - 1 + rng.integers(-1, 2, n), 0, 4)
        ]
        price_cny = minimum.astype(float)
        ret = 1.5 + 1.3 * risk + rng.normal(0, 0.4, n)
        attrs.update(
            product_type=np.array([PRODUCT_TYPES.get(c, c) for c in names], dtype=object),
            risk_level=risk.astype(str).astype(object),
            expected_return_pct=np.char.mod("%.2f", ret).astype(object),
            min_investment=minimum.astype(str).astype(object),
        )
    elif source == "home":
        price_cny = np.rint(rng.lognormal(7.5, 0.9, n))
        attrs.update(
            style=STYLES[facet].astype(object),
            room=np.where(names == "kids_furniture", "kids_room", rng.choice(ROOMS[:-1], size=n)).astype(object),
        )
    elif source == "automod":
        brand = BRAND_NAMES[facet]
        model = np.array([BRANDS[b][i % len(BRANDS[b])] for b, i in zip(brand, rng.integers(0, 6, n))])
        price_cny = np.rint(rng.lognormal(8.0, 0.8, n))
        attrs.update(
            brand=brand.astype(object),
            car_model=model.astype(object),
            part_type=np.array([PART_TYPES.get(c, c) for c in names], dtype=object),
        )
    else:
        raise ValueError(f"sample generator has no item model for source {source!r}")
    return np.rint(np.asarray(price_cny) * 100).astype(np.int64), risk, attrs


def build_catalogue(source: str, n: int, start: date, days: int, tax: Taxonomy, rng: np.random.Generator) -> Catalogue:
    """``n`` items of ``source``; categories uniform, ~10% published after day 0."""
    category = rng.integers(0, len(tax.categories[source]), n)
    names = np.array(tax.categories[source])[category]
    city_w = 1.0 / tax.city_tiers
    city = rng.choice(len(tax.cities), size=n, p=city_w / city_w.sum())
    topic = tax.category_topic[source][category]
    kind, facet = _facets(source, topic, tax, rng)
    price_cents, risk, attrs = _vertical(source, names, kind, facet, city, tax, rng)
    city = np.where(rng.random(n) < CITY_EMPTY_SHARE[source], -1, city)
    late = rng.random(n) < (LATE_SHARE if days > 1 else 0.0)
    first_day = np.sort(np.where(late, rng.integers(1, max(days, 2), n), 0))
    day0 = np.datetime64(start.isoformat(), "s")
    offset = np.where(
        first_day == 0, -rng.integers(86_400, 700 * 86_400, n), first_day * 86_400 + rng.integers(0, 86_400, n)
    )
    log.info("built %d %s items", n, source)
    return Catalogue(
        source=source,
        item_id=np.char.add(ID_PREFIX[source], np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object),
        category=category,
        topic=topic,
        title=_titles(source, category, tax, rng),
        price_cents=price_cents,
        city=city,
        is_active=rng.random(n) < ACTIVE_SHARE,
        first_day=first_day,
        first_at=day0 + offset.astype("timedelta64[s]"),
        popularity=_zipf_within(topic, rng),
        risk_level=risk,
        facet_kind=kind,
        facet=facet,
        attributes=attrs,
    )
