"""Every Python example of README.md and the documentation runs, on the data
that ships with skhealth.

A file's blocks run in order in one namespace, as a reader types them (a block
uses the names of the blocks above it), in a temporary working directory. The
blocks are ```python and ```pycon fences in markdown; in reStructuredText,
``.. code-block:: python`` (or ``pycon``) directives, and literal (``::``) and
doctest blocks that start with ``>>>``. A block that starts with ``>>>`` runs as
a doctest, with NORMALIZE_WHITESPACE (as pytest runs the docstrings') and
ELLIPSIS; the others run as scripts, compiled with the doc's file name and
line numbers, so that a traceback points into the doc. Shell blocks do not run:
tests/test_cli.py tests the command line.
"""

import doctest
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.rst")),
    *sorted((ROOT / "docs" / "user_guide").glob("*.rst")),
]

PYTHON = {"python", "python3", "py", "pycon"}
# directives whose body is literal text, never markup with examples inside
LITERAL_DIRECTIVES = {"code-block", "code", "sourcecode", "parsed-literal", "math"}
DIRECTIVE = re.compile(r"\s*\.\. ([\w-]+)::\s*(\S*)")
FENCE = re.compile(r"\s*```\s*(\w*)")

# Files whose examples fit default models on NHANES: over ~20 s each on one
# core of the development machine.
SLOW = {
    "README.md",
    "docs/getting_started.rst",
    "docs/user_guide/federated.rst",
    "docs/user_guide/inspecting.rst",
    "docs/user_guide/model_files.rst",
    "docs/user_guide/scaling.rst",
}


@dataclass(frozen=True)
class Block:
    """The code of one example, and where it starts (1-based)."""

    path: Path
    line: int
    code: str

    def __str__(self):
        return f"{_relative(self.path)}:{self.line}"


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _indent(line):
    return len(line) - len(line.lstrip())


def _block(path, lines, start):
    """The block of ``lines`` (those of the file from line ``start + 1``),
    dedented and stripped of blank lines around it; None when empty."""
    while lines and not lines[0].strip():
        lines, start = lines[1:], start + 1
    code = textwrap.dedent("\n".join(lines)).strip("\n")
    return Block(path, start + 1, code + "\n") if code else None


def rst_blocks(path, text):
    """The Python examples of a reStructuredText document."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        directive = DIRECTIVE.match(line)
        literal = directive is None and line.rstrip().endswith("::")
        if literal or (directive and directive[1] in LITERAL_DIRECTIVES):
            # the body: the lines indented deeper than the directive (or than
            # the paragraph that ends in "::"), the directive's options first
            end = i + 1
            while end < len(lines) and (
                not lines[end].strip() or _indent(lines[end]) > _indent(line)
            ):
                end += 1
            body = i + 1
            while directive and body < end and lines[body].lstrip().startswith(":"):
                body += 1
            block = _block(path, lines[body:end], body)
            if block and (
                block.code.startswith(">>>") if literal else directive[2] in PYTHON
            ):
                blocks.append(block)
            i = end
        elif line.lstrip().startswith(">>>"):
            # a doctest block: a paragraph of its own, to the next blank line
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            blocks.append(_block(path, lines[i:end], i))
            i = end
        else:
            i += 1
    return blocks


def markdown_blocks(path, text):
    """The Python examples (```python and ```pycon fences) of a markdown file."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith("```"):
            end += 1
        if fence[1] in PYTHON and (block := _block(path, lines[i + 1 : end], i + 1)):
            blocks.append(block)
        i = end + 1
    return blocks


def doc_blocks(path):
    """The Python examples of the document at ``path``, in order."""
    parse = markdown_blocks if path.suffix == ".md" else rst_blocks
    return parse(path, path.read_text(encoding="utf-8"))


def run_block(block, namespace):
    """Run ``block`` in ``namespace``; an AssertionError naming the block if it
    fails."""
    if block.code.startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(
            block.code, namespace, str(block), str(block.path), block.line - 1
        )
        runner = doctest.DocTestRunner(
            optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
        )
        report = []
        runner.run(test, out=report.append, clear_globs=False)
        namespace.update(test.globs)  # the test ran in a copy of the namespace
        if runner.failures:
            raise AssertionError(f"the example at {block} failed:\n{''.join(report)}")
        return
    # blank lines in front, so that line numbers are those of the doc
    code = compile("\n" * (block.line - 1) + block.code, str(block.path), "exec")
    try:
        exec(code, namespace)
    except ModuleNotFoundError as error:
        if error.name == "matplotlib":
            pytest.skip(f"{block} needs matplotlib")
        raise AssertionError(f"the example at {block} raised {error!r}") from error
    except Exception as error:
        raise AssertionError(f"the example at {block} raised {error!r}") from error


def _doc_param(path):
    name = _relative(path)
    marks = [pytest.mark.slow] if name in SLOW else []
    return pytest.param(path, id=name, marks=marks)


@pytest.mark.parametrize(
    "path", [_doc_param(path) for path in DOCS if doc_blocks(path)]
)
def test_python_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        import matplotlib
    except ModuleNotFoundError:
        matplotlib = None
    else:
        matplotlib.use("Agg")  # plots draw off screen
    namespace = {"__name__": "__main__"}
    try:
        for block in doc_blocks(path):
            run_block(block, namespace)
    finally:
        if matplotlib is not None:
            import matplotlib.pyplot as plt

            plt.close("all")


RST = """\
Title
=====

.. code-block:: bash

   skhealth demo

.. code-block:: python
   :caption: a first model

   x = 1

   y = x + 1

.. note::

   .. code-block:: pycon

      >>> z = x + y
      >>> z
      3

A literal block::

   >>> x
   1

Another literal block::

   x = "not run"

>>> z * 2
6
"""


def test_rst_examples_are_python_code_blocks_and_doctests():
    path = ROOT / "docs" / "example.rst"
    assert [(block.line, block.code) for block in rst_blocks(path, RST)] == [
        (11, "x = 1\n\ny = x + 1\n"),
        (19, ">>> z = x + y\n>>> z\n3\n"),
        (25, ">>> x\n1\n"),
        (32, ">>> z * 2\n6\n"),
    ]


MARKDOWN = """\
# Title

```bash
skhealth demo
```

```python
x = 1
```

```text
x = "not run"
```

```pycon
>>> x
1
```
"""


def test_markdown_examples_are_python_fences():
    path = ROOT / "README.md"
    assert [(block.line, block.code) for block in markdown_blocks(path, MARKDOWN)] == [
        (8, "x = 1\n"),
        (16, ">>> x\n1\n"),
    ]


def test_examples_share_the_namespace_of_the_file():
    path = ROOT / "docs" / "example.rst"
    namespace = {}
    for block in rst_blocks(path, RST):
        run_block(block, namespace)
    assert (namespace["x"], namespace["y"], namespace["z"]) == (1, 2, 3)


def test_a_doctest_with_other_output_fails_naming_its_line():
    block = Block(ROOT / "docs" / "example.rst", 7, ">>> 1 + 1\n3\n")
    with pytest.raises(AssertionError, match=r"docs/example\.rst:7 failed") as info:
        run_block(block, {})
    assert "Expected:\n    3\nGot:\n    2" in str(info.value)


def test_a_script_that_raises_fails_naming_its_line():
    block = Block(ROOT / "docs" / "example.rst", 12, "x = 1\nundefined_name\n")
    with pytest.raises(AssertionError, match=r"docs/example\.rst:12 raised") as info:
        run_block(block, {})
    # the traceback points at the doc's own line
    assert info.value.__cause__.__traceback__.tb_next.tb_lineno == 13
