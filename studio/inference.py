"""Model work for the Inspect, Playground and Runs pages, done by the inference worker process.

Each function returns a Request that is started with .start() and answers through its Qt signals:
sig_done(result), sig_failed(words), and sig_token for a generation. The studio itself never imports
torch; if the worker dies, the request fails in words and the next one starts a new worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.inference_client import Request, client


def _maps(result: dict) -> tuple[np.ndarray | dict, list[str] | dict, str | None]:
    """A decoder's or an encoder's (L, H, T, T) maps and tokens; an encoder-decoder's three stacks and
    {"source", "target"} tokens; and the worker's sentence when the text was cut to the model's context."""
    path = Path(result["maps"])
    cut = result.get("cut")
    try:
        if path.suffix == ".npz":
            with np.load(path) as stacks:
                return ({k: stacks[k] for k in stacks.files}, {"source": result["tokens"], "target": result["target"]},
                        cut)
        return np.load(path), result["tokens"], cut
    finally:
        path.unlink(missing_ok=True)


def started(request: Request, parent, on_done, on_failed) -> Request:
    """`request` started, owned by `parent` (a widget), answering on_done(result) or on_failed(words)."""
    request.setParent(parent)
    request.sig_done.connect(on_done)
    request.sig_failed.connect(on_failed)
    return request.start()


def attention_job(run_dir: Path, checkpoint: str | None, text: str) -> Request:
    """Its result is (maps (L, H, T, T) float32, tokens, cut), or for an encoder-decoder, which translates the
    text first, ({"encoder", "decoder", "cross"}, {"source", "target"}, cut); cut: the sentence saying the text
    was cut to the model's context, or None."""
    return client().request("attention", _maps, run=str(run_dir), checkpoint=checkpoint, text=text)


def prediction_job(run_dir: Path, checkpoint: str | None, text: str, question: str | None = None) -> Request:
    """Its result is {"kind": "classify", "labels": [(label, p)]},
    {"kind": "fill", "text": filled text, "guesses": [(position, [(token, p)])]}, a tagger's
    {"kind": "tag", "entities": [{kind, text, start, end, score}]} (character offsets in `text`), or a question
    answerer's answer to `question` in the context `text`: {"kind": "span", text, start, end, score, no_answer,
    windows} (text "" and offsets 0 when the context does not answer it)."""
    asked = {"question": question} if question is not None else {}
    return client().request("predict", run=str(run_dir), checkpoint=checkpoint, text=text, **asked)


def export_job(run_dir: Path, out_dir: Path, gguf_type: str | None = None) -> Request:
    """Writes the run's best checkpoint (adapters merged) as a Hugging Face folder, or a GGUF file when `out`
    ends in .gguf (of `gguf_type`: f32, f16 or q8_0; f16 when None); its result says what was written."""
    return client().request("export", run=str(run_dir), out=str(out_dir), **({"type": gguf_type} if gguf_type else {}))


def token_stream(run_dir: Path, checkpoint: str | None, prompt: str, options: dict, parent=None) -> Request:
    """Tokens as they come (sig_token: {text, prob, alternatives}); sig_done says why it ended: length | stopped.
    stop() ends it at the next token."""
    return client().request("generate", lambda r: r["reason"], parent, run=str(run_dir), checkpoint=checkpoint,
                            prompt=prompt, options=options)


def chat_stream(run_dir: Path, checkpoint: str | None, messages: list[dict], options: dict, parent=None) -> Request:
    """An instruct run's reply to `messages` ({role, content}: system, user, assistant, the last the user's) as its
    tokens come (sig_token, as token_stream's); sig_done gives {"reason": end | length | stopped, "reply": the whole
    reply, "cut": a sentence when the conversation is longer than the model reads, else None}. stop() ends it."""
    return client().request("chat", None, parent, run=str(run_dir), checkpoint=checkpoint, messages=messages,
                            options=options)


def lens_job(run_dir: Path, checkpoint: str | None, text: str, k: int = 5) -> Request:
    """Its result is {"depths", "tokens", "top" [depth][position][k] strings, "probs" alike, "target"
    [depth][position]: the probability each depth gives the token that comes next, "cut": a sentence or None}."""
    return client().request("lens", run=str(run_dir), checkpoint=checkpoint, text=text, k=k)


def ablation_job(run_dir: Path, checkpoint: str | None, text: str, heads: list[tuple[int, int]]) -> Request:
    """Its result is {"ranking": [(layer, head, loss rise)], "tokens"} and, for a chosen set of heads,
    {"loss", "base_loss", "probs", "base_probs"} with those heads zeroed together; "cut" as for lens_job."""
    return client().request("ablate", run=str(run_dir), checkpoint=checkpoint, text=text, heads=heads)


def neighbours_job(run_dir: Path, checkpoint: str | None, token_id: int, k: int = 10) -> Request:
    """Its result is {"neighbours": [(token, cosine similarity)]}, most similar first."""
    return client().request("neighbours", run=str(run_dir), checkpoint=checkpoint, token_id=token_id, k=k)


def fourier_job(run_dir: Path) -> Request:
    """A modular-addition run's Fourier view, as `engine fourier RUN --json` prints it: {"p", "keys" (the key
    frequencies of its last checkpoint), "share", "checkpoints": [{"checkpoint", "step", "norms" (frequency 0..p // 2),
    "own_keys", "restricted_loss", "excluded_loss", "val_loss", ...}]}; any other run fails in the engine's sentence."""
    return client().request("fourier", run=str(run_dir))


def calibration_job(config: dict, vocab_size: int, cache_dir: Path, device: str = "cpu",
                    again: bool = False) -> Request:
    """Times a few real training steps of the config's shape in the worker (cached in cache_dir; `again`: anew,
    replacing what is cached); its result is {"step_s", "forward_s", "token_s"}."""
    return client().request("calibrate", config=config, vocab_size=vocab_size, device=device,
                            cache_dir=str(cache_dir), again=again)
