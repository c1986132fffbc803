"""The worker keeps the objects that predate a job out of the garbage collector's scans during the
job, and gives them back afterwards: nothing that became garbage meanwhile stays in memory."""

from __future__ import annotations

import gc
import weakref

from services.trainer.worker import collector_skips_older_objects


class Node:
    def __init__(self) -> None:
        self.peer: Node | None = None


def test_a_cycle_dropped_during_a_job_is_collected_after_it() -> None:
    first, second = Node(), Node()
    first.peer, second.peer = second, first  # a cycle: only the collector frees it
    gone = weakref.ref(first)
    with collector_skips_older_objects():
        assert gc.get_freeze_count() > 0  # the cycle is among the frozen objects now
        del first, second
        gc.collect()
        assert gone() is not None  # frozen: skipped during the job
    gc.collect()
    assert gone() is None
    assert gc.get_freeze_count() == 0
