"""sqlfluff lint (the dbt templater) that skips files whose lint input has not changed.

Used by ``scripts/test.sh --fast``; the full run (``scripts/test.sh``, CI) calls
``sqlfluff lint`` itself, with no cache. Rendering (dbt compiling every file) is cheap;
parsing and the rules are most of sqlfluff's time. A lint result is a function of the
file's source, its rendered SQL and the settings, so the cache key is a hash of those
(with the sqlfluff version and the .sqlfluff / .sqlfluffignore files): a file is
linted again whenever its own text, a macro, a ref or a setting changes what it
renders to. Only files that passed are cached, so a failing file is reported on
every run.

    python scripts/lint_sql.py models tests/dbt analyses
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import sqlfluff
from sqlfluff.core import FluffConfig, Linter
from sqlfluff.core.linter.discovery import paths_from_path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "sqlfluff_passed.json"


def _settings_hash() -> str:
    parts = [sqlfluff.__version__]
    for name in (".sqlfluff", ".sqlfluffignore"):
        path = ROOT / name
        parts.append(path.read_text() if path.exists() else "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _key(settings: str, fname: str, rendered) -> str:
    digest = hashlib.sha256()
    for part in (
        settings,
        fname,
        rendered.source_str,
        *(str(variant.templated_str) for variant in rendered.templated_variants),
        *(str(error) for error in rendered.templater_violations),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def main(paths: list[str]) -> int:
    config = FluffConfig.from_root()
    linter = Linter(config=config)
    files = [
        fname
        for path in paths
        for fname in paths_from_path(path, target_file_exts=(".sql",), ignore_files=True)
    ]
    passed = set(json.loads(CACHE.read_text())) if CACHE.exists() else set()
    settings = _settings_hash()
    still_passing: set[str] = set()
    failures = linted = 0
    for fname in files:
        rendered = linter.render_file(fname, config)
        key = _key(settings, fname, rendered)
        if key in passed:
            still_passing.add(key)
            continue
        linted += 1
        result = linter.lint_rendered(rendered, linter.get_rulepack(config=rendered.config))
        violations = result.get_violations(filter_ignore=True, filter_warning=True)
        if not violations:
            still_passing.add(key)
            continue
        failures += 1
        print(f"== [{fname}] FAIL")
        for v in sorted(violations, key=lambda v: (v.line_no, v.line_pos)):
            print(f"L:{v.line_no:4d} | P:{v.line_pos:4d} | {v.rule_code()} | {v.desc()}")
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps(sorted(still_passing)))
    print(
        f"sqlfluff: {len(files)} files, {linted} linted, {len(files) - linted} unchanged "
        f"since they passed, {failures} failing"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["models", "tests/dbt", "analyses"]))
