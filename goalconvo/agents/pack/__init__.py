"""Dialogues of a domain pack: the User over the goal (``user.py``), the desk (``desk.py``) and the
world (``world.py``) over the pack, planned turn by turn (``planner.py``), phrased from the pack's
templates (``phrases.py``), served to the stream stages by ``engine.PackEngine``."""
