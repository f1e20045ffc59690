"""Configuration: recipes, the [train] table, structuring untrusted tables into frozen attrs classes."""
