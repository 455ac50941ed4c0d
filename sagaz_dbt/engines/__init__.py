"""One Engine per supported adapter (see base.py); `for_adapter` is the only way in."""

from sagaz_dbt.engines.base import (
    Engine,
    MicrobatchWrite,
    TableRebuild,
    UnquotedCase,
    UnsupportedAdapterError,
    ViewBinding,
    for_adapter,
    known_engines,
)

__all__ = [
    "Engine",
    "MicrobatchWrite",
    "TableRebuild",
    "UnquotedCase",
    "UnsupportedAdapterError",
    "ViewBinding",
    "for_adapter",
    "known_engines",
]
