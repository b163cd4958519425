"""The chat template: how a conversation of system, user and assistant turns becomes the one text a decoder
reads, written once here and given two ways, as text the engine renders and as the Jinja string
transformers' `apply_chat_template` and llama.cpp render, so an exported model's users build the same prompt:

    ### System:
    {system}
    ### Prompt:
    {user}
    ### Response:
    {assistant}<eos>### Prompt:
    ...

Each turn is its role's marker, its content and its role's end; an assistant turn ends with the end-of-turn
token <eos>, which is where generation stops. An instruction and its response is the one-turn conversation
(user, assistant): the instruct objective's prompt template is this template's first turn. Training reads
the loss on the assistant's content and its <eos> alone (`segments` marks them); everything else is context.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.errors import UserError
from engine.data.tokenizer import EOS as END_OF_TURN

SYSTEM, USER, ASSISTANT = "system", "user", "assistant"
ROLES = (SYSTEM, USER, ASSISTANT)


@dataclass(frozen=True)
class ChatTemplate:
    starts: dict[str, str]
    """Each role's marker, written before its content."""
    ends: dict[str, str]
    """What closes each role's turn; the assistant's holds the end-of-turn token."""

    def turn(self, role: str, content: str) -> str:
        return self.starts[role] + content + self.ends[role]

    def render(self, messages: list[dict], *, add_generation_prompt: bool = False) -> str:
        """The conversation as text; with add_generation_prompt, followed by the marker of the assistant's
        next turn (what a model continues to answer)."""
        text = "".join(self.turn(m["role"], m["content"]) for m in messages)
        return text + (self.starts[ASSISTANT] if add_generation_prompt else "")

    def segments(self, messages: list[dict]) -> list[tuple[str, bool]]:
        """The rendered text in pieces, each with whether training learns it: an assistant's content and its end
        are learnt, every marker and every other turn is context."""
        out = []
        for m in messages:
            learnt = m["role"] == ASSISTANT
            out += [(self.starts[m["role"]], False), (m["content"] + self.ends[m["role"]], learnt)]
        return out

    def jinja(self) -> str:
        """The same template as a Jinja string (transformers' `chat_template`, GGUF's `tokenizer.chat_template`):
        one line, every piece a quoted literal, so no whitespace rule of a Jinja engine can change it."""
        branches = "".join(
            f"{{% {'if' if i == 0 else 'elif'} message['role'] == {_quoted(role)} %}}"
            f"{{{{ {_quoted(self.starts[role])} + message['content'] + {_quoted(self.ends[role])} }}}}"
            for i, role in enumerate(ROLES))
        unknown = _quoted(f"the chat template knows the roles {', '.join(ROLES)}")
        return (f"{{% for message in messages %}}{branches}{{% else %}}{{{{ raise_exception({unknown}) }}}}"
                f"{{% endif %}}{{% endfor %}}"
                f"{{% if add_generation_prompt %}}{{{{ {_quoted(self.starts[ASSISTANT])} }}}}{{% endif %}}")


def _quoted(text: str) -> str:
    """`text` as a single-quoted Jinja string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


TEMPLATE = ChatTemplate(
    starts={SYSTEM: "### System:\n", USER: "### Prompt:\n", ASSISTANT: "### Response:\n"},
    ends={SYSTEM: "\n", USER: "\n", ASSISTANT: END_OF_TURN},
)


def one_turn(source: str) -> list[dict]:
    """An instruction as the conversation it starts."""
    return [{"role": USER, "content": source}]


def prompt_text(source: str) -> str:
    """What an instruct model reads before its response to `source`."""
    return TEMPLATE.render(one_turn(source), add_generation_prompt=True)


def chat_template_of(objective: str) -> str | None:
    """The Jinja chat template an exported run carries: an instruct run's (it was trained in it), else none."""
    return TEMPLATE.jinja() if objective == "instruct" else None


def message_problem(message, *, known=ROLES) -> str | None:
    """What keeps one message out of the template, in words, or None: a role the template lacks, a content that
    is not text, is empty, or holds the end-of-turn token (it would end the turn early)."""
    if not isinstance(message, dict):
        return f"a message is an object with a role and a content, not {type(message).__name__}"
    role, content = message.get("role"), message.get("content")
    if role not in known:
        return f"the role {role!r} is not one the chat template knows ({', '.join(known)})"
    if not isinstance(content, str):
        return f"the {role} message's content is {type(content).__name__}, not text"
    if not content.strip():
        return f"the {role} message is empty"
    if END_OF_TURN in content:
        return f"the {role} message holds {END_OF_TURN}, the end-of-turn token"
    return None


def conversation_problem(messages: list[dict], *, training: bool) -> str | None:
    """What keeps a conversation out of the template, or None: a bad message, a system message after the first
    turn; in training data, no assistant turn to learn."""
    if not isinstance(messages, list) or not messages:
        return "the conversation has no messages"
    for i, m in enumerate(messages):
        if (problem := message_problem(m)) is not None:
            return f"message {i + 1}: {problem}"
        if m["role"] == SYSTEM and i > 0:
            return f"message {i + 1} is a system message: only the first message may be one"
    if training and not any(m["role"] == ASSISTANT for m in messages):
        return "the conversation has no assistant turn, so nothing in it is learnt"
    return None


def check_conversation(messages: list[dict], *, training: bool, where: str = "the conversation") -> None:
    if (problem := conversation_problem(messages, training=training)) is not None:
        raise UserError(f"{where}: {problem}")
