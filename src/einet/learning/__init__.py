"""Learning: gradient training of networks (``classifier``: sigmoid MLPs with plain SGD)."""
