"""Server apps the bench starts as subprocesses: pywry, the raw baselines, the peers."""
