"""The inference worker: `python -m engine serve`, one long-lived process that keeps torch, loaded models
and their memory out of the studio.

Requests come as JSON lines on stdin: {"id": n, "op": ..., ...}. Each gets answers on stdout, one JSON
line each: {"id": n, "type": "progress" | "token" | "done" | "error", ...}; "done" and "error" end it.
Large arrays travel as .npy files in a temporary folder the worker owns (their paths are in the answer;
the reader deletes them). {"op": "stop", "target": n} ends a generation at its next token: a reader
thread takes requests while the main thread works, so a stop is seen at once.

ops: ping; attention (run, checkpoint, text); predict (run, checkpoint, text); generate (run, checkpoint,
prompt, options; a seq2seq or instruct run answers the prompt as its source); lens (run, checkpoint, text,
k); ablate (run, checkpoint, text, heads); neighbours (run, checkpoint, token_id, k); export (run, out);
forget (run).
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
from pathlib import Path

from engine.core.errors import UserError

MAX_MODELS = 4


class Worker:
    def __init__(self, out=sys.stdout):
        self.out = out
        self.write_lock = threading.Lock()
        self.requests: queue.Queue = queue.Queue()
        self.stops: set[int] = set()
        self.models: dict[tuple[str, str], tuple] = {}
        self.objectives: dict[str, str] = {}
        """Each run's objective, read from its run.toml with its first model."""
        self.tmp = Path(tempfile.mkdtemp(prefix="attention-studio-infer-"))

    # ----- the two threads ----------------------------------------------------------------------
    def read(self, lines) -> None:
        """Reader thread: queue requests; stops are recorded at once. End of input ends the worker."""
        for line in lines:
            try:
                req = json.loads(line)
            except ValueError:
                self.send({"id": None, "type": "error", "message": f"not a JSON request: {line[:80]!r}"})
                continue
            if req.get("op") == "stop":
                self.stops.add(req.get("target"))
            else:
                self.requests.put(req)
        self.requests.put(None)

    def serve(self) -> None:
        while (req := self.requests.get()) is not None:
            rid = req.get("id")
            try:
                result = getattr(self, f"op_{req.get('op')}", self.op_unknown)(req)
                self.send({"id": rid, "type": "done", "result": result})
            except UserError as e:
                self.send({"id": rid, "type": "error", "message": str(e)})
            except MemoryError as e:  # torch.OutOfMemoryError is one too
                self.send({"id": rid, "type": "error", "kind": "oom", "message": (
                    f"the model ran out of memory ({str(e).splitlines()[0][:200] if str(e) else 'no details'}): "
                    f"try a shorter text or fewer new tokens; the worker's memory was freed")})
                self.models.clear()
            except Exception as e:  # noqa: BLE001 - a bug or a broken file: said in words, the worker lives on
                self.send({"id": rid, "type": "error", "message": f"{type(e).__name__}: {e}"})
            finally:
                self.stops.discard(rid)

    def send(self, message: dict) -> None:
        with self.write_lock:
            self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
            self.out.flush()

    # ----- models -------------------------------------------------------------------------------
    def model(self, req: dict):
        from engine.model.load import load_for_inference

        key = (req["run"], req.get("checkpoint") or "")
        if key not in self.models:
            self.send({"id": req["id"], "type": "progress", "stage": "load", "message": "loading the checkpoint"})
            self.models[key] = load_for_inference(Path(req["run"]), req.get("checkpoint"))
            self.objectives.pop(req["run"], None)  # a run trained again may have a new config
            while len(self.models) > MAX_MODELS:
                self.models.pop(next(iter(self.models)))
        return self.models[key]

    def objective(self, run: str) -> str:
        from engine.infer.respond import run_objective

        if run not in self.objectives:
            self.objectives[run] = run_objective(run)
        return self.objectives[run]

    # ----- operations ---------------------------------------------------------------------------
    def op_ping(self, req: dict) -> dict:
        return {"pid": os.getpid()}

    def op_unknown(self, req: dict) -> None:
        raise UserError(f"unknown request {req.get('op')!r}")

    def op_forget(self, req: dict) -> None:
        for key in [k for k in self.models if k[0] == req["run"]]:
            del self.models[key]
        self.objectives.pop(req["run"], None)

    def op_attention(self, req: dict) -> dict:
        import numpy as np

        from engine.probes.attention import attention_maps

        model, tokenizer, _ = self.model(req)
        self.send({"id": req["id"], "type": "progress", "stage": "attention", "message": "computing attention"})
        hold_here("attention")
        if model.config.arch == "t5":  # the source, the target the model writes, and three stacks
            from engine.probes.attention import seq2seq_attention

            stacks, source, target = seq2seq_attention(model, tokenizer, req["text"])
            path = self.tmp / f"attention-{req['id']}.npz"
            np.savez(path, **stacks)
            return {"maps": str(path), "tokens": source, "target": target}
        maps, tokens = attention_maps(model, tokenizer, req["text"])
        path = self.tmp / f"attention-{req['id']}.npy"
        np.save(path, maps)
        return {"maps": str(path), "tokens": tokens}

    def op_predict(self, req: dict) -> dict:
        from engine.infer.predict import classify, fill_mask

        model, tokenizer, _ = self.model(req)
        if model.config.num_labels:
            return {"kind": "classify", "labels": classify(model, tokenizer, req["text"])}
        filled, guesses = fill_mask(model, tokenizer, req["text"])
        return {"kind": "fill", "text": filled, "guesses": [(g.position, g.candidates) for g in guesses]}

    def op_generate(self, req: dict) -> dict:
        from engine.infer.generate import SamplingOptions, banned_ids, beam_search, stream
        from engine.infer.respond import answers, respond, stream_response

        model, tok, _ = self.model(req)
        options = dict(req.get("options") or {})
        beams = options.pop("beams", 1)
        stopped = lambda: req["id"] in self.stops  # noqa: E731
        answering = answers(model, self.objective(req["run"]))  # seq2seq, instruct: the prompt is a source
        if beams > 1 and answering:
            text = respond(model, tok, req["prompt"], SamplingOptions(**options), beams=beams)
            tokens = iter([{"text": text, "prob": None, "alternatives": []}])
        elif beams > 1:
            ids = beam_search(model, tok.encode(req["prompt"]), beams=beams, max_new_tokens=options["max_new_tokens"])
            tokens = ({"text": tok.decode([i]), "prob": None, "alternatives": []} for i in ids)
        else:
            opts = SamplingOptions(**options)
            opts.banned = banned_ids(model, tok)
            made = stream_response(model, tok, req["prompt"], opts, should_stop=stopped) if answering else \
                stream(model, tok.encode(req["prompt"]), opts, should_stop=stopped)
            tokens = ({"text": tok.decode([t.id]), "prob": t.prob,
                       "alternatives": [(tok.decode([i]), p) for i, p in t.alternatives]} for t in made)
        for n, token in enumerate(tokens):
            if stopped():
                break
            self.send({"id": req["id"], "type": "token", **token})
            if n == 0:
                hold_here("generate")
        return {"reason": "stopped" if stopped() else "length"}

    def op_lens(self, req: dict) -> dict:
        from engine.probes.logit_lens import logit_lens

        model, tokenizer, _ = self.model(req)
        lens = logit_lens(model, tokenizer, req["text"], k=int(req.get("k", 5)))
        return {"depths": lens.depths, "tokens": lens.tokens, "top": lens.top_strings,
                "probs": lens.top_probs.round(5).tolist(), "target": lens.target_probs.round(5).tolist()}

    def op_ablate(self, req: dict) -> dict:
        """Every head ranked by what zeroing it alone costs; with `heads`, that set zeroed together."""
        from engine.probes.ablation import ablate, rank_heads

        model, tokenizer, _ = self.model(req)
        heads = [(int(a), int(b)) for a, b in req.get("heads") or []]
        self.send({"id": req["id"], "type": "progress", "stage": "ablate", "message": "zeroing each head in turn"})
        out = {"ranking": rank_heads(model, tokenizer, req["text"]), "tokens": tokenizer.token_strings(
            tokenizer.encode(req["text"])[: model.config.block_size])}
        if heads:
            a = ablate(model, tokenizer, req["text"], heads)
            out.update(heads=a.heads, loss=a.loss, base_loss=a.base_loss, probs=a.probs.tolist(),
                       base_probs=a.base_probs.tolist())
        return out

    def op_neighbours(self, req: dict) -> dict:
        """The tokens whose embeddings are most like that of token id `token_id`, by cosine similarity."""
        import numpy as np

        from engine.probes.embeddings import nearest

        model, tokenizer, _ = self.model(req)
        tid = int(req["token_id"])
        if not 0 <= tid < model.wte.weight.size(0):
            raise UserError(f"token id {tid} is not in this run's vocabulary ({model.wte.weight.size(0)} tokens)")
        ids = tokenizer.ordinary_ids()
        ids = ids[ids < model.wte.weight.size(0)]
        if tid not in set(ids.tolist()):
            ids = np.append(ids, tid)
        vectors = model.wte.weight.detach().float().cpu().numpy()[ids]
        row = int(np.nonzero(ids == tid)[0][0])
        found = nearest(vectors, row, int(req.get("k", 10)))
        return {"neighbours": [(tokenizer.token_strings([int(ids[i])])[0], sim) for i, sim in found]}

    def op_calibrate(self, req: dict) -> dict:
        """A few real training steps of the designed shape timed here (cached): engine/train/calibrate.py."""
        from engine.config import schema as config_mod
        from engine.train.calibrate import cached_measure

        cfg = config_mod.from_dict(req["config"])
        self.send({"id": req["id"], "type": "progress", "stage": "calibrate", "message": "timing a few steps"})
        return cached_measure(cfg, int(req["vocab_size"]), device=req.get("device", "cpu"),
                              cache_dir=req.get("cache_dir") or None, again=bool(req.get("again")))

    def op_export(self, req: dict) -> str:
        from engine.interop.export import export_any
        from engine.model.load import load_for_inference

        model, tokenizer, path = load_for_inference(Path(req["run"]))
        self.send({"id": req["id"], "type": "progress", "stage": "export", "message": f"writing {req['out']}"})
        what = export_any(model, tokenizer, req["out"], dtype=req.get("type", "f16"),
                          labels=getattr(model, "labels", None))
        return f"{path.name} written as {what}"


def hold_here(op: str) -> None:
    """Tests set ENGINE_FAULT_INFER_HOLD=attention|generate to hold the worker there until it is killed,
    and ENGINE_FAULT_INFER_OOM=op to make that operation run out of memory."""
    if os.environ.get("ENGINE_FAULT_INFER_OOM") == op:
        raise MemoryError(f"injected: out of memory in {op}")
    if os.environ.get("ENGINE_FAULT_INFER_HOLD") == op:
        threading.Event().wait()


def main() -> int:
    import shutil

    # the protocol keeps stdout to itself: anything else printed (a library's notice, C code) goes to stderr
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = Worker(out)
    reader = threading.Thread(target=worker.read, args=(sys.stdin,), daemon=True)
    reader.start()
    try:
        worker.serve()
    finally:
        shutil.rmtree(worker.tmp, ignore_errors=True)
    return 0


def cmd_serve(args) -> int:
    return main()
