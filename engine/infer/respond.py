"""A target for a source from a run that learned pairs: an encoder-decoder (seq2seq) writes it after
reading the source; an instruction-tuned decoder (instruct) continues the chat template around it (the
source as a one-turn conversation, or a whole conversation's history) and stops at <eos>. Streaming with
every sampling option, or beam search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from engine.config import schema as config_mod
from engine.data.chat_encode import prompt_ids
from engine.data.chat_template import one_turn
from engine.data.pairs import EOS_NAMES, PAD_NAMES, special_id
from engine.infer.generate import GeneratedToken, SamplingOptions, banned_ids, beam_search, stream
from engine.infer.seq2seq_generate import beam_target, stream_target
from engine.run.folder import RUN_FILE


def run_objective(run_dir: str | Path) -> str:
    """The objective a run was trained for, as its run.toml says (causal when it cannot be read)."""
    try:
        return config_mod.load(Path(run_dir) / RUN_FILE).model.objective
    except Exception:  # a run folder from elsewhere may lack its config: treat it as a plain decoder
        return "causal"


def target_context(run_dir: str | Path, model) -> int:
    """An encoder-decoder's longest target in tokens, as it was trained (model.target_block_size in run.toml,
    0 = block_size); the source's context when the run's config cannot be read."""
    try:
        m = config_mod.load(Path(run_dir) / RUN_FILE).model
    except Exception:  # a run folder from elsewhere may lack its config
        return model.config.block_size
    return m.target_block_size or m.block_size


def source_cut_note(model, tokenizer, source: str) -> str | None:
    """A warning when an encoder-decoder's source is longer than its encoder reads (it is cut to fit), else None."""
    if model.config.arch != "t5":
        return None
    n, keep = len(tokenizer.encode(source)), model.config.block_size - 1
    if n <= keep:
        return None
    return (f"the source is {n} tokens but the encoder reads at most {keep} (model.block_size "
            f"{model.config.block_size}, with its end token): only the first {keep} were kept")


def unknown_note(tokenizer, text: str) -> str | None:
    """A warning naming the characters of `text` the vocabulary lacks (the model reads them as <unk>), else None."""
    unknown = tokenizer.unknown_characters(text)
    if not unknown:
        return None
    shown = ", ".join(repr(c) for c in unknown[:10]) + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
    return f"this model's vocabulary does not know {shown}: it reads them as <unk>, an unknown token"


def answers(model, objective: str) -> bool:
    """Whether the Playground offers a source box for this model: a seq2seq or an instruct run."""
    return model.config.arch == "t5" or objective == "instruct"


def stream_response(model, tokenizer, source: str, opts: SamplingOptions, *, device="cpu",
                    should_stop: Callable[[], bool] | None = None) -> Iterator[GeneratedToken]:
    eos, pad = special_id(tokenizer, EOS_NAMES), special_id(tokenizer, PAD_NAMES)
    opts.banned = opts.banned or banned_ids(model, tokenizer)
    if model.config.arch == "t5":
        yield from stream_target(model, tokenizer.encode(source), opts, start=pad, eos=eos, device=device,
                                 should_stop=should_stop)
        return
    yield from stream_reply(model, tokenizer, one_turn(source), opts, device=device, should_stop=should_stop)


def stream_reply(model, tokenizer, messages: list[dict], opts: SamplingOptions, *, device="cpu",
                 should_stop: Callable[[], bool] | None = None) -> Iterator[GeneratedToken]:
    """An instruct decoder's next assistant turn after `messages`, ended by the end-of-turn token (left out) or
    the context; a conversation longer than the context keeps its end."""
    eos = special_id(tokenizer, EOS_NAMES)
    opts.banned = opts.banned or banned_ids(model, tokenizer)
    prompt = prompt_ids(tokenizer, [messages])[0][-(model.config.block_size - 1):]
    opts.max_new_tokens = min(opts.max_new_tokens, model.config.block_size - len(prompt))
    for token in stream(model, prompt, opts, device=device, should_stop=should_stop):
        if token.id == eos:
            return
        yield token


def respond(model, tokenizer, source: str, opts: SamplingOptions, *, beams: int = 1, device="cpu",
            should_stop: Callable[[], bool] | None = None) -> str:
    """The whole response as text; `should_stop()` true ends it early."""
    eos, pad = special_id(tokenizer, EOS_NAMES), special_id(tokenizer, PAD_NAMES)
    if beams > 1 and model.config.arch == "t5":
        ids = beam_target(model, tokenizer.encode(source), start=pad, eos=eos, beams=beams,
                          max_new_tokens=opts.max_new_tokens, banned=banned_ids(model, tokenizer), device=device,
                          should_stop=should_stop)
    elif beams > 1:
        prompt = prompt_ids(tokenizer, [one_turn(source)])[0]
        ids = beam_search(model, prompt, beams=beams, max_new_tokens=opts.max_new_tokens, device=device,
                          should_stop=should_stop)
        ids = ids[: ids.index(eos)] if eos in ids else ids
    else:
        ids = [t.id for t in stream_response(model, tokenizer, source, opts, device=device, should_stop=should_stop)]
    return tokenizer.decode(ids)
