"""The handle an ``async_op=True`` collective returns (torch's ``Work``)."""

from __future__ import annotations


class Work:
    """A collective in flight: ``wait()`` blocks until it is done, ``is_completed()`` asks without blocking.

    ``requests`` are the MPI requests it started; ``finish`` (optional) runs once when they are all done, to
    finish the result in place (dividing for ``AVG``, copying into the caller's tensors).

    Example::

        >>> work = dist.all_reduce(t, async_op=True)
        >>> ...  # compute something else meanwhile
        >>> work.wait()
        True
    """

    __slots__ = ("_requests", "_finish", "_outputs", "_done")

    def __init__(self, requests: list, finish=None, outputs: list | None = None):
        self._requests = requests
        self._finish = finish
        self._outputs = outputs or []
        self._done = False

    def wait(self) -> bool:
        """Block until the collective is done and its results are in the output tensors; returns True."""
        if not self._done:
            from mpi4py import MPI
            MPI.Request.Waitall(self._requests)
            self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether the collective is done (finishing it if it just completed); never blocks."""
        if not self._done:
            from mpi4py import MPI
            if MPI.Request.Testall(self._requests):
                self._complete()
        return self._done

    def result(self) -> list:
        """The output tensors (after waiting)."""
        self.wait()
        return self._outputs

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()
