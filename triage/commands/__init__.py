"""CLI command modules. Each module exposes ``register(app)``; ``triage.cli`` calls them in order.

Keep module imports light: heavy libraries (scikit-learn, simpy, bs4) are imported inside the
command functions, so ``triage parse`` starts fast.
"""

MODULES = ["demo", "importing", "sync", "workflow", "parse", "classify", "dataset", "sim"]
