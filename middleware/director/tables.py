"""Gain tables shared by every director of a process: fades and duck ramps.

A table depends only on its shape and length (and a duck's depth), never on the session,
so one read-only copy serves every session. The memo is bounded in bytes (least recently
used tables are dropped; a dropped table is simply made again) and thread-safe, so
directors on several threads (bake, the service's loop) can share it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np

from middleware.mixer.curves import equal_power_in, equal_power_out, linear_ramp

#: Default byte budget of a memo (a 4 MiB table is the largest the director tabulates).
DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024


class TableMemo:
    """Interleaved (each gain twice) read-only float32 gain tables, made once per key."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._tables: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.made = 0  # tables computed (a hit costs nothing)

    def __len__(self) -> int:
        return len(self._tables)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def fade(self, shape: str, length: int) -> np.ndarray:
        """An equal-power fade-in (`shape="in"`) or fade-out of `length` samples."""
        make = equal_power_in if shape == "in" else equal_power_out
        return self._get(("fade", shape, length), lambda: make(length))

    def ramp(self, start_gain: float, end_gain: float, length: int) -> np.ndarray:
        """A linear ramp (`linear_ramp`) of `length` samples."""
        return self._get(
            ("ramp", float(start_gain), float(end_gain), length),
            lambda: linear_ramp(start_gain, end_gain, length),
        )

    def _get(self, key: Hashable, make: Callable[[], np.ndarray]) -> np.ndarray:
        with self._lock:
            table = self._tables.get(key)
            if table is not None:
                self._tables.move_to_end(key)
                return table
        table = np.repeat(make().astype(np.float32), 2)
        table.flags.writeable = False
        with self._lock:
            found = self._tables.get(key)
            if found is not None:
                return found
            self.made += 1
            self._tables[key] = table
            self._bytes += table.nbytes
            while self._bytes > self.budget_bytes and len(self._tables) > 1:
                _, dropped = self._tables.popitem(last=False)
                self._bytes -= dropped.nbytes
        return table


#: The memo directors use unless given another: a cache of pure functions of their
#: arguments (like `functools.cache`), so sharing it between sessions changes no sample.
SHARED_TABLES = TableMemo()
