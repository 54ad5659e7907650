"""Tools for trying GoalConvo without a GPU: a loopback OpenAI-compatible stub server."""
