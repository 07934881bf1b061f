"""The variant cache: variant sets stored by what made them (see docs/cache.md).

Cheap to import (numpy and sqlite3 only), so a service on a warm cache starts fast.
"""

from middleware.cache.cache import (
    CachedSetInfo,
    CacheStats,
    DamagedEntry,
    DamagedSetError,
    EvictionReport,
    VariantCache,
    VerifyReport,
    default_root,
)
from middleware.cache.errors import CacheConfigError, CacheEntryError, CacheError, CacheFullError
from middleware.cache.keys import EngineKey, set_key, soundfont_identity, variant_key

__all__ = [
    "CacheConfigError",
    "CacheEntryError",
    "CacheError",
    "CacheFullError",
    "CacheStats",
    "CachedSetInfo",
    "DamagedEntry",
    "DamagedSetError",
    "EngineKey",
    "EvictionReport",
    "VariantCache",
    "VerifyReport",
    "default_root",
    "set_key",
    "soundfont_identity",
    "variant_key",
]
