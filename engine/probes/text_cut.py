"""What of a text a probe reads: the attention maps, the logit lens and ablation cut a text to the model's context
(an encoder-decoder's source to one token less, for its end token). The sentence here says so wherever a cut
text is shown, so the first part of a long text is never taken for the whole."""

from __future__ import annotations


def cut_note(model, tokenizer, text: str) -> str | None:
    """A sentence saying how much of `text` the probes read when it is longer than the model's context, else None."""
    if model.config.arch == "t5":
        from engine.infer.respond import source_cut_note  # here, not at the top: the CLI starts without torch

        return source_cut_note(model, tokenizer, text)
    total, context = len(tokenizer.encode(text)), model.config.block_size
    if total <= context:
        return None
    return f"showing the first {context} of {total} tokens: the model's context is {context}"
