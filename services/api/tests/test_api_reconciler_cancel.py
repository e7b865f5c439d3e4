"""The reconciler stops when cancelled, even if the store client absorbed the cancellation.

PyMongo can swallow a cancellation that arrives during an operation (the call just returns);
the API's lifespan then waited on the reconciler forever (seen as hanging test shutdowns).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from integrations_common.store.publisher import ConfigPublisher, run_reconciler

pytestmark = pytest.mark.unit


class SwallowingPublisher:
    """A publisher whose `reconcile` absorbs a cancellation, as PyMongo sometimes does."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def reconcile(self, *, everything: bool = False) -> int:
        del everything
        self.started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return 0
        return 0


async def test_a_cancelled_reconciler_stops_even_if_the_cancellation_was_absorbed() -> None:
    publisher = SwallowingPublisher()
    task = asyncio.create_task(
        run_reconciler(
            cast(ConfigPublisher, cast(Any, publisher)),
            interval_s=3600,
            republish_all_first=True,
        )
    )
    await publisher.started.wait()
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=30)  # a bound for the failure, not a timing
    assert done, "the reconciler went on after being cancelled"
    assert task.cancelled()
