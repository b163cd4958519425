"""The worker's chat request: an instruct run's next assistant turn after a conversation (system, user and
assistant messages in the chat template, engine/data/chat_template.py), streamed a token at a time and ended at
the end of its turn, as `engine chat` answers. The messages were checked when the request was read
(engine/infer/requests.py), so a bad one is refused in a sentence before anything loads; the Worker of
engine/worker/serve.py takes the op from ChatRequests.

    {"id": 7, "op": "chat", "run": RUN, "checkpoint": null, "messages": [{"role": "user", "content": "Hi"}],
     "options": {"max_new_tokens": 60, "temperature": 0}}
    -> token lines as `generate` sends them, then {"reason": "end" | "length" | "context" | "stopped", "reply":
       the whole reply as text, "cut": a sentence when the conversation is longer than the model reads, else null}
       ("length": max_new_tokens were written; "context": the model's context filled up before them)
"""

from __future__ import annotations

from pathlib import Path

from engine.core.errors import UserError
from engine.infer.sampling_rules import default_temperature


class ChatRequests:
    """op_chat, for the Worker: it uses the worker's model(), objective(), send() and stops."""

    def op_chat(self, req: dict) -> dict:
        from engine.infer.generate import SamplingOptions  # here, not at the top: the CLI starts without torch
        from engine.infer.respond import stream_reply

        objective = self.objective(req["run"])
        if objective != "instruct":
            raise UserError(f"chat talks with an instruct run (a decoder that learnt the assistant's turns); "
                            f"{Path(req['run']).name} is a {objective} run: generate or predict with it instead")
        options = dict(req.get("options") or {})  # checked against sampling_rules.py before it was queued
        if options.pop("beams", 1) > 1:
            raise UserError("beams must be 1 in a chat: a reply streams a token at a time (greedy or sampled)")
        options.setdefault("temperature", default_temperature(True))  # greedy, as `chat` defaults it
        model, tok, _ = self.model(req)
        cut = context_note(model, tok, req["messages"])
        if cut:
            self.send({"id": req["id"], "type": "progress", "stage": "chat", "message": f"warning: {cut}"})
        opts = SamplingOptions(**options)
        asked = opts.max_new_tokens  # stream_reply lowers it to the room the context leaves
        stopped = lambda: req["id"] in self.stops  # noqa: E731
        ids = []
        for token in stream_reply(model, tok, req["messages"], opts, should_stop=stopped):
            if stopped():
                break
            ids.append(token.id)
            self.send({"id": req["id"], "type": "token", "text": tok.decode([token.id]), "prob": token.prob,
                       "alternatives": [(tok.decode([i]), p) for i, p in token.alternatives]})
        limit = "context" if opts.max_new_tokens < asked else "length"
        reason = "stopped" if stopped() else limit if len(ids) >= opts.max_new_tokens else "end"
        return {"reason": reason, "reply": tok.decode(ids).strip(), "cut": cut}


def context_note(model, tokenizer, messages: list[dict]) -> str | None:
    """A sentence when the conversation, in the template, is longer than the model's context (it reads the end),
    else None."""
    from engine.data.chat_encode import prompt_ids  # here, not at the top: the CLI starts without torch

    block = model.config.block_size
    n = len(prompt_ids(tokenizer, [messages])[0])
    if n < block:
        return None
    return (f"the conversation is {n} tokens, longer than this model's context of {block} (model.block_size): "
            f"it reads the last {block - 1}")
