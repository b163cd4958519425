"""The inference worker: `python -m engine serve`, one long-lived process that keeps torch, loaded models
and their memory out of the studio.

Requests come as JSON lines on stdin: {"id": n, "op": ..., ...}. Each gets answers on stdout, one JSON
line each: {"id": n, "type": "progress" | "token" | "done" | "error", ...}; "done" and "error" end it.
Large arrays travel as .npy files in a temporary folder the worker owns (their paths are in the answer;
the reader deletes them). {"op": "stop", "target": n} ends a generation at its next token: a reader
thread takes requests while the main thread works, so a stop is seen at once (beam search included).

ops: ping; attention (run, checkpoint, text; stack: a seq2seq run's encoder, decoder or cross attention alone);
predict (run, checkpoint, text); chat (run, checkpoint, messages, options: engine/worker/chat.py); generate (run,
checkpoint, prompt, options; a seq2seq or instruct run answers the prompt as its source); lens (run, checkpoint, text,
k); ablate (run, checkpoint, text, heads); neighbours (run, checkpoint, token_id, k); fourier (run: a
modular-addition run's Fourier view over its checkpoints, as `fourier --json` prints it); calibrate (config,
vocab_size, device, cache_dir, again); export (run, out, type); forget (run); stop (target: answered at once
with {"id": its id or null, "type": "done", "result": {"target": n, "stopping": whether n was running}}).

Every line gets an answer or is a stop: the reader checks each request against its op's schema
(engine/infer/requests.py; generation settings by engine/infer/sampling_rules.py, the rule `generate` uses,
at most MAX_NEW_TOKENS new tokens) before it is queued, and refuses a bad one at once with a sentence naming
its field, as it does a line that is not a JSON object or is over MAX_LINE bytes. What fails while a request
is done (a missing file, a folder that is a file) is said in a sentence too; the worker goes on serving.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import tempfile
import threading
import traceback
from pathlib import Path

from engine.config import schema as config_mod
from engine.core.commands import Command
from engine.core.errors import UserError
from engine.infer.requests import check_request, request_id
from engine.infer.sampling_rules import default_temperature
from engine.probes.fourier_command import as_json
from engine.probes.text_cut import cut_note
from engine.worker.chat import ChatRequests
from engine.worker.errors import in_words

MAX_MODELS = 4
MAX_LINE = 8 * 2**20
"""The longest request line read, in bytes; a longer one is answered with a sentence and skipped."""


class Worker(ChatRequests):
    def __init__(self, out=sys.stdout):
        self.out = out
        self.write_lock = threading.Lock()
        self.requests: queue.Queue = queue.Queue()
        self.stops: set[int | str] = set()
        self.live: set[int | str] = set()
        """The ids of the requests queued or being done: a stop for any other is let go."""
        self.models: dict[tuple[str, str], tuple] = {}
        self.objectives: dict[str, str] = {}
        """Each run's objective, read from its run.toml with its first model."""
        self.tmp = Path(tempfile.mkdtemp(prefix="attention-studio-infer-"))

    # ----- the two threads ----------------------------------------------------------------------
    def read(self, lines) -> None:
        """Reader thread: check each line (requests.py) and queue it, or answer it at once with a sentence;
        stops are recorded at once. Nothing a line holds ends this thread; end of input ends the worker."""
        for line in lines:
            try:
                self.take(line)
            except Exception:  # noqa: BLE001 - a bug here must not leave the studio waiting forever
                traceback.print_exc()
                self.send({"id": None, "type": "error", "message": "the worker could not read a request line; "
                                                                  "it goes on reading the next ones"})
        self.requests.put(None)

    def take(self, line: bytes | str | None) -> None:
        if line is None:
            return self.refuse(None, f"a request line is longer than {MAX_LINE // 2**20} MiB: it was not read")
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
        except UnicodeDecodeError:
            return self.refuse(None, "a request line is not UTF-8 text: it was not read")
        if not text.strip():
            return None  # blank lines between requests are allowed
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            return self.refuse(None, f"not a JSON request: {text.strip()[:80]!r}")
        rid = request_id(req) if isinstance(req, dict) else None
        try:
            req = check_request(req)
        except UserError as e:
            return self.refuse(rid, str(e))
        if req["op"] != "stop":
            self.live.add(req["id"])
            self.requests.put(req)
        else:
            running = req["target"] in self.live
            if running:
                self.stops.add(req["target"])
            self.send({"id": request_id(req), "type": "done", "result": {"target": req["target"], "stopping": running}})
        return None

    def refuse(self, rid, message: str) -> None:
        self.send({"id": rid, "type": "error", "message": message})

    def serve(self) -> None:
        while (req := self.requests.get()) is not None:
            rid = req["id"]
            try:
                result = getattr(self, f"op_{req['op']}")(req)
                self.send({"id": rid, "type": "done", "result": result})
            except UserError as e:
                self.send({"id": rid, "type": "error", "message": str(e)})
            except MemoryError as e:  # torch.OutOfMemoryError is one too
                self.send({"id": rid, "type": "error", "kind": "oom", "message": (
                    f"the model ran out of memory ({str(e).splitlines()[0][:200] if str(e) else 'no details'}): "
                    f"try a shorter text or fewer new tokens; the worker's memory was freed")})
                self.models.clear()
            except Exception as e:  # noqa: BLE001 - a broken file or a bug: said in words, the worker lives on
                if not isinstance(e, OSError | ValueError | KeyError):
                    traceback.print_exc()  # a bug: its details go to stderr, which the studio forwards
                self.send({"id": rid, "type": "error", "message": in_words(e, req["op"])})
            finally:
                self.live.discard(rid)
                self.stops.discard(rid)

    def send(self, message: dict) -> None:
        line = json.dumps(message, ensure_ascii=False)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a request's \ud800: escaped, the line stays JSON
            line = json.dumps(message)
        with self.write_lock:
            self.out.write(line + "\n")
            self.out.flush()

    # ----- models -------------------------------------------------------------------------------
    def model(self, req: dict):
        from engine.model.load import load_for_inference  # here, not at the top: the CLI starts without torch

        key = (req["run"], req.get("checkpoint") or "")
        if key not in self.models:
            self.send({"id": req["id"], "type": "progress", "stage": "load", "message": "loading the checkpoint"})
            self.models[key] = load_for_inference(Path(req["run"]), req.get("checkpoint"), warn=lambda text: self.send(
                {"id": req["id"], "type": "progress", "stage": "load", "message": f"warning: {text}"}))
            self.objectives.pop(req["run"], None)  # a run trained again may have a new config
            while len(self.models) > MAX_MODELS:
                self.models.pop(next(iter(self.models)))
        return self.models[key]

    def objective(self, run: str) -> str:
        from engine.infer.respond import run_objective  # here, not at the top: the CLI starts without torch

        if run not in self.objectives:
            self.objectives[run] = run_objective(run)
        return self.objectives[run]

    # ----- operations ---------------------------------------------------------------------------
    def op_ping(self, req: dict) -> dict:
        return {"pid": os.getpid()}

    def op_forget(self, req: dict) -> None:
        for key in [k for k in self.models if k[0] == req["run"]]:
            del self.models[key]
        self.objectives.pop(req["run"], None)

    def op_attention(self, req: dict) -> dict:
        import numpy as np  # here, not at the top: the CLI starts without numpy or torch

        from engine.probes.attention import attention_maps

        model, tokenizer, _ = self.model(req)
        cut = cut_note(model, tokenizer, req["text"])  # the page says what of the text it shows
        self.send({"id": req["id"], "type": "progress", "stage": "attention", "message": "computing attention"})
        hold_here("attention")
        self.tmp.mkdir(parents=True, exist_ok=True)  # made again if a cleaner took it
        if req.get("stack") and model.config.arch != "t5":
            raise UserError("stack chooses among an encoder-decoder's (seq2seq) attention stacks; this run has one "
                            "stack of self-attention: leave stack out")
        if model.config.arch == "t5":  # the source, the target the model writes, and three stacks
            from engine.infer.respond import target_context  # here, not at the top: the CLI starts without torch
            from engine.probes.attention import seq2seq_attention, seq2seq_stack

            most = target_context(req["run"], model)
            if req.get("stack"):  # one stack, as `attention --stack` writes it
                maps, queries, keys = seq2seq_stack(model, tokenizer, req["text"], req["stack"], max_len=most)
                path = self.tmp / f"attention-{req['id']}.npy"
                np.save(path, maps)
                return {"maps": str(path), "tokens": queries, "keys": keys, "stack": req["stack"], "cut": cut}
            stacks, source, target = seq2seq_attention(model, tokenizer, req["text"], max_len=most)
            path = self.tmp / f"attention-{req['id']}.npz"
            np.savez(path, **stacks)
            return {"maps": str(path), "tokens": source, "target": target, "cut": cut}
        maps, tokens = attention_maps(model, tokenizer, req["text"])
        path = self.tmp / f"attention-{req['id']}.npy"
        np.save(path, maps)
        return {"maps": str(path), "tokens": tokens, "cut": cut}

    def op_predict(self, req: dict) -> dict:
        from engine.infer.predict import classify, fill_mask  # here, not at the top: the CLI starts without torch
        from engine.infer.span_answer import answer_question, is_span_model, run_stride
        from engine.infer.tagging import is_tagger, tag_text

        model, tokenizer, _ = self.model(req)
        if is_span_model(model):  # the text is the context; the answer with its character offsets and score
            if "question" not in req:
                raise UserError("this run answers questions: the predict request needs a question on its text")
            found = answer_question(model, tokenizer, req["text"], req["question"], doc_stride=run_stride(req["run"]))
            return {"kind": "span", **vars(found)}
        if is_tagger(model):  # each entity with its type, character offsets and score
            return {"kind": "tag", "entities": [vars(e) for e in tag_text(model, tokenizer, req["text"]).entities]}
        if model.config.num_labels:
            return {"kind": "classify", "labels": classify(model, tokenizer, req["text"])}
        filled, guesses = fill_mask(model, tokenizer, req["text"])
        return {"kind": "fill", "text": filled, "guesses": [(g.position, g.candidates) for g in guesses]}

    def op_generate(self, req: dict) -> dict:
        from engine.infer.generate import SamplingOptions, banned_ids, beam_search, stream  # keeps torch out of --help
        from engine.infer.respond import answers, respond, stream_response, target_context

        model, tok, _ = self.model(req)
        answering = answers(model, self.objective(req["run"]))  # seq2seq, instruct: the prompt is a source
        options = dict(req.get("options") or {})  # checked against sampling_rules.py before it was queued
        options.setdefault("temperature", default_temperature(answering))  # as `generate` defaults it
        beams = options.pop("beams", 1)
        opts = SamplingOptions(**options)
        if model.config.arch == "t5":  # a target is at most as long as those the model learnt
            opts.max_new_tokens = min(opts.max_new_tokens, target_context(req["run"], model))
        if beams > tok.vocab_size:
            raise UserError(f"beams {beams} is more than the vocabulary ({tok.vocab_size} tokens)")
        stopped = lambda: req["id"] in self.stops  # noqa: E731
        if beams > 1 and answering:
            text = respond(model, tok, req["prompt"], opts, beams=beams, should_stop=stopped)
            tokens = iter([{"text": text, "prob": None, "alternatives": []}])
        elif beams > 1:
            ids = beam_search(model, tok.encode(req["prompt"]), beams=beams, max_new_tokens=opts.max_new_tokens,
                              should_stop=stopped)
            tokens = ({"text": tok.decode([i]), "prob": None, "alternatives": []} for i in ids)
        else:
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
        from engine.probes.logit_lens import logit_lens  # here, not at the top: the CLI starts without torch

        model, tokenizer, _ = self.model(req)
        lens = logit_lens(model, tokenizer, req["text"], k=min(req.get("k", 5), tokenizer.vocab_size))
        return {"depths": lens.depths, "tokens": lens.tokens, "top": lens.top_strings,
                "probs": lens.top_probs.round(5).tolist(), "target": lens.target_probs.round(5).tolist(),
                "cut": cut_note(model, tokenizer, req["text"])}

    def op_ablate(self, req: dict) -> dict:
        """Every head ranked by what zeroing it alone costs; with `heads`, that set zeroed together."""
        from engine.probes.ablation import ablate, rank_heads  # here, not at the top: the CLI starts without torch

        model, tokenizer, _ = self.model(req)
        heads = [(int(a), int(b)) for a, b in req.get("heads") or []]
        self.send({"id": req["id"], "type": "progress", "stage": "ablate", "message": "zeroing each head in turn"})
        out = {"ranking": rank_heads(model, tokenizer, req["text"]), "tokens": tokenizer.token_strings(
            tokenizer.encode(req["text"])[: model.config.block_size]), "cut": cut_note(model, tokenizer, req["text"])}
        if heads:
            a = ablate(model, tokenizer, req["text"], heads)
            out.update(heads=a.heads, loss=a.loss, base_loss=a.base_loss, probs=a.probs.tolist(),
                       base_probs=a.base_probs.tolist())
        return out

    def op_neighbours(self, req: dict) -> dict:
        """The tokens whose embeddings are most like that of token id `token_id`, by cosine similarity."""
        import numpy as np  # here, not at the top: the CLI starts without numpy or torch

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

    def op_fourier(self, req: dict) -> dict:
        """Every checkpoint's embedding norm per frequency and progress measures (engine/probes/grokking.py)."""
        from engine.probes.fourier import KEY_SHARE  # here, not at the top: the CLI starts without torch
        from engine.probes.grokking import fourier_views

        def say(text: str) -> None:
            self.send({"id": req["id"], "type": "progress", "stage": "fourier", "message": text})

        say("reading every checkpoint")
        table, keys, views = fourier_views(req["run"], warn=lambda text: say(f"warning: {text}"))
        return as_json(table, keys, KEY_SHARE, views)

    def op_calibrate(self, req: dict) -> dict:
        """A few real training steps of the designed shape timed here (cached): engine/train/calibrate.py."""
        from engine.train.calibrate import cached_measure  # here, not at the top: the CLI starts without torch

        cfg = config_mod.from_dict(req["config"])
        self.send({"id": req["id"], "type": "progress", "stage": "calibrate", "message": "timing a few steps"})
        return cached_measure(cfg, int(req["vocab_size"]), device=req.get("device", "cpu"),
                              cache_dir=req.get("cache_dir") or None, again=bool(req.get("again")))

    def op_export(self, req: dict) -> str:
        from engine.data.chat_template import chat_template_of
        from engine.interop.export import export_any  # here, not at the top: the CLI starts without torch
        from engine.model.load import load_for_inference

        model, tokenizer, path = load_for_inference(Path(req["run"]))
        self.send({"id": req["id"], "type": "progress", "stage": "export", "message": f"writing {req['out']}"})
        what = export_any(model, tokenizer, req["out"], dtype=req.get("type", "f16"),
                          labels=getattr(model, "labels", None),
                          chat_template=chat_template_of(self.objective(req["run"])))
        return f"{path.name} written as {what}"


