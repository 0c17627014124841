"""The benchmark of veo-bot: `python -m bench` (see bench/__main__.py)."""
