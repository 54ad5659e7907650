"""GoalConvo: a streaming generator of synthetic, goal-oriented dialogues."""

__version__ = "0.1.0"
