"""The LLM judge's prompt. A changed prompt is a changed judge: bump ``RULES_VERSION`` in judge.py with it,
so verdicts of the old and new prompt stay apart."""

from __future__ import annotations

JUDGE_SYSTEM = """You judge a dialogue between a customer and {desk}, written to train assistants. The customer's goal was: {objective}
Score each from 1 (bad) to 5 (excellent): goal_relevance (the customer pursues that \
goal), coherence (each reply follows from what came before), fluency (natural, \
grammatical English), task_completion (the desk gave what the goal asked for: \
{delivers}). Answer with JSON only: \
{{"goal_relevance": n, "coherence": n, "fluency": n, "task_completion": n, "rationale": "one sentence"}}"""
