"""The similarity scorer loads its model from a local folder and leaves the process's hub settings alone
(issue 14, item 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from goalconvo.sinks.similarity import BertScorer, bundled_encoder_path

HUB_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def test_making_a_scorer_sets_no_process_wide_hub_setting(monkeypatch, tmp_path):
    for var in HUB_VARS:
        monkeypatch.delenv(var, raising=False)
    scorer = BertScorer()
    try:
        assert not [v for v in HUB_VARS if v in os.environ], "the scorer switched the hub off for the whole process"
    finally:
        for var in HUB_VARS:  # keep the old behaviour from leaking into later tests
            os.environ.pop(var, None)
    assert scorer.model_path == str(bundled_encoder_path())
    # A model that is not a local folder would be fetched from the hub: refused at once, with the path.
    with pytest.raises(RuntimeError, match="local folder"):
        BertScorer(model_path=tmp_path / "sentence-transformers-all-MiniLM-L6-v2")


@pytest.mark.slow
def test_the_scorer_loads_and_scores_with_no_network_and_the_hub_still_usable():
    """In a fresh process with every socket refused: the model loads from its folder, and
    huggingface_hub (which reads HF_HUB_OFFLINE once, at import) is still online for a --model NAME."""
    code = textwrap.dedent("""
        import os, socket
        def refuse(*a, **k):
            raise OSError("network refused by the test")
        socket.socket.connect = refuse
        socket.getaddrinfo = refuse
        from goalconvo.sinks.similarity import BertScorer
        s = BertScorer()
        f1 = s.score_pairs(["I need a cheap hotel in the north."], ["I need a cheap hotel in the north."])[0][2]
        import huggingface_hub.constants as hub
        print(round(f1, 4), hub.HF_HUB_OFFLINE, os.environ.get("HF_HUB_OFFLINE"))
    """)
    env = {k: v for k, v in os.environ.items() if k not in HUB_VARS}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["1.0", "False", "None"], out.stdout
