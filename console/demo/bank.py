"""The demo bank (``demo``, Kaireon Demo Bank): six channels covering every delivery mode,
fifteen offers, four contact policies, the flows credit-card-nba and cross-sell, five segments,
two campaigns (one triggered by hand, one weekly) and the published journey "Welcome series"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from console.demo.catalogue import WEBHOOK_URL, OfferSpec, TenantSpec, all_of, any_of, when
from console.demo.customers import AS_OF, BANK_SCHEMA

ADULT = when("customer.age", "gte", 18)

BANK_CHANNELS: tuple[dict[str, Any], ...] = (
    {
        "name": "Email",
        "channel_type": "email",
        "delivery_mode": "file",
        "description": "Daily file for the email service provider.",
    },
    {
        "name": "SMS",
        "channel_type": "sms",
        "delivery_mode": "integration",
        "provider_config": {"webhookUrl": f"{WEBHOOK_URL}/sms", "sender": "KAIREON"},
        "description": "Sent one by one through the SMS gateway's webhook.",
    },
    {
        "name": "Push",
        "channel_type": "push",
        "delivery_mode": "integration",
        "provider_config": {"webhookUrl": f"{WEBHOOK_URL}/push", "app": "kaireon-mobile"},
        "description": "Mobile app notifications through the push provider's webhook.",
    },
    {
        "name": "Call centre",
        "channel_type": "call_center",
        "delivery_mode": "manual",
        "description": "Call lists the outbound team works through.",
    },
    {
        "name": "Direct mail",
        "channel_type": "direct_mail",
        "delivery_mode": "file",
        "description": "Weekly print file for the mailing house.",
    },
    {
        "name": "Web",
        "channel_type": "web",
        "delivery_mode": "api",
        "description": "Banners on the website and in online banking, decided in real time.",
    },
)

BANK_OFFERS: tuple[OfferSpec, ...] = (
    OfferSpec(
        key="platinum-card",
        name="Platinum Credit Card",
        category="cards",
        priority=90,
        business_value=1200,
        description="Premium travel card with lounge access and travel rewards.",
        channels=("Email", "Call centre", "Direct mail"),
        headline="Your Platinum Credit Card is pre-approved",
        pitch="Airport lounges, 2% back on travel and no foreign transaction fees.",
        eligibility=all_of(ADULT, when("customer.credit_score", "gte", 720), when("customer.income", "gte", 60_000)),
        tags=("credit", "premium", "rewards"),
    ),
    OfferSpec(
        key="cashback-card",
        name="Cashback Card",
        category="cards",
        priority=75,
        business_value=600,
        description="1.5% cashback on every purchase, no annual fee.",
        channels=("Email", "SMS", "Push"),
        headline="Earn cashback on everything you buy",
        pitch="1.5% back on every purchase and no annual fee.",
        eligibility=all_of(ADULT, when("customer.credit_score", "gte", 650)),
        tags=("credit", "cashback"),
    ),
    OfferSpec(
        key="balance-transfer",
        name="Balance Transfer 0%",
        category="cards",
        priority=65,
        business_value=450,
        description="0% interest on balances transferred in the first 18 months.",
        channels=("Email", "SMS"),
        headline="Move your card balance and pay 0% for 18 months",
        pitch="Transfer a balance from another card and pay no interest for 18 months.",
        eligibility=all_of(when("customer.has_credit_card", "eq", True), when("customer.credit_score", "gte", 650)),
        tags=("credit", "promotion"),
        window=(-30, 60),
    ),
    OfferSpec(
        key="holiday-cashback",
        name="Holiday Cashback Boost",
        category="cards",
        priority=70,
        business_value=300,
        description="Double cashback on holiday shopping; starts later this season.",
        channels=("Email", "Push"),
        headline="Double cashback for the holidays",
        pitch="Earn double cashback on every card purchase during the holidays.",
        eligibility=when("customer.has_credit_card", "eq", True),
        tags=("cashback", "seasonal"),
        window=(20, 55),
    ),
    OfferSpec(
        key="personal-loan",
        name="Personal Loan",
        category="loans",
        priority=70,
        business_value=800,
        description="Borrow up to 40,000 at a fixed rate, decision in minutes.",
        channels=("Email", "SMS", "Call centre"),
        headline="A personal loan at a fixed rate",
        pitch="Borrow up to 40,000 at a fixed rate, with a decision in minutes.",
        eligibility=all_of(ADULT, when("customer.credit_score", "gte", 620), when("customer.income", "gte", 25_000)),
        tags=("lending",),
    ),
    OfferSpec(
        key="auto-loan",
        name="Auto Loan",
        category="loans",
        priority=55,
        business_value=700,
        description="Finance a new or used car over up to 7 years.",
        channels=("Email", "Push", "Direct mail"),
        headline="Drive away with an auto loan",
        pitch="Finance a new or used car over up to 7 years, with no early repayment fee.",
        eligibility=all_of(ADULT, when("customer.income", "gte", 30_000)),
        tags=("lending", "auto"),
    ),
    OfferSpec(
        key="mortgage-refinance",
        name="Mortgage Refinance",
        category="loans",
        priority=80,
        business_value=2500,
        description="Switch your mortgage to a lower fixed rate.",
        channels=("Email", "Call centre", "Direct mail"),
        headline="Lower your mortgage payments",
        pitch="Refinance to a lower fixed rate and see what you could save each month.",
        eligibility=all_of(when("customer.has_mortgage", "eq", True), when("customer.credit_score", "gte", 680)),
        tags=("lending", "mortgage"),
    ),
    OfferSpec(
        key="high-yield-savings",
        name="High-Yield Savings",
        category="savings",
        priority=50,
        business_value=300,
        description="4.1% AER on instant-access savings.",
        channels=("Email", "Push", "Web"),
        headline="Earn 4.1% on instant-access savings",
        pitch="Earn 4.1% AER and withdraw whenever you like.",
        eligibility=ADULT,
        tags=("savings",),
    ),
    OfferSpec(
        key="term-deposit",
        name="12-Month Term Deposit",
        category="savings",
        priority=45,
        business_value=350,
        description="A fixed 4.6% for twelve months, from 5,000.",
        channels=("Email", "Direct mail"),
        headline="Lock in 4.6% for twelve months",
        pitch="Put 5,000 or more aside for a year at a fixed 4.6%.",
        eligibility=when("customer.balance", "gte", 5_000),
        tags=("savings", "fixed-rate"),
    ),
    OfferSpec(
        key="travel-insurance",
        name="Travel Insurance",
        category="insurance",
        priority=40,
        business_value=150,
        description="Annual multi-trip cover for the whole family.",
        channels=("Email", "Push", "Web"),
        headline="Travel covered all year",
        pitch="Annual multi-trip cover for you and your family, from 6 a month.",
        eligibility=ADULT,
        tags=("insurance", "travel", "seasonal"),
        window=(-10, 110),
    ),
    OfferSpec(
        key="home-insurance",
        name="Home Insurance",
        category="insurance",
        priority=50,
        business_value=400,
        description="Buildings and contents cover for homeowners.",
        channels=("Email", "Direct mail", "Call centre"),
        headline="Protect your home",
        pitch="Buildings and contents cover, with 10% off in your first year.",
        eligibility=when("customer.has_mortgage", "eq", True),
        tags=("insurance", "home"),
    ),
    OfferSpec(
        key="student-account",
        name="Student Account",
        category="accounts",
        priority=30,
        business_value=80,
        description="A fee-free account with an interest-free overdraft for students.",
        channels=("Email", "Push", "Web"),
        headline="The account built for students",
        pitch="No fees and an interest-free overdraft while you study.",
        eligibility=all_of(ADULT, when("customer.age", "lte", 25)),
        tags=("youth", "accounts"),
    ),
    OfferSpec(
        key="premium-banking",
        name="Premium Banking",
        category="accounts",
        priority=85,
        business_value=1500,
        description="A personal relationship manager and preferential rates.",
        channels=("Call centre", "Email", "Direct mail"),
        headline="Welcome to Premium Banking",
        pitch="A personal relationship manager, preferential rates and priority service.",
        eligibility=any_of(
            when("customer.income", "gte", 150_000),
            when("customer.balance", "gte", 100_000),
            when("customer.tier", "eq", "platinum"),
        ),
        tags=("premium", "relationship"),
    ),
    OfferSpec(
        key="retirement-plan",
        name="Retirement Plan",
        category="investments",
        priority=55,
        business_value=900,
        description="A managed pension plan with tax relief on contributions.",
        channels=("Email", "Call centre", "Direct mail"),
        headline="Plan the retirement you want",
        pitch="A managed pension with tax relief on every contribution.",
        eligibility=all_of(when("customer.age", "gte", 45), when("customer.income", "gte", 40_000)),
        tags=("investments", "retirement"),
    ),
    OfferSpec(
        key="smart-investing",
        name="Smart Investing Starter",
        category="investments",
        priority=35,
        business_value=250,
        description="Start investing from 50 a month in a managed portfolio.",
        channels=("Email", "Push", "Web"),
        headline="Start investing from 50 a month",
        pitch="A managed portfolio you can start with 50 a month.",
        eligibility=all_of(when("customer.age", "gte", 25), when("customer.age", "lte", 45)),
        tags=("investments",),
    ),
)

GLOBAL_CAP = "Global frequency cap"
COOLDOWN = "72-hour cooldown"
SUPPRESSION = "Suppress opted-out customers"
SMS_CAP = "SMS daily cap"

BANK_POLICIES: tuple[dict[str, Any], ...] = (
    {
        "name": GLOBAL_CAP,
        "description": "At most 3 contacts per customer per week, all channels together.",
        "policy_type": "frequency_cap",
        "max_count": 3,
        "period": "week",
        "scope": "global",
    },
    {
        "name": COOLDOWN,
        "description": "The same offer goes to the same customer at most once in 72 hours.",
        "policy_type": "cooldown",
        "cooldown_hours": 72,
    },
    {
        "name": SUPPRESSION,
        "description": "Never contact suppressed or unsubscribed customers.",
        "policy_type": "suppression",
        "suppress_suppressed": True,
        "suppress_unsubscribed": True,
    },
    {
        "name": SMS_CAP,
        "description": "At most one SMS per customer per day.",
        "policy_type": "frequency_cap",
        "max_count": 1,
        "period": "day",
        "scope": "channel",
        "channel": "SMS",
    },
)

CREDIT_CARD_NBA = "credit-card-nba"
RECENT_PURCHASE = (AS_OF - dt.timedelta(days=90)).isoformat()

BANK_FLOWS: tuple[dict[str, Any], ...] = (
    {
        "key": CREDIT_CARD_NBA,
        "name": "Credit Card NBA",
        "description": "Next best card or loan offer: two offers per customer, on different channels.",
        "status": "active",
        "pipeline": [
            {"type": "inventory", "categories": ["cards", "loans"]},
            {
                "type": "qualify",
                "rules": [
                    {"id": "adult", "name": "Adults only", "condition": ADULT, "mode": "hard"},
                    {
                        "id": "credit-floor",
                        "name": "Credit score of 600 or more",
                        "condition": when("customer.credit_score", "gte", 600),
                        "mode": "hard",
                    },
                    {
                        "id": "low-churn",
                        "name": "Prefer customers unlikely to leave",
                        "condition": when("customer.churn_risk", "lt", 0.7),
                        "mode": "soft",
                        "fit_multiplier": 0.6,
                    },
                    {
                        "id": "new-cardholder",
                        "name": "Cards for customers without one",
                        "condition": any_of(
                            when("offer.category", "neq", "cards"), when("customer.has_credit_card", "eq", False)
                        ),
                        "mode": "soft",
                        "fit_multiplier": 0.5,
                    },
                ],
            },
            {"type": "contact_policy", "policy_ids": []},
            {
                "type": "score",
                "method": "prie",
                "propensity_model": {
                    "base_score": 0.3,
                    "rules": [
                        {
                            "name": "Gold or platinum tier",
                            "condition": when("customer.tier", "in", ["gold", "platinum"]),
                            "points": 0.4,
                        },
                        {
                            "name": "Excellent credit",
                            "condition": when("customer.credit_score", "gte", 750),
                            "points": 0.3,
                        },
                        {"name": "High income", "condition": when("customer.income", "gte", 100_000), "points": 0.2},
                        {
                            "name": "Bought in the last 90 days",
                            "condition": when("customer.last_purchase_date", "gte", RECENT_PURCHASE),
                            "points": 0.15,
                        },
                        {
                            "name": "Likely to leave",
                            "condition": when("customer.churn_risk", "gte", 0.7),
                            "points": -0.4,
                        },
                    ],
                },
            },
            {"type": "rank", "max_offers_per_customer": 2, "one_offer_per_channel": True},
            {"type": "output"},
        ],
    },
    {
        "key": "cross-sell",
        "name": "Cross-sell",
        "description": "Up to three offers from the whole catalogue, by priority.",
        "status": "active",
        "policy_names": [SUPPRESSION, GLOBAL_CAP],
        "pipeline": [
            {"type": "inventory", "include_all": True},
            {"type": "contact_policy"},
            {"type": "score", "method": "priority_weighted"},
            {"type": "rank", "max_offers_per_customer": 3, "one_offer_per_channel": False},
            {"type": "output"},
        ],
    },
)

HIGH_VALUE = "High Value Customers"

BANK_SEGMENTS: tuple[dict[str, Any], ...] = (
    {"name": "All Customers", "description": "Every customer of the bank.", "filters": {}},
    {
        "name": HIGH_VALUE,
        "description": "Income of 100,000 or more, or gold and platinum tier.",
        "filters": any_of(when("income", "gte", 100_000), when("tier", "in", ["gold", "platinum"])),
    },
    {
        "name": "Young Professionals",
        "description": "Aged 22 to 35 with an income of 40,000 or more.",
        "filters": all_of(when("age", "gte", 22), when("age", "lte", 35), when("income", "gte", 40_000)),
    },
    {
        "name": "Churn Risk",
        "description": "Churn risk of 0.7 or more.",
        "filters": when("churn_risk", "gte", 0.7),
    },
    {
        "name": "Mortgage Holders",
        "description": "Customers with a mortgage.",
        "filters": when("has_mortgage", "eq", True),
    },
)

GOLD_CARD_PUSH = "Gold card push"
MONDAY_CROSS_SELL = "Monday cross-sell"

BANK_CAMPAIGNS: tuple[dict[str, Any], ...] = (
    {
        "name": GOLD_CARD_PUSH,
        "description": "Card and loan offers for high-value customers, run by hand; a CSV file to download.",
        "status": "active",
        "flow": CREDIT_CARD_NBA,
        "segment": HIGH_VALUE,
        "schedule_type": "manual",
        "volume_constraints": {"max_per_offer": 500},
        "file_config": {
            "format": "csv",
            "columns": ["external_id", "email", "first_name", "last_name", "offer_name", "channel", "score"],
            "include_personalization": False,
            "destination": "download",
        },
    },
    {
        "name": MONDAY_CROSS_SELL,
        "description": "Every Monday at 09:00 London time: up to three offers for young professionals.",
        "status": "active",
        "flow": "cross-sell",
        "segment": "Young Professionals",
        "schedule_type": "weekly",
        "schedule_day_of_week": 1,  # 0 = Sunday
        "schedule_time": "09:00",
        "schedule_timezone": "Europe/London",
        "file_config": {
            "format": "json",
            "columns": ["customer_id", "external_id", "offer_key", "offer_name", "channel", "rank", "score"],
            "include_personalization": False,
            "destination": "download",
        },
    },
)

WELCOME_SERIES = "welcome-series"
WELCOME_ENROLMENT = 200

BANK_JOURNEYS: tuple[dict[str, Any], ...] = (
    {
        "key": WELCOME_SERIES,
        "name": "Welcome series",
        "description": (
            "A cashback card email, three ticks' pause, then the Platinum card for gold and platinum customers."
        ),
        "enrol": WELCOME_ENROLMENT,
        "steps": [
            {
                "id": "welcome",
                "name": "Cashback card email",
                "type": "send",
                "channel": "Email",
                "offer": "cashback-card",
                "next": "pause",
                "onBlocked": "blocked",
            },
            {"id": "pause", "name": "Wait three ticks", "type": "wait", "ticks": 3, "next": "tier"},
            {
                "id": "tier",
                "name": "Gold or platinum?",
                "type": "branch",
                "conditions": [{"condition": when("customer.tier", "in", ["gold", "platinum"]), "next": "upgrade"}],
                "default": "done",
            },
            {
                "id": "upgrade",
                "name": "Platinum card email",
                "type": "send",
                "channel": "Email",
                "offer": "platinum-card",
                "next": "done",
                "onBlocked": "done",
            },
            {"id": "done", "name": "Done", "type": "end", "outcome": "completed"},
            {"id": "blocked", "name": "Not contacted", "type": "end", "outcome": "blocked"},
        ],
    },
)

BANK = TenantSpec(
    slug="demo",
    name="Kaireon Demo Bank",
    schema=BANK_SCHEMA,
    channels=BANK_CHANNELS,
    offers=BANK_OFFERS,
    policies=BANK_POLICIES,
    flows=BANK_FLOWS,
    segments=BANK_SEGMENTS,
    customer_prefix="cust",
    campaigns=BANK_CAMPAIGNS,
    journeys=BANK_JOURNEYS,
)
