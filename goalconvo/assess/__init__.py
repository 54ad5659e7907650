"""The instruments: what a user of a synthetic corpus measures, beside the surface figures.

- a blind reading kit: a sheet mixing generated and real dialogues with every mark of
  origin removed, a rubric, and the scoring of readers' ratings against the key;
- extrinsic evaluation: a dialogue-state tracker trained on a set's belief states and
  tested on real dialogues.

Layer: reads the corpus (``sinks``) and the bottom layer, never the generators or judges.
"""
