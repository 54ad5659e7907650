"""Guided generation: code plans each turn as MultiWOZ dialogue acts, the LLM phrases them.

``acts`` is the shared vocabulary, ``agenda`` the User's plan from the goal,
``policy`` the SupportBot's answers over the venue database and its belief state,
``realizer`` the phrasing (LLM or template) and ``validator`` its check.
"""
