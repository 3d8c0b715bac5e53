"""ada package."""
