"""The variant cache: variant sets stored by what made them (see docs/cache.md).

Cheap to import (numpy and sqlite3 only), so a service on a warm cache starts fast.
"""

from middleware.cache.cache import (
    CachedSetInfo,
    CacheStats,
    EvictionReport,
    VariantCache,
    VerifyReport,
    default_root,
)
from middleware.cache.errors import CacheConfigError, CacheEntryError, CacheError
from middleware.cache.keys import EngineKey, set_key, soundfont_identity, variant_key

__all__ = [
    "CacheConfigError",
    "CacheEntryError",
    "CacheError",
    "CacheStats",
    "CachedSetInfo",
    "EngineKey",
    "EvictionReport",
    "VariantCache",
    "VerifyReport",
    "default_root",
    "set_key",
    "soundfont_identity",
    "variant_key",
]
