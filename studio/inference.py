"""Model work for the Inspect and Playground pages, off the GUI thread.

torch is imported here lazily, the first time a page asks for a model, never at start-up. Loaded
checkpoints are cached; each request runs in a worker thread and answers through Qt signals.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.jobs import Job

_models: dict[tuple[str, str], tuple] = {}
_models_lock = threading.Lock()


def load_model(run_dir: Path, checkpoint: str | None):
    """(model, tokenizer, checkpoint path), cached; raises UserError for a bad run or checkpoint."""
    from engine.load import load_for_inference

    key = (str(run_dir), checkpoint or "")
    with _models_lock:
        if key not in _models:
            _models[key] = load_for_inference(Path(run_dir), checkpoint)
            while len(_models) > 4:
                _models.pop(next(iter(_models)))
        return _models[key]


def forget(run_dir: Path) -> None:
    with _models_lock:
        for key in [k for k in _models if k[0] == str(run_dir)]:
            del _models[key]


def attention_job(run_dir: Path, checkpoint: str | None, text: str) -> Job:
    """A Job whose result is (maps (L, H, T, T) float32, tokens)."""
    def run(progress):
        from engine.inspect import attention_maps

        progress("load", "loading the checkpoint")
        model, tokenizer, _ = load_model(run_dir, checkpoint)
        progress("attention", "computing attention")
        return attention_maps(model, tokenizer, text)

    return Job(run)


def prediction_job(run_dir: Path, checkpoint: str | None, text: str) -> Job:
    """A Job whose result is {"kind": "classify", "labels": [(label, p)]} or
    {"kind": "fill", "text": filled text, "guesses": [(position, [(token, p)])]}."""
    def run(progress):
        from engine.predict import classify, fill_mask

        progress("load", "loading the checkpoint")
        model, tokenizer, _ = load_model(run_dir, checkpoint)
        if model.config.num_labels:
            return {"kind": "classify", "labels": classify(model, tokenizer, text)}
        filled, guesses = fill_mask(model, tokenizer, text)
        return {"kind": "fill", "text": filled, "guesses": [(g.position, g.candidates) for g in guesses]}

    return Job(run)


def export_job(run_dir: Path, out_dir: Path) -> Job:
    """A Job that writes the run's newest checkpoint (adapters merged) as a Hugging Face folder."""
    def run(progress):
        from engine.hf import export_model
        from engine.load import load_for_inference

        progress("load", "loading the checkpoint")
        model, tokenizer, path = load_for_inference(Path(run_dir))
        progress("export", f"writing {out_dir}")
        export_model(model, tokenizer, out_dir, labels=getattr(model, "labels", None))
        return f"{path.name} written as a Hugging Face {'BERT' if model.config.arch == 'bert' else 'GPT-2'} " \
               f"model to {out_dir}"

    return Job(run)


class TokenStream(QObject):
    """Generates in a thread, emitting each token as it comes; stop() ends it at the next token."""

    sig_token = Signal(object)
    """A dict: text, prob, alternatives [(text, prob)]."""
    sig_done = Signal(str)
    """Why it ended: length | stopped."""
    sig_failed = Signal(str)

    def __init__(self, run_dir: Path, checkpoint: str | None, prompt: str, options: dict, parent=None):
        super().__init__(parent)
        self.args = (run_dir, checkpoint, prompt, options)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> TokenStream:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def _run(self) -> None:
        from engine.errors import UserError

        run_dir, checkpoint, prompt, options = self.args
        try:
            from engine.generate import SamplingOptions, banned_ids, beam_search, stream

            model, tok, _ = load_model(run_dir, checkpoint)
            beams = options.pop("beams", 1)
            if beams > 1:
                ids = beam_search(model, tok.encode(prompt), beams=beams, max_new_tokens=options["max_new_tokens"])
                for i in ids:
                    if self._stop.is_set():
                        self.sig_done.emit("stopped")
                        return
                    self.sig_token.emit({"text": tok.decode([i]), "prob": None, "alternatives": []})
                self.sig_done.emit("length")
                return
            opts = SamplingOptions(**options)
            opts.banned = banned_ids(model, tok)
            for t in stream(model, tok.encode(prompt), opts, should_stop=self._stop.is_set):
                self.sig_token.emit({"text": tok.decode([t.id]), "prob": t.prob,
                                     "alternatives": [(tok.decode([i]), p) for i, p in t.alternatives]})
            self.sig_done.emit("stopped" if self._stop.is_set() else "length")
        except UserError as e:
            self.sig_failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - shown in words
            self.sig_failed.emit(f"{type(e).__name__}: {e}")
