"""Downstream transfer, read side: an entry's upstream vs downstream accuracy, the benchmark's transfer chart,
and downloads of every run's stored weights."""
