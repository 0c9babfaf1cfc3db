"""The demo data that ``make run`` loads on first start (``manage.py seed_demo``).

``catalogue`` says what the demo tenants contain, ``customers`` makes and writes synthetic
customers, and ``seed`` puts it all in the database through the services.
"""

from console.demo.seed import DEFAULT_CUSTOMERS, DEFAULT_SEED, PASSWORD, USERS, DemoReport, demo_seed

__all__ = ["DEFAULT_CUSTOMERS", "DEFAULT_SEED", "PASSWORD", "USERS", "DemoReport", "demo_seed"]
