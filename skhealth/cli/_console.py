"""What every command shares about talking to its user: the error of a
command line that cannot work, and text from files printed safely."""


class UsageError(ValueError):
    """A command-line value that cannot work (exit status 2); the message names
    the option."""


def printable(text):
    """``text`` with every character that is not printable (an escape sequence's
    ESC, a line break) escaped as in a Python repr: names read from a file must
    not control the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def one_line(text):
    """``text`` on one line, whatever it quotes from a file printable."""
    return printable(" ".join(str(text).split()))


def shown(values):
    """The first five of ``values``, as reprs, for a message."""
    return ", ".join(map(repr, values[:5])) + (", ..." if values[5:] else "")


def print_scores(scores):
    """Print the per-task ``scores`` of :func:`skhealth.metrics.score_tasks` as
    a table, then their mean R² (a classifier's: their mean ROC-AUC)."""
    scores = scores.rename(index=printable)
    print(scores.to_string(float_format=lambda value: f"{value:.3f}"))
    if "r2" in scores:
        print(f"mean R2: {scores['r2'].mean():.3f}")
    else:
        print(f"mean ROC-AUC: {scores['roc_auc'].mean():.3f}")
