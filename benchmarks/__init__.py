"""sknoisy's benchmarks: the zoo, the grid, speed, scale and the other measured runs.

Run each as a module from the repository root, e.g. ``python -m benchmarks.run``.
"""
