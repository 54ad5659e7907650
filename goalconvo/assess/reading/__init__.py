"""The blind reading kit (``goalconvo assess sheet`` / ``assess score``).

Modules, in the order a sheet is made and scored: ``sources`` (generated dialogues from the
corpus, human ones from a MultiWOZ-layout file), ``sampling`` (a seeded sample, each matched to
a human dialogue by domain set and exchanges), ``cleaning`` (one way of writing for both
sources), ``goal_text`` (the goal from the record, alike for both), ``rubric``, ``sheet`` (the
numbered sheet, its plain text, the key), ``html_sheet`` (the page with a form per dialogue),
``kit`` (the two steps end to end), ``ratings_file`` (a reader's JSON lines or CSV, checked line
by line), ``scoring`` (figures, agreement, per turn, the judge beside), ``report`` (as text).
"""
