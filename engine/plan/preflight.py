"""Before a run: every config rule, with a fine-tuning source read from disk. The command line, the trainer,
the queue and the studio's form all check a config here, so each says the same problems in the same order."""

from __future__ import annotations

from engine.config import rules
from engine.config.schema import RunConfig
from engine.core.errors import ConfigError
from engine.run.source import source_problem


def problems(cfg: RunConfig, *, resuming: bool = False) -> list[str]:
    """Every problem, each naming its field and the fix (a resumed fine-tune may outlive its source)."""
    return rules.problems(cfg, resuming=resuming, source_check=source_problem)


def check(cfg: RunConfig, *, resuming: bool = False) -> RunConfig:
    """`cfg` itself when it has no problem; else a ConfigError listing every one."""
    found = problems(cfg, resuming=resuming)
    if found:
        raise ConfigError(found)
    return cfg
