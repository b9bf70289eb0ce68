"""The documentation runs as written, and the docs site builds.

Every ```python block of README.md and docs/*.md is executed, each in a fresh
namespace of its own, under the torch backend, and those of README.md and
docs/usage.md (where a new user starts, on Keras' default backend) under the
tensorflow backend too (the snippets run Keras code; the same calls run under
every backend through the rest of tests/, and the other legs skip them to keep
`make test` within its time). The KerasHub detector
recipe of docs/ecosystem.md is the exception (`ONE_LEG`): it runs in the jax
leg only, by tests/integration/test_keras_hub.py. A page whose blocks build on each other can say so with the line
`<!-- snippets: shared namespace -->`: its blocks then run in order in one
namespace, as one test. No page does today.

Blocks that cannot run offline or stand alone use another fence (```text,
```bash); `test_fences_are_known` makes sure no Python block hides behind a
fence that is not run (```py, ```pycon, ...).

`test_mkdocs_build_strict` builds the site with `mkdocs build --strict` (the
docs extra: pip install -e ".[docs]"; skipped without it). It and the other
checks of the text alone are backend-independent, so they run once, in the
tensorflow leg of `make test`, and are skipped under jax and torch.
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import keras
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHARED_MARKER = "<!-- snippets: shared namespace -->"
FENCE = re.compile(r"^```([^\s`]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
RUN = "python"
NOT_RUN = {"", "text", "bash", "console", "shell", "yaml", "toml", "json", "ini"}


def _blocks(page):
    """(language, first line number of the code, code) of each fenced block."""
    text = page.read_text(encoding="utf-8")
    return [(m.group(1), text.count("\n", 0, m.start(2)) + 1, m.group(2)) for m in FENCE.finditer(text)]


def _name(page):
    return page.relative_to(ROOT).as_posix()


def _run(page, line, code, namespace):
    # Pad with blank lines so tracebacks point at the line in the page.
    exec(compile("\n" * (line - 1) + code, _name(page), "exec"), namespace)


# Blocks that run in one leg only, by a test of their own, and why (docs/testing.md lists them).
ONE_LEG = {
    "RetinaNetObjectDetector(": pytest.mark.skip(
        reason="docs/ecosystem.md's detector recipe (23–200 s a leg) runs once, in the jax leg: "
        "tests/integration/test_keras_hub.py::test_detector_recipe_in_the_docs_fits_a_retinanet"
    ),
}


def _marks(code):
    return [mark for text, mark in ONE_LEG.items() if text in code]


SEPARATE, SHARED = [], []
for _page in PAGES:
    _code = [(line, code) for lang, line, code in _blocks(_page) if lang == RUN]
    if SHARED_MARKER in _page.read_text(encoding="utf-8"):
        if _code:
            SHARED.append(pytest.param(_page, _code, id=_name(_page)))
    else:
        SEPARATE += [
            pytest.param(_page, line, code, id=f"{_name(_page)}:{line}", marks=_marks(code)) for line, code in _code
        ]
if not SHARED:
    SHARED.append(pytest.param(None, None, id="none", marks=pytest.mark.skip(reason=f"no page has {SHARED_MARKER}")))


def _prose_test_runs_once():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("checks the docs' text, not Keras code: runs once, in the tensorflow leg")


def test_readme_has_the_three_snippets():
    _prose_test_runs_once()
    assert sum(lang == RUN for lang, _, _ in _blocks(ROOT / "README.md")) >= 3


def test_fences_are_known():
    _prose_test_runs_once()
    unknown = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        unknown += [
            f"{_name(page)}:{line} ```{lang}" for lang, line, _ in _blocks(page) if lang != RUN and lang not in NOT_RUN
        ]
        unknown += [
            f"{_name(page)}:{text.count(chr(10), 0, m.start()) + 1} indented fence"
            for m in re.finditer(r"^[ \t]+```", text, re.M)
        ]
    assert not unknown, f"fences neither run (```python) nor known not to be ({sorted(NOT_RUN - {''})}): {unknown}"


ON_JAX = pytest.mark.skipif(
    keras.backend.backend() == "jax", reason="the snippets run in the tensorflow and torch legs"
)
# The pages the tensorflow leg runs too: where a new user starts, on Keras' default backend. The
# torch leg runs every page (the same calls run under each backend in the rest of tests/).
TENSORFLOW_LEG_PAGES = ("README.md", "docs/usage.md")


def _skip_in_the_tensorflow_leg(page):
    if keras.backend.backend() == "tensorflow" and _name(page) not in TENSORFLOW_LEG_PAGES:
        pytest.skip(f"{_name(page)}'s snippets run in the torch leg (the tensorflow leg: {TENSORFLOW_LEG_PAGES})")


@ON_JAX
@pytest.mark.parametrize("page, line, code", SEPARATE)
def test_snippet_runs(page, line, code):
    _skip_in_the_tensorflow_leg(page)
    _run(page, line, code, {"__name__": "__snippet__"})


@ON_JAX
@pytest.mark.parametrize("page, blocks", SHARED)
def test_page_snippets_run_in_order(page, blocks):
    if page is not None:
        _skip_in_the_tensorflow_leg(page)
    namespace = {"__name__": "__snippet__"}
    for line, code in blocks:
        _run(page, line, code, namespace)


def test_mkdocs_build_strict(tmp_path):
    _prose_test_runs_once()
    missing = [
        name
        for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        pytest.skip(f"the docs extra is not installed (missing {', '.join(missing)}): pip install -e '.[docs]'")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}\n{result.stderr}"
