"""Speed and memory measurements of ganzoo (`python -m benchmarks.run`); never timed in tests."""
