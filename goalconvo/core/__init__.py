"""The bottom layer: records that travel and are stored, settings, goals and goal sources, MultiWOZ formats, venue databases, slot vocabulary. Imports nothing of ours outside core."""
