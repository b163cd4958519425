"""The chat template: its text for a conversation, the instruct prompt as its one-turn case, the Jinja string
rendering the very same text, and the loss mask on the assistant's tokens, checked by hand."""

import jinja2
import pytest

from engine.core.errors import UserError
from engine.data.chat_encode import encode_conversations, held_out_turns, prompt_ids
from engine.data.chat_template import TEMPLATE, chat_template_of, check_conversation, prompt_text
from engine.data.pairs import IGNORE, PROMPT_TEMPLATE, seq2seq_specials
from engine.data.tokenizer import train_tokenizer

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"}, {"role": "user", "content": "ok?"},
        {"role": "assistant", "content": "no"}]
TEXT = ("### System:\nBe brief.\n### Prompt:\nhi\n### Response:\nyo<eos>"
        "### Prompt:\nok?\n### Response:\nno<eos>")


def char_tokenizer():
    tok = train_tokenizer("char", lambda: [TEMPLATE.render(CHAT)])
    seq2seq_specials(tok)  # [PAD] and <eos>, as an instruct run adds them
    return tok


def test_a_conversation_renders_with_role_markers_and_an_end_of_turn_token():
    assert TEMPLATE.render(CHAT) == TEXT
    assert TEMPLATE.render(CHAT[:4], add_generation_prompt=True) == TEXT[: TEXT.rindex("no<eos>")]


def test_the_instruct_prompt_is_the_templates_one_turn_conversation():
    assert prompt_text("Sum up: x") == "### Prompt:\nSum up: x\n### Response:\n"
    assert PROMPT_TEMPLATE.format(source="Sum up: x") == prompt_text("Sum up: x")  # the old name, the same text


def jinja_render(messages, add_generation_prompt):
    """As transformers renders a chat template: jinja2 with raise_exception among the globals."""
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(TEMPLATE.jinja()).render(messages=messages, add_generation_prompt=add_generation_prompt)


@pytest.mark.parametrize("messages", [CHAT, CHAT[1:3], CHAT[:2], [{"role": "user", "content": "it's \"quoted\" \\"}]])
@pytest.mark.parametrize("add_generation_prompt", [False, True])
def test_the_jinja_template_renders_exactly_the_engines_text(messages, add_generation_prompt):
    assert jinja_render(messages, add_generation_prompt) == TEMPLATE.render(
        messages, add_generation_prompt=add_generation_prompt)


def test_the_jinja_template_refuses_a_role_it_does_not_know():
    with pytest.raises(jinja2.exceptions.TemplateError, match="knows the roles system, user, assistant"):
        jinja_render([{"role": "tool", "content": "x"}], False)


def test_only_an_instruct_run_carries_the_template():
    assert chat_template_of("instruct") == TEMPLATE.jinja()
    assert chat_template_of("causal") is None


def test_the_loss_mask_covers_the_assistants_content_and_end_only():
    tok = char_tokenizer()
    (encoded,) = encode_conversations(tok, [CHAT])
    assert tok.decode(encoded.ids) == TEXT  # tokenized whole, one token a character, <eos> one token
    learnt = [tok.decode([i]) for i, keep in zip(encoded.ids, encoded.learnt) if keep]
    assert learnt == ["y", "o", "<eos>", "n", "o", "<eos>"]
    # by hand: "yo" starts after the system turn, the user turn and the response marker
    first = len("### System:\nBe brief.\n### Prompt:\nhi\n### Response:\n")
    second = first + len("yo") + 1 + len("### Prompt:\nok?\n### Response:\n")
    assert [i for i, keep in enumerate(encoded.learnt) if keep] == [first, first + 1, first + 2,
                                                                    second, second + 1, second + 2]
    idx, targets = encoded.row()
    assert idx == encoded.ids[:-1] and len(targets) == len(idx)
    assert [i for i, t in enumerate(targets) if t != IGNORE] == [first - 1, first, first + 1,
                                                                second - 1, second, second + 1]
    assert targets[first - 1] == tok.token_id("y") and targets[second + 1] == tok.token_id("<eos>")


def test_a_byte_level_bpe_tokenizes_the_prompt_as_the_start_of_the_conversation():
    tok = train_tokenizer("bpe", lambda: [TEMPLATE.render(CHAT)] * 20, vocab_size=300)
    seq2seq_specials(tok)
    (encoded,) = encode_conversations(tok, [CHAT])
    turns = held_out_turns(tok, [CHAT])
    assert [(t.reference, t.number, t.asked) for t in turns] == [("yo", 1, "hi"), ("no", 2, "ok?")]
    for turn in turns:  # what generation reads is what training read before the answer
        assert encoded.ids[: len(turn.prompt)] == turn.prompt
        assert tok.decode(encoded.ids[len(turn.prompt):]).startswith(turn.reference + "<eos>")
    assert prompt_ids(tok, [CHAT[:2]]) == [turns[0].prompt]


@pytest.mark.parametrize("messages, training, message", [
    ([{"role": "user", "content": "hi"}], True, "has no assistant turn"),
    ([{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}], True,
     "message 1: the role 'tool' is not one the chat template knows"),
    ([{"role": "user", "content": "  "}, {"role": "assistant", "content": "y"}], True, "the user message is empty"),
    ([{"role": "user", "content": "a"}, {"role": "system", "content": "b"}], False,
     "message 2 is a system message: only the first message may be one"),
    ([{"role": "user", "content": "a<eos>"}], False, "holds <eos>, the end-of-turn token"),
    ([{"role": "user", "content": 3}], False, "content is int, not text"),
])
def test_a_conversation_the_template_cannot_hold_is_refused_in_a_sentence(messages, training, message):
    with pytest.raises(UserError, match=message):
        check_conversation(messages, training=training, where="chat.jsonl line 4")
    check_conversation(CHAT, training=True)
