"""``python -m goalconvo.commands``: the same CLI as the ``goalconvo`` script."""

from goalconvo.commands import app

app()
