"""Before a run: every config rule, with a fine-tuning source read from disk. The command line, the trainer,
the queue and the studio's form all check a config here, so each says the same problems in the same order."""

from __future__ import annotations

from pathlib import Path

from engine.config import rules
from engine.config.schema import RunConfig
from engine.core.errors import ConfigError
from engine.run.source import source_problem


def problems(cfg: RunConfig, *, resuming: bool = False) -> list[str]:
    """Every problem, each naming its field and the fix (a resumed fine-tune may outlive its source)."""
    return rules.problems(cfg, resuming=resuming, source_check=source_problem) + folder_problems(cfg)


def folder_problems(cfg: RunConfig) -> list[str]:
    """The folders a run writes (its run folder, the token cache) where a file is on disk: one line each."""
    found = []
    for key, value in (("data.cache_dir", cfg.data.cache_dir), ("train.out_dir", cfg.train.out_dir)):
        path = Path(value).expanduser() if value else None
        for p in [path, *path.parents] if path else []:
            if p.exists():
                if not p.is_dir():
                    found.append(f"{key} {path} is a file: name a folder" if p == path else
                                 f"{key} {path} is under {p}, which is a file: name a folder")
                break
    return found


def check(cfg: RunConfig, *, resuming: bool = False) -> RunConfig:
    """`cfg` itself when it has no problem; else a ConfigError listing every one."""
    found = problems(cfg, resuming=resuming)
    if found:
        raise ConfigError(found)
    return cfg
