"""Requests that arrive together are predicted together.

The preprocessing of a pipeline and the network's forward pass cost about as
much for eight rows as for one: requests waiting while a prediction runs are
joined into the next one (those asking for the same interval and std), in a
thread of their own, so that the event loop reads further requests meanwhile.
Each record's prediction is that of the model for its row: rows do not mix in
a network, and the batch changes a value by float32 rounding at most."""

import asyncio
import collections

import numpy as np

from ._records import Records


class Batcher:
    """Predict the :class:`~._records.Records` of concurrent requests with
    ``engine``, joining those that wait into batches of at most ``max_rows``
    rows (a larger request is predicted alone)."""

    def __init__(self, engine, max_rows):
        self.engine = engine
        self.max_rows = max_rows
        self._pending = collections.deque()
        self._worker = None

    async def predict(self, records, options):
        """The output columns of ``records`` (see the engine's ``predict``);
        what the engine raised for them."""
        future = asyncio.get_running_loop().create_future()
        self._pending.append((options, records, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._work())
        return await future

    async def _work(self):
        while self._pending:
            # let the requests under way reach the queue, to join this batch
            waiting = -1
            while waiting != len(self._pending):
                waiting = len(self._pending)
                await asyncio.sleep(0)
            batch = self._take()
            results = self._predict(batch)
            for (_, _, future), result in zip(batch, results, strict=True):
                if future.done():  # its client went away
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
            await asyncio.sleep(0)

    def _take(self):
        """The first pending request and those after it of the same options,
        up to ``max_rows`` rows in all."""
        first = self._pending.popleft()
        batch, rows, kept = [first], first[1].n_rows, collections.deque()
        while self._pending:
            item = self._pending.popleft()
            if (
                item[0] == first[0]
                and (item[1].groups is None) == (first[1].groups is None)
                and rows + item[1].n_rows <= self.max_rows
            ):
                batch.append(item)
                rows += item[1].n_rows
            else:
                kept.append(item)
        self._pending.extendleft(reversed(kept))
        return batch

    def _predict(self, batch):
        """The outputs of each request of ``batch``, or what predicting its
        records raised: a batch that fails is predicted request by request, so
        that each request gets its own error."""
        options = batch[0][0]
        if len(batch) == 1:
            return [self._one(batch[0][1], options)]
        joined = _joined([records for _, records, _ in batch])
        try:
            outputs = self.engine.predict(joined, *options)
        except Exception:
            return [self._one(records, options) for _, records, _ in batch]
        results, start = [], 0
        for _, records, _ in batch:
            stop = start + records.n_rows
            results.append([values[start:stop] for values in outputs])
            start = stop
        return results

    def _one(self, records, options):
        try:
            return self.engine.predict(records, *options)
        except Exception as exc:
            return exc


def _joined(parts):
    """One :class:`Records` of the rows of ``parts``, in order."""
    columns = {
        name: np.concatenate([part.columns[name] for part in parts])
        for name in parts[0].columns
    }
    groups = None
    if parts[0].groups is not None:
        groups = np.concatenate([part.groups for part in parts])
    return Records(columns, sum(part.n_rows for part in parts), groups)
