"""Shared fixtures: one real index (real model, real FAISS) built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import REPO_ROOT


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the corpus, so no test can touch the repo's data/."""
    dest = tmp_path_factory.mktemp("corpus") / "data"
    shutil.copytree(REPO_ROOT / "data", dest)
    return dest


@pytest.fixture(scope="session")
def index_dir(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.indexing import build_index

    target = tmp_path_factory.mktemp("idx") / "index"
    build_index(data_dir, target)
    return target


@pytest.fixture(scope="session")
def engine(data_dir: Path, index_dir: Path):
    from bot.retrieve import get_engine

    return get_engine(data_dir, index_dir)
