"""A classifier's label head in the estimate. With the Labels field empty the run learns every label its corpus
holds, so the estimate counts the head with the labels read as the trainer reads them (engine/data/labelled.py);
while the corpus cannot be read the head's size is not known, and the estimate says so instead of guessing
silently."""

from __future__ import annotations

from pathlib import Path

from engine.config import schema as C
from engine.core.errors import UserError
from engine.data.files import default_cache_dir
from engine.data.labelled import labels_found


class LabelHead:
    """The labels found in the designed run's corpus, read once per corpus and label column."""

    def __init__(self) -> None:
        self._read: tuple[tuple, list[str], str] = ((), [], "")

    def forget(self) -> None:
        """Read again next time (the corpus may have changed on disk)."""
        self._read = ((), [], "")

    def counted(self, cfg: C.RunConfig, cache_dir: Path | None = None) -> tuple[C.RunConfig, str]:
        """(the config the estimate counts, with the corpus's labels where the form leaves them to it; why the
        label head is not counted yet, or "")."""
        if cfg.model.objective != "classify" or cfg.task.labels:
            return cfg, ""
        if not cfg.data.path:
            return cfg, "the label head is not counted yet: its labels come from the corpus, and none is chosen"
        labels, why = self._labels(cfg, cache_dir)
        if why:
            return cfg, f"the label head is not counted yet: its labels come from the corpus, which cannot be read " \
                        f"({why})"
        counted = cfg.copy()
        counted.task.labels = labels
        return counted, ""

    def _labels(self, cfg: C.RunConfig, cache_dir: Path | None) -> tuple[list[str], str]:
        d = cfg.data
        key = (d.path, d.text_column, d.documents, cfg.task.label_column)
        if key != self._read[0]:
            try:
                found, why = labels_found(cfg, d.cache_dir or cache_dir or default_cache_dir()), ""
            except UserError as e:
                found, why = [], str(e)
            self._read = (key, found, why if found or why else "it holds no labelled row")
        return self._read[1], self._read[2]
