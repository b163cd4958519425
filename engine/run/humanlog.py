"""Events as one readable line each: for the terminal and for the run's train.log."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

from engine.core.text import human_bytes, human_seconds
from engine.run.events import Event
from engine.run.folder import RUN_FILE


def describe(e: Event) -> str | None:
    g = e.get
    if e.type == "prepare":
        return f"[{g('stage')}] {g('message')}"
    if e.type == "started":
        resumed = f", resumed from {g('resumed_from')}" if g("resumed_from") else ""
        trainable = g("trainable_params")
        lora = f" ({trainable:,} trainable)" if trainable is not None and trainable != g("n_params") else ""
        return (f"started {g('run_dir')}: {g('objective') or 'causal'} objective, {g('n_params'):,} parameters"
                f"{lora} on {g('device')} ({g('precision')}), {g('world_size')} process(es){resumed}"
                + "".join(f"\n  budget: {key} = {c['value']}: {c['why']}" for key, c in (g("budget") or {}).items()))
    if e.type == "finetune":
        new = f"; new: {', '.join(g('new'))}" if g("new") else ""
        return f"fine-tuning ({g('method')}) from {g('source')}{new}"
    if e.type == "step":
        gn = f" | grad {g('grad_norm'):.2f}" if g("grad_norm") is not None else ""
        loss = "nan" if g("loss") is None else f"{g('loss'):.4f}"
        return (f"step {e.step} | loss {loss} | lr {g('lr'):.2e}{gn} | {g('tokens_per_s'):,.0f} tok/s | "
                f"MFU {100 * (g('mfu') or 0):.1f}% | ETA {human_seconds(g('eta'))}")
    if e.type == "eval":
        star = " (best)" if g("best") else ""
        extra = "".join(f", {label} {g(key):.2f}" for key, label in (
            ("val_ppl", "val perplexity"), ("val_accuracy", "val accuracy"), ("val_nsp_accuracy", "NSP accuracy"),
            ("val_macro_f1", "val macro-F1"), ("val_entity_f1", "val entity F1"), ("icl_score", "ICL score"),
            ("val_bleu", "BLEU"), ("val_chrf", "chrF"), ("val_rouge_l", "ROUGE-L"), ("val_exact_match", "exact match"),
            ("val_f1", "val F1")) if g(key) is not None)
        if g("head_scores") and g("head_scores").get("induction"):
            extra += f", top induction {max(max(row) for row in g('head_scores')['induction']):.2f}"
        return f"eval at step {e.step}: train loss {g('train_loss'):.4f}, val loss {g('val_loss'):.4f}{extra}{star}"
    if e.type == "phase_change":
        return (f"phase change at step {e.step}: the top induction score rose from {g('score_before'):.2f} to "
                f"{g('score_after'):.2f} (layer {g('layer')}, head {g('head')})")
    if e.type == "sample":
        return f"sample at step {e.step}: {(g('prompt') + g('text'))!r}"[:300]
    if e.type == "checkpoint":
        return f"checkpoint {g('path')}" + (" (best)" if g("best") else "")
    if e.type == "status":
        return f"status: {g('state')}"
    if e.type == "warning":
        return f"warning ({g('kind')}): {g('message')}"
    if e.type == "diagnosis":
        return f"doctor: {g('message')}"
    if e.type == "intervention":
        return f"intervention: {g('message')}"
    if e.type == "finished":
        best = g("best_val_loss")
        spent = g("time_spent") or {}  # this session's activities: their shares are of this session's time
        session = g("session_elapsed") if g("session_elapsed") is not None else g("elapsed")
        share = ", ".join(f"{k} {v / session:.0%}" for k, v in spent.items() if session) if spent else ""
        took = human_seconds(session) + (f" this session ({human_seconds(g('elapsed'))} in all, counting its set-up "
                                         "and any earlier session)"
                                         if g("elapsed") and g("elapsed") - session > 5e-4 else "")
        return (f"finished at step {e.step} ({g('reason')}) after {took}"
                + (f"; best val loss {best:.4f}" if best is not None else "") + (f" ({share} of it)" if share else "")
                + (f"; val accuracy {g('val_accuracy'):.1%}, val macro-F1 {g('val_macro_f1'):.3f}"
                   if g("val_macro_f1") is not None and g("val_accuracy") is not None else "")
                + (f"; peak memory {human_bytes(g('peak_memory'))}" if g("peak_memory") else "")
                + (f"; test: {test_line(g('test'))}" if g("test") else ""))
    if e.type == "error":
        return f"error ({g('kind')}): {g('message')}"
    return None


def test_line(test: dict) -> str:
    """The test split's metrics in words: loss, then whichever scores the task has."""
    classifier = test.get("macro_f1") is not None
    names = {"loss": "loss", "accuracy": "accuracy" if classifier else "token accuracy", "macro_f1": "macro-F1",
             "bleu": "BLEU", "chrf": "chrF", "rouge_l": "ROUGE-L", "exact_match": "exact match",
             "entity_f1": "entity F1", "f1": "F1"}
    return ", ".join(f"{label} {test[key]:.3f}" if key in ("loss", "rouge_l", "macro_f1") else
                     f"{label} {test[key]:.1%}" if key in ("accuracy", "exact_match", "entity_f1", "f1") else
                     f"{label} {test[key]:.1f}"
                     for key, label in names.items() if test.get(key) is not None)


class TextLog:
    """Writes each event's line, time-stamped, to a file (the run's train.log)."""

    def __init__(self, path: Path):
        self.path = path
        self._f: TextIO | None = None
        self._pending: list[str] = []

    def __call__(self, e: Event) -> None:
        line = describe(e)
        if line is None:
            return
        self._pending.append(time.strftime("%Y-%m-%d %H:%M:%S ", time.localtime(e.time)) + line + "\n")
        if self._f is None:
            if not (self.path.parent / RUN_FILE).is_file():
                return  # the run folder is made only once the config and corpus are known to be good
            self._f = open(self.path, "a", encoding="utf-8")
        self._f.writelines(self._pending)
        self._pending.clear()
        self._f.flush()

    def close(self) -> None:
        if self._f:
            self._f.close()


def silence(stream: TextIO) -> None:
    """After a write to `stream` failed because its reader went away (`... | head`): point it at the null
    device, so no later line, nor Python's flush at exit, fails; training goes on, its files written as ever."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # closed, or not a real file: nothing to point anywhere
        pass


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 document', '2,048 documents': a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
