"""scripts/refresh_shared.py: the repository's reference files follow a newer shared copy."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from shared_data import CATALOGUE_PATH, ROOT, SPEC_PATH


def _script():
    spec = importlib.util.spec_from_file_location(
        "_scripts_refresh_shared", ROOT / "scripts" / "refresh_shared.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fake_repo(tmp: Path, script) -> Path:
    root = tmp / "repo"
    for target in script.TARGETS.values():
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / target, root / target)
    return root


def test_the_tests_read_the_in_repository_copies() -> None:
    script = _script()
    assert {ROOT / t for t in script.TARGETS.values()} == {SPEC_PATH, CATALOGUE_PATH}
    assert SPEC_PATH.is_file() and CATALOGUE_PATH.is_file()


def test_check_lists_a_changed_file_and_refresh_copies_it(tmp_path: Path, capsys) -> None:
    script = _script()
    root = _fake_repo(tmp_path, script)
    shared = tmp_path / "shared"
    shared.mkdir()
    for name, target in script.TARGETS.items():
        shutil.copyfile(ROOT / target, shared / name)
    assert script.stale(shared, root) == []
    newer = SPEC_PATH.read_text("utf-8") + "\n# refreshed\n"
    (shared / "venice-openapi-image.yaml").write_text(newer, "utf-8")
    (shared / "venice-models-2027-01-02.json").write_text("{}", "utf-8")
    assert script.stale(shared, root) == ["venice-openapi-image.yaml"]
    assert script.newer_snapshots(shared) == ["venice-models-2027-01-02.json"]
    assert script.refresh(shared, root) == ["venice-openapi-image.yaml"]
    assert (root / "tests/data/venice-openapi-image.yaml").read_text("utf-8") == newer
    assert script.stale(shared, root) == []
    assert not list(root.rglob("*.part"))


def test_main_check_exit_codes(tmp_path: Path, capsys) -> None:
    script = _script()
    assert script.main(["--from", str(tmp_path / "absent")]) == 2
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "venice-openapi-image.yaml").write_text("different", "utf-8")
    assert script.main(["--from", str(shared), "--check"]) == 1
    assert "tests/data/venice-openapi-image.yaml differs" in capsys.readouterr().out
    assert SPEC_PATH.read_text("utf-8") != "different"  # --check changed nothing
