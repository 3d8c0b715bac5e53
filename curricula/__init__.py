"""curricula package."""
