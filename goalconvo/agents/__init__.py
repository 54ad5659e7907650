"""Generation: the experience generator, the User and SupportBot roles, prompts, LLM backends."""
