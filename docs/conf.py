"""Sphinx configuration of skhealth's documentation.

Build it from the repository root with ``pip install -e ".[docs]"`` and
``sphinx-build -W -b html docs docs/_build/html``. The build needs no network:
intersphinx is off, so references to scikit-learn, skorch or PyTorch objects
render as plain code rather than links.
"""

import contextlib
import io
import os
import re
import shutil
from pathlib import Path
from unittest import mock

import skhealth
from skhealth.cli import main as cli_main

project = "skhealth"
author = "the skhealth developers"
copyright = "skhealth developers, BSD-3-Clause licence"
version = release = skhealth.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
default_role = "literal"

# API pages: one generated page per public class and function (docs/gen_modules).
# Generated afresh at every build, so that no page of a removed object lingers.
shutil.rmtree(Path(__file__).parent / "gen_modules", ignore_errors=True)
autosummary_generate = True
# set_{fit,partial_fit,predict,score}_request are scikit-learn's metadata-routing
# methods, generated on every estimator; their docstrings point into
# scikit-learn's own documentation.
autodoc_default_options = {
    "members": True,
    "exclude-members": (
        "set_fit_request, set_partial_fit_request, set_predict_request, "
        "set_score_request"
    ),
}
autodoc_typehints = "none"
# numpydoc renders the Parameters/Attributes sections; autodoc lists methods.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# numpydoc checks the docstring of every object the API pages document, and a
# finding is a warning, so an error of the -W build. The checks are those of
# content a reader needs, which every public docstring can keep:
numpydoc_validation_checks = {
    "GL08",  # a docstring
    "SS01",  # with a summary (autosummary's tables show it),
    "SS03",  # a sentence, ending in a full stop
    "PR01",  # every parameter of the signature documented,
    "PR02",  # and none that is not,
    "PR03",  # in the signature's order,
    "PR04",  # each with a type
    "PR10",  # after " : " (in "name: type" the type renders as part of the name)
    "PR07",  # and a description
    "RT01",  # a Returns section where the function returns a value,
    "RT03",  # which describes it
    "YD01",  # a Yields section for a generator
    "GL06",  # no section that numpydoc drops unseen (a misspelt "Return"),
    "GL10",  # no directive docutils drops unseen (".. versionadded:")
}
# Left out, as style or as what not every object needs: the summary's wording
# and length (SS02, SS04-SS06), capitals and full stops (PR08, PR09, RT04,
# RT05), type spellings (PR05, PR06), blank lines (GL01-GL03), section order,
# which numpydoc puts right when it renders (GL07), extended summaries, See Also
# and Examples (ES01, SA01-SA04, EX01), and RT02, which rejects the named
# returns ("self : object") that scikit-learn's docstrings and ours use.

# Not validated: the skorch hooks that the callbacks override. The net calls
# them with skorch's arguments, and their pages show skorch's docstrings
# (autodoc inherits them); what each callback does in them is its class's
# docstring.
numpydoc_validation_exclude = {
    r"^skhealth\.callbacks\.\w+\."
    r"(initialize|on_(train|epoch|batch)_(begin|end)|on_grad_computed)$",
}

# The gallery renders every script in examples/. Only scripts named plot_*.py
# are executed at build time, so that their figures show; they must stay quick
# (a few seconds each: small data, few epochs). The others are shown with their
# code and run by the test suite (tests/test_project.py) instead of the docs
# build. The pattern is matched against the script's path.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + "plot_",
    "doc_module": ("skhealth",),
    "reference_url": {"skhealth": None},
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skhealth {release}"
html_theme_options = {
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["skhealth.css"]


CLI_COMMANDS = (
    "demo",
    "fit",
    "predict",
    "evaluate",
    "explain",
    "info",
    "export",
    "update",
    "serve",
)


def write_cli_help(app):
    """Write ``skhealth [COMMAND] --help`` to gen_modules/cli/, for the CLI page.

    The page includes these files, so it always shows the options the code has.
    """
    folder = Path(app.srcdir) / "gen_modules" / "cli"
    folder.mkdir(parents=True, exist_ok=True)
    # argparse wraps at $COLUMNS; NO_COLOR keeps escape codes out of the text.
    with mock.patch.dict(os.environ, {"COLUMNS": "76", "NO_COLOR": "1"}):
        for command in ("skhealth", *CLI_COMMANDS):
            args = ["--help"] if command == "skhealth" else [command, "--help"]
            text = io.StringIO()
            with contextlib.redirect_stdout(text), contextlib.suppress(SystemExit):
                cli_main(args)
            (folder / f"{command}.txt").write_text(text.getvalue(), encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_cli_help)
