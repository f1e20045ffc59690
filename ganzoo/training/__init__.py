"""The generic training loop and what it hands to a plugin's step function."""
