"""A bounded load test of the prediction service (``skhealth serve``) on
127.0.0.1.

The service runs as its own process, as a user starts it, on a model of the
NHANES measurements (the default MultiTaskHealthRegressor after the default
preprocessing, fitted here unless ``--model`` names a file). For each request
size (one record, and 1,000 records), ``--clients`` concurrent clients send
requests one after another on keep-alive connections for ``--duration``
seconds; the table gives the requests and rows predicted per second and the
latency's median and 99th percentile, from the client's sending the request
to its reading the whole answer, and the CPU time per request of the service
and of the clients. Every answer must be a 200; the first answers of each
phase are checked against ``model.predict`` of their rows.

The clients are a minimal HTTP/1.1 client on asyncio in this process (one
core's worth at most), so that the figures are of the service rather than of
a client library; the service and the clients share the machine's cores.

Run from the repository root, in the project's environment, with nothing else
running::

    nice python benchmarks/serving.py
    nice python benchmarks/serving.py --duration 20 --clients 8 --threads 1
    python benchmarks/serving.py --quick   # a smoke run: a tiny model, 2 s
"""

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (1, 1000)


def fit_model(path, quick):
    """Fit the NHANES model the service serves, and save it at ``path``."""
    from sklearn.pipeline import make_pipeline

    import skhealth
    from skhealth import MultiTaskHealthRegressor
    from skhealth.datasets import load_nhanes
    from skhealth.preprocessing import make_default_preprocessor

    X, Y = load_nhanes(return_X_y=True)
    params = {"max_iter": 3, "n_members": 2} if quick else {}
    if quick:
        X, Y = X.iloc[:300], Y.iloc[:300]
    model = make_pipeline(
        make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0, **params)
    ).fit(X, Y)
    skhealth.save(model, path)


def start_service(model, log, extra):
    """The service's process on a free port of 127.0.0.1, and that port, once
    it answers ``GET /health``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "skhealth", "serve", str(model), "--port", "0", *extra],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)", Path(log.name).read_text())
        if process.poll() is not None:
            raise RuntimeError(f"the service stopped: {Path(log.name).read_text()}")
        if found:
            port = int(found[1])
            try:
                status, _ = run(_one_request(port, "GET", "/health", b""))
            except OSError:
                status = None
            if status == 200:
                return process, port
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the service did not answer /health within 120 s")


def stop_service(process):
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid):
    """The CPU time (user + system) the process ``pid`` has used, in seconds;
    None where /proc does not say (not Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _request(method, path, body):
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_answer(reader):
    """``(status, body)`` of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return status, await reader.readexactly(length)


async def _one_request(port, method, path, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_request(method, path, body))
        await writer.drain()
        return await _read_answer(reader)
    finally:
        writer.close()


async def _client(port, bodies, deadline, latencies, answers, keep):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [_request("POST", "/predict", body) for body in bodies]
    i = 0
    try:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status, answer = await _read_answer(reader)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"the service answered {status}: {answer[:300]!r}")
            if len(answers) < keep:
                answers.append((i % len(requests), answer))
            i += 1
    finally:
        writer.close()


async def load(port, bodies, clients, duration):
    """Latencies (s) of ``clients`` clients sending ``bodies`` in turn for
    ``duration`` seconds, and some answers ``(body index, answer)``."""
    deadline = time.perf_counter() + duration
    latencies, answers = [], []
    # the clients start at different bodies
    await asyncio.gather(
        *(
            _client(
                port,
                bodies[c % len(bodies) :] + bodies[: c % len(bodies)],
                deadline,
                latencies,
                answers if c == 0 else [],
                keep=3,
            )
            for c in range(clients)
        )
    )
    return np.array(latencies), answers


def run(coroutine):
    """Run ``coroutine`` on uvloop where it is installed (as the service
    does), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def records(X):
    """The rows of ``X`` as JSON records (null where missing)."""
    return json.loads(X.to_json(orient="records"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model file (default: fit NHANES's)")
    parser.add_argument("--duration", type=float, default=20.0, help="s per phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="records/request"
    )
    parser.add_argument("--threads", type=int, default=1, help="the service's")
    parser.add_argument("--engine", default="auto", help="the service's")
    parser.add_argument("--quick", action="store_true", help="a 2-s smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.sizes = 2.0, [1, 100]

    import skhealth
    from skhealth.datasets import load_nhanes

    X, _ = load_nhanes(return_X_y=True)
    with tempfile.TemporaryDirectory() as folder:
        model_path = args.model
        if model_path is None:
            model_path = os.path.join(folder, "nhanes.skh")
            fit_model(model_path, args.quick)
        model = skhealth.load(model_path)
        targets = [str(t) for t in model[-1].target_names_]
        extra = ["--threads", str(args.threads), "--engine", args.engine]
        with open(os.path.join(folder, "service.log"), "w+") as log:
            process, port = start_service(model_path, log, extra)
            try:
                print(Path(log.name).read_text().strip())
                print(
                    f"{args.clients} clients, {args.duration:g} s per size, service "
                    f"threads {args.threads}, engine {args.engine}"
                )
                print(
                    f"{'records/request':>16} {'requests/s':>11} {'rows/s':>9} "
                    f"{'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>10} "
                    f"{'clients':>8} {'max |diff|':>11}"
                )
                for size in args.sizes:
                    starts = range(0, len(X) - size, max(size, 7))[:200]
                    chunks = [X.iloc[s : s + size] for s in starts]
                    bodies = [
                        json.dumps({"records": records(chunk)}).encode()
                        for chunk in chunks
                    ]
                    cpu, mine = cpu_seconds(process.pid), time.process_time()
                    latencies, answers = run(
                        load(port, bodies, args.clients, args.duration)
                    )
                    mine = (time.process_time() - mine) / len(latencies) * 1e3
                    if cpu is not None:  # the service's CPU time per request
                        cpu = (cpu_seconds(process.pid) - cpu) / len(latencies) * 1e3
                    diff = max(
                        np.abs(
                            np.array(
                                [
                                    [p[t] for t in targets]
                                    for p in json.loads(answer)["predictions"]
                                ]
                            )
                            - model.predict(chunks[i])
                        ).max()
                        for i, answer in answers
                    )
                    rate = len(latencies) / args.duration
                    p50, p99 = np.percentile(latencies, [50, 99]) * 1e3
                    print(
                        f"{size:>16} {rate:>11.0f} {rate * size:>9.0f} {p50:>8.2f} "
                        f"{p99:>8.2f} {cpu or float('nan'):>10.2f} {mine:>8.2f} "
                        f"{diff:>11.1e}",
                        flush=True,
                    )
            finally:
                stop_service(process)


if __name__ == "__main__":
    main()
