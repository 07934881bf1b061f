"""Errors raised by the variant cache (rooted at `OstinatoError`, stable codes)."""

from __future__ import annotations

from engine_core.errors import OstinatoError


class CacheError(OstinatoError):
    """The cache root or its index cannot be used (unwritable, not a cache, corrupt index)."""

    code = "cache_error"
    exit_code = 6


class CacheConfigError(CacheError):
    """A cache setting is invalid (budget, root path, variant count)."""

    code = "cache_config"
    exit_code = 2


class CacheEntryError(CacheError):
    """A variant handed to the cache does not fit its set (wrong state, shapes, index)."""

    code = "cache_bad_entry"
    exit_code = 2


class CacheFullError(CacheError):
    """No room for an entry: the disk (keeping its margin) or the budget is full even
    after evicting every set that may be evicted. Nothing partial is written."""

    code = "cache_full"
    exit_code = 6
