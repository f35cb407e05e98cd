"""The e2e fixtures' servers, all started at once so that their waits overlap.

Each e2e fixture waits in real time: for scrapes, for rule windows to fill, for alerts to fire.  Run one
after another, those waits add up; run side by side, the package waits about as long as its longest one.
A fixture body is written as a generator (set up, ``yield`` the value, tear down in ``finally``) and
registered with :func:`server`; the package fixture ``servers`` (conftest.py) starts, when the first e2e test
runs, every registered body that the selected tests need, each in a thread of its own (and a folder of its
own), up to its ``yield``.
A fixture then :meth:`Started.get` its value (waiting for its own setup only) and :meth:`Started.stop` it once
its tests are done: the rest of its generator runs in the test's thread, and stops its processes by pid.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Body = Callable[[Path], Iterator[Any]]  # given a folder of its own
BODIES: dict[str, Body] = {}


def server(name: str) -> Callable[[Body], Body]:
    """Register a fixture body under the name of the fixture that uses it."""
    def register(body: Body) -> Body:
        assert name not in BODIES, f"two e2e server bodies named {name}"
        BODIES[name] = body
        return body
    return register


class Started:
    """One body, run up to its ``yield`` in a thread of its own."""

    def __init__(self, name: str, body: Body, work: Path) -> None:
        self.name = name
        self.gen = body(work)
        self.value: Any = None
        self.error: BaseException | None = None
        self.stopped = False
        self.thread = threading.Thread(target=self._setup, name=f"e2e-{name}", daemon=True)
        self.thread.start()

    def _setup(self) -> None:
        try:
            self.value = next(self.gen)
        except BaseException as e:  # reported by get(), in the test that needs it
            self.error = e

    def get(self) -> Any:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value

    def stop(self) -> None:
        """Run the body's teardown (its ``finally``) once; a body whose setup failed has already run it."""
        self.thread.join()
        if self.stopped:
            return
        self.stopped = True
        if self.error is None:
            try:
                next(self.gen)
            except StopIteration:
                return
            raise AssertionError(f"e2e server body {self.name} yielded twice")


class Servers:
    def __init__(self, folders: dict[str, Path]) -> None:
        self.started = {name: Started(name, BODIES[name], work) for name, work in sorted(folders.items())}

    def get(self, name: str) -> Any:
        return self.started[name].get()

    def stop(self, name: str) -> None:
        self.started[name].stop()

    def stop_all(self) -> None:
        errors: list[BaseException] = []
        for s in self.started.values():
            try:
                s.stop()
            except BaseException as e:  # stop the others all the same
                errors.append(e)
        if errors:
            raise errors[0]


RENDER = threading.Lock()  # bodies render one at a time (istiogen is not promised to be thread-safe)
