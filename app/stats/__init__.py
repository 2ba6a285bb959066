"""Pure numpy/scipy statistics for archarena: the noise reference (``noise``), intervals with every error source
(``intervals``), ranks that cannot chain (``board``), best-of-k luck (``luck``), the public/private tuning gap and
robustness (``holdout``), study verdicts (``pairs``), comparisons (``compare``), aggregates across benchmarks
(``aggregate``), the frontier (``frontier``) and plain-language notes (``overfitting``).

Nothing here imports web, database, queue or torch code; every function takes plain sequences of floats and
returns plain, JSON-ready data. Each module's docstring says which method it uses and why; the tests re-measure
every guarantee by seeded simulation and print the rate.
"""
