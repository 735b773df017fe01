"""How long the ``skhealth`` command takes to answer ``--version`` and ``--help``.

Each command line runs ``--runs`` times, each in a fresh process, as a user
runs it; the table gives the best wall time (the run least disturbed by other
processes, as hyperfine's minimum) and the median. For reference, it also
times the interpreter alone and ``import torch``: the command line imported
PyTorch before it answered anything, which took 7 to 26 s on a shared machine.

Run from the repository root, in the project's environment::

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 10
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _skhealth():
    """The ``skhealth`` command of this environment, else ``python -m``."""
    script = shutil.which("skhealth", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "skhealth"]


def command_lines():
    """``{label: argv}`` of the command lines timed."""
    skhealth = _skhealth()
    return {
        "skhealth --version": [*skhealth, "--version"],
        "skhealth --help": [*skhealth, "--help"],
        "skhealth fit --help": [*skhealth, "fit", "--help"],
        "python -c pass (reference)": [sys.executable, "-c", "pass"],
        "python -c 'import torch' (reference)": [sys.executable, "-c", "import torch"],
    }


def wall_times(argv, runs):
    """The wall times, in seconds, of ``runs`` runs of ``argv``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=5, help="runs of each command (default: 5)"
    )
    args = parser.parse_args(argv)
    print(f"{'command':<40} {'best':>8} {'median':>8}  ({args.runs} runs)")
    for label, command in command_lines().items():
        times = wall_times(command, args.runs)
        best, median = min(times), statistics.median(times)
        print(f"{label:<40} {best:>7.3f}s {median:>7.3f}s", flush=True)


if __name__ == "__main__":
    main()
