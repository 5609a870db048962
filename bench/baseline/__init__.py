"""
The baseline: chat over WebSockets the way the Channels tutorial and the
"djangobnb" tutorial build it, on this project's models and settings.

Served with ``daphne bench.baseline.asgi:application``; only the benchmark
uses it.
"""
