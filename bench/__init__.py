"""pywry's benchmark harness: `python -m bench [--quick] [--only NAME[,NAME]] [--seconds N]`."""
