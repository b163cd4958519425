"""What the inference worker accepts: one declared schema per kind of request, checked on the reader thread
before anything is queued or loaded, so a bad request is answered at once with a sentence naming its field.
Torch-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.core.errors import UserError
from engine.data.chat_template import USER, check_conversation
from engine.infer.sampling_rules import RULES, check_sampling


@dataclass(frozen=True)
class Field:
    kind: str
    """run (an existing run folder), str, int, bool, object, heads, options, messages, id"""
    required: bool = True
    low: int | None = None
    high: int | None = None
    nonempty: bool = False
    choices: tuple[str, ...] = ()


RUN, CHECKPOINT, TEXT = Field("run"), Field("str", required=False, nonempty=True), Field("str", nonempty=True)
MODEL = {"run": RUN, "checkpoint": CHECKPOINT}
STACKS = ("encoder", "decoder", "cross")
"""A seq2seq run's attention stacks, as `attention --stack` names them."""
OPTIONS = tuple(key for key in RULES if key != "stop")
"""Generation settings a request may carry (a stop string is the command line's only)."""

SCHEMA: dict[str, dict[str, Field]] = {
    "ping": {},
    "forget": {"run": Field("str", nonempty=True)},
    "attention": {**MODEL, "text": TEXT, "stack": Field("str", required=False, choices=STACKS)},
    "predict": {**MODEL, "text": TEXT, "question": Field("str", required=False, nonempty=True)},
    "generate": {**MODEL, "prompt": Field("str"), "options": Field("options", required=False)},
    "chat": {**MODEL, "messages": Field("messages"), "options": Field("options", required=False)},
    "lens": {**MODEL, "text": TEXT, "k": Field("int", required=False, low=1, high=100)},
    "ablate": {**MODEL, "text": TEXT, "heads": Field("heads", required=False)},
    "neighbours": {**MODEL, "token_id": Field("int", low=0), "k": Field("int", required=False, low=1, high=1000)},
    "fourier": {"run": RUN},
    "calibrate": {"config": Field("object"), "vocab_size": Field("int", low=1, high=10_000_000),
                  "device": Field("str", required=False, nonempty=True),
                  "cache_dir": Field("str", required=False, nonempty=True), "again": Field("bool", required=False)},
    "export": {"run": RUN, "out": Field("str", nonempty=True),
               "type": Field("str", required=False, choices=("f32", "f16", "q8_0"))},
    "stop": {"target": Field("id")},
}
"""Each kind of request (its "op") and its fields besides "id" and "op"; an optional field may be null."""


def request_id(req: dict):
    """The request's id when it is one the answers can carry (a whole number or a string), else None."""
    rid = req.get("id")
    return rid if _whole(rid) or isinstance(rid, str) else None


def check_request(req) -> dict:
    """The request with its optional null fields left out; UserError, naming the field, when it is not one
    the worker can do."""
    if not isinstance(req, dict):
        raise UserError(f"a request is a JSON object like {{\"id\": 1, \"op\": \"ping\"}}, not {_kind(req)}")
    op = req.get("op")
    if not isinstance(op, str) or op not in SCHEMA:
        said = "has no op field" if op is None else f"asks for {op!r}, which the worker does not do"
        raise UserError(f"the request {said}: its op is one of {', '.join(SCHEMA)}")
    if op != "stop" and request_id(req) is None:
        raise UserError(f"the {op} request needs an id field: a whole number or a string (its answers carry it)")
    fields = SCHEMA[op]
    for key in req:
        if key not in fields and key not in ("id", "op"):
            raise UserError(f"the {op} request has no field {key!r}; its fields are: "
                            f"{', '.join(fields) or 'none besides id and op'}")
    out = {key: req[key] for key in ("id", "op") if key in req}
    for key, field in fields.items():
        value = req.get(key)
        if value is None:
            if field.required:
                raise UserError(f"the {op} request needs a {key} field: {_what(field)}")
            continue
        if not _fits(field, value):
            raise UserError(f"{key} must be {_what(field)}")
        if isinstance(value, str) and not _encodable(value):
            raise UserError(f"{key} holds a lone surrogate (an escape from \\ud800 to \\udfff), which is not text")
        if field.kind == "options":
            for name in value:
                if name not in OPTIONS:
                    raise UserError(f"options has no setting {name!r}; the settings are: {', '.join(OPTIONS)}")
            check_sampling(value)
        if field.kind == "messages":
            _check_messages(value)
        if field.kind == "run":
            _check_run(Path(value))
        out[key] = value
    return out


def _check_messages(messages: list) -> None:
    """A conversation the chat template takes, ending with the user's message the reply answers."""
    check_conversation(messages, training=False, where="messages")
    if not all(_encodable(m["content"]) for m in messages):
        raise UserError("messages hold a lone surrogate (an escape from \\ud800 to \\udfff), which is not text")
    if messages[-1]["role"] != USER:
        raise UserError(f"the last message is the {messages[-1]['role']}'s: a reply answers the user, so the "
                        f"messages end with the user's")


def _check_run(path: Path) -> None:
    if not path.exists():
        raise UserError(f"no run folder at {path}")
    if not path.is_dir():
        raise UserError(f"{path} is not a folder: name a run folder")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits(field: Field, value) -> bool:
    kind = field.kind
    if kind in ("str", "run"):
        filled = bool(value.strip()) if isinstance(value, str) else False
        return isinstance(value, str) and (filled or kind == "str" and not field.nonempty) and \
            (not field.choices or value in field.choices)
    if kind == "int":
        return _whole(value) and (field.low is None or value >= field.low) and \
            (field.high is None or value <= field.high)
    if kind == "heads":
        return isinstance(value, list) and all(
            isinstance(h, list) and len(h) == 2 and all(_whole(i) and i >= 0 for i in h) for h in value)
    if kind == "id":
        return _whole(value) or isinstance(value, str)
    if kind == "messages":
        return isinstance(value, list)
    return isinstance(value, bool if kind == "bool" else dict)  # bool, object, options


def _what(field: Field) -> str:
    if field.kind == "int":
        if field.high is not None:
            return f"a whole number from {field.low} to {field.high}"
        return "a whole number" + (f" >= {field.low}" if field.low is not None else "")
    if field.choices:
        return "one of " + ", ".join(field.choices)
    return {"run": "the path of a run folder", "str": "a string" + (" that is not empty" if field.nonempty else ""),
            "bool": "true or false", "object": "a JSON object", "options": "a JSON object of generation settings",
            "heads": "a list of [layer, head] pairs of whole numbers >= 0",
            "messages": "a list of {\"role\", \"content\"} messages (system, user, assistant)",
            "id": "the id of a request (a whole number or a string)"}[field.kind]


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(type(value), "that")