def request_lines(stream, limit: int = MAX_LINE):
    """Each line of a binary stream, or None for a line over `limit` bytes (the rest of it is read and
    dropped, never held whole)."""
    while line := stream.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(limit + 1)) and not rest.endswith(b"\n"):
            pass
        yield None


def hold_here(op: str) -> None:
    """Tests set ENGINE_FAULT_INFER_HOLD=attention|generate to hold the worker there until it is killed,
    and ENGINE_FAULT_INFER_OOM=op to make that operation run out of memory."""
    if os.environ.get("ENGINE_FAULT_INFER_OOM") == op:
        raise MemoryError(f"injected: out of memory in {op}")
    if os.environ.get("ENGINE_FAULT_INFER_HOLD") == op:
        threading.Event().wait()


def main() -> int:
    # the protocol keeps stdout to itself: anything else printed (a library's notice, C code) goes to stderr
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    worker = Worker(out)
    reader = threading.Thread(target=worker.read, args=(request_lines(sys.stdin.buffer),), daemon=True)
    reader.start()
    try:
        worker.serve()
    finally:
        shutil.rmtree(worker.tmp, ignore_errors=True)
    return 0


def cmd_serve(args) -> int:
    return main()


COMMANDS = [
    Command("serve", cmd_serve, "the inference worker: JSON-line requests on stdin, answers on stdout (the studio's)"),
]
