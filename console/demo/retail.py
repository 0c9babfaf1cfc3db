"""The demo retailer (``demo-retail``, Kaireon Demo Retail): a small catalogue and one campaign,
so that the tenant switcher has somewhere to go."""

from __future__ import annotations

from console.demo.catalogue import WEBHOOK_URL, OfferSpec, TenantSpec, when
from console.demo.customers import RETAIL_SCHEMA

RETAIL = TenantSpec(
    slug="demo-retail",
    name="Kaireon Demo Retail",
    schema=RETAIL_SCHEMA,
    channels=(
        {"name": "Email", "channel_type": "email", "delivery_mode": "file", "description": "Newsletter file."},
        {
            "name": "App push",
            "channel_type": "push",
            "delivery_mode": "integration",
            "provider_config": {"webhookUrl": f"{WEBHOOK_URL}/retail-push"},
            "description": "Shopping app notifications.",
        },
        {"name": "Website", "channel_type": "web", "delivery_mode": "api", "description": "Homepage banners."},
    ),
    offers=(
        OfferSpec(
            key="vip-preview",
            name="VIP Sale Preview",
            category="loyalty",
            priority=80,
            business_value=120,
            description="Shop the sale a day early.",
            channels=("Email", "App push"),
            headline="Shop the sale before everyone else",
            pitch="Gold members get into the sale a day early.",
            eligibility=when("customer.loyalty_tier", "eq", "gold"),
            tags=("loyalty",),
        ),
        OfferSpec(
            key="double-points",
            name="Double Loyalty Points",
            category="loyalty",
            priority=70,
            business_value=80,
            description="Double points on every order this week.",
            channels=("Email", "App push", "Website"),
            headline="Double points all week",
            pitch="Earn double loyalty points on every order this week.",
            eligibility=when("customer.loyalty_tier", "in", ["gold", "silver"]),
            tags=("loyalty", "points"),
        ),
        OfferSpec(
            key="free-delivery",
            name="Free Delivery Weekend",
            category="promotions",
            priority=60,
            business_value=50,
            description="Free delivery on every order this weekend.",
            channels=("Email", "App push"),
            headline="Free delivery this weekend",
            pitch="Every order ships free this weekend, whatever its size.",
            tags=("delivery",),
        ),
        OfferSpec(
            key="welcome-back",
            name="10% Welcome Back",
            category="promotions",
            priority=50,
            business_value=30,
            description="10% off for customers who have not ordered for a while.",
            channels=("Email",),
            headline="We miss you: 10% off your next order",
            pitch="Come back and take 10% off your next order.",
            eligibility=when("customer.orders_last_year", "lte", 1),
            tags=("win-back",),
        ),
    ),
    policies=(
        {
            "name": "Suppress opted-out customers",
            "description": "Never contact suppressed or unsubscribed customers.",
            "policy_type": "suppression",
            "suppress_suppressed": True,
            "suppress_unsubscribed": True,
        },
    ),
    flows=(
        {
            "key": "retail-nba",
            "name": "Retail Next Best Offer",
            "description": "One offer per shopper.",
            "status": "active",
            "pipeline": [
                {"type": "inventory", "include_all": True},
                {"type": "contact_policy", "policy_ids": []},
                {"type": "score", "method": "prie"},
                {"type": "rank", "max_offers_per_customer": 1},
                {"type": "output"},
            ],
        },
    ),
    segments=(
        {"name": "All Shoppers", "description": "Every shopper.", "filters": {}},
        {"name": "Gold Members", "description": "Gold loyalty tier.", "filters": when("loyalty_tier", "eq", "gold")},
    ),
    customer_prefix="shopper",
    retail=True,
    customers=200,
    campaigns=(
        {
            "name": "VIP sale preview",
            "description": "The next best offer for gold members, run by hand before each sale.",
            "status": "active",
            "flow": "retail-nba",
            "segment": "Gold Members",
            "schedule_type": "manual",
            "file_config": {"format": "csv", "columns": ["external_id", "email", "offer_name", "channel", "score"]},
        },
    ),
)
