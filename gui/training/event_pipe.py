"""Events from the training process to the GUI over a pipe, with array data sent out of band.

``Connection.send`` pickles an event into one in-memory buffer that grows as it goes and then
writes that buffer: for a snapshot of 784-128-64-10 (0.9 MB, mostly weight and gradient copies)
that cost the training process ~1.8 ms of CPU, most of it page faults in the fresh buffer. Pickle
protocol 5 hands contiguous arrays over as out-of-band buffers instead, and they are written to the
pipe straight from their own memory: ~0.6 ms. Arrays arrive backed by immutable bytes, so they are
read-only on the receiving side, as snapshot arrays must be.

A frame is one message with the buffer count and the pickle, then one message per buffer. Only one
thread sends (the training process's EventSender) and only the GUI's worker thread receives.
"""

from __future__ import annotations

import pickle
import queue
import struct
import threading
from multiprocessing.connection import Connection
from typing import Any

_COUNT = struct.Struct("<I")


def send_event(conn: Connection, event: Any) -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(event, protocol=5, buffer_callback=buffers.append)
    conn.send_bytes(_COUNT.pack(len(buffers)) + data)
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def recv_event(conn: Connection) -> Any:
    """The next event sent by ``send_event``; EOFError/OSError when the other end has closed."""
    head = conn.recv_bytes()
    (count,) = _COUNT.unpack_from(head)
    buffers = [conn.recv_bytes() for _ in range(count)]
    # Events come from our own training process, never from a file: unpickling them is safe.
    return pickle.loads(memoryview(head)[_COUNT.size :], buffers=buffers)


class EventSender:
    """Sends events from a thread of its own, in order, so the training thread never waits.

    Writing a 784-128-64-10 snapshot (0.9 MB) into the pipe takes ~0.6 ms of CPU, and longer
    while the GUI process, busy painting, is slow to read: the training thread would stall for
    it. Events must be immutable (snapshots hold copies), as they are sent after ``__call__``
    returns. Once the pipe breaks (the GUI went away) every call raises BrokenPipeError.
    """

    _STOP = object()

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="event sender", daemon=True)
        self._thread.start()

    def __call__(self, event: Any) -> None:
        if self._broken:
            raise BrokenPipeError("the GUI process no longer reads events")
        self._queue.put(event)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued, then stop the thread."""
        self._queue.put(self._STOP)
        self._thread.join(timeout)

    def _run(self) -> None:
        while (event := self._queue.get()) is not self._STOP:
            try:
                send_event(self._conn, event)
            except OSError:  # BrokenPipeError among them: the GUI went away
                self._broken = True
                return
