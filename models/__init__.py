"""torch nn.Modules only: encoders, memory cores (GRU), actor-critic heads."""
