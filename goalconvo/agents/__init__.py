"""Generation: the experience generator, the User and SupportBot roles, prompts, few-shot pool, belief tracker."""
