"""The Playground's conversation, without Qt: what is sent (the system message, then every turn), a reply streamed
into the last turn, a message refused in a sentence before anything is sent, a failed reply giving the message
back, Reset, and the history kept while the run stays chosen."""

from pathlib import Path

import pytest

from engine.core.errors import UserError
from studio.state.chat import NO_REPLY, ChatState, Turn

RUN = Path("/runs/shop")


def talking(system: str = "") -> ChatState:
    state = ChatState()
    state.follow(RUN)
    state.set_system(system)
    return state


def test_a_reply_streams_into_the_last_turn_and_the_history_is_sent_each_time():
    state = talking("You are the assistant of a small shop.")
    seen = []
    state.changed.connect(lambda: seen.append(state.reply))
    assert state.ask("  How much is the lamp? ") == [
        {"role": "system", "content": "You are the assistant of a small shop."},
        {"role": "user", "content": "How much is the lamp?"}]
    for piece in ("The lamp", " costs", " 12 euros."):
        state.add(piece)
    assert state.replying and state.reply == "The lamp costs 12 euros."
    state.finish({"reason": "end", "reply": "The lamp costs 12 euros.", "cut": None})
    assert not state.replying and state.note == "" and seen[:4] == ["", "The lamp", "The lamp costs",
                                                                    "The lamp costs 12 euros."]
    assert state.ask("And what colour is it?")[1:] == [
        {"role": "user", "content": "How much is the lamp?"},
        {"role": "assistant", "content": "The lamp costs 12 euros."},
        {"role": "user", "content": "And what colour is it?"}]


def test_without_a_system_message_the_conversation_opens_with_the_user():
    state = talking("   ")
    assert state.ask("Hi") == [{"role": "user", "content": "Hi"}]


@pytest.mark.parametrize("run, system, text, words", [
    (None, "", "Hi", "Choose an instruct run with a checkpoint first."),
    (RUN, "", "   ", "Type a message first."),
    (RUN, "", "a <eos> b", "Your message cannot be sent: the user message holds <eos>, the end-of-turn token."),
    (RUN, "be <eos> brief", "Hi", "The system message cannot be sent: the system message holds <eos>"),
])
def test_a_message_that_cannot_be_sent_is_said_in_a_sentence(run, system, text, words):
    state = ChatState()
    state.follow(run)
    state.set_system(system)
    assert words in state.problem(text)
    with pytest.raises(UserError, match="^" + words.replace("(", r"\(")[:30]):
        state.ask(text)
    assert state.turns == [] and not state.replying


def test_one_message_at_a_time():
    state = talking()
    state.ask("Hi")
    assert state.problem("Hello?") == "Wait for the reply (or stop it) before sending another message."


def test_a_stopped_or_cut_reply_says_so_and_an_empty_one_keeps_its_turn():
    state = talking()
    state.ask("Hi")
    state.finish({"reason": "stopped", "reply": "", "cut": None})
    assert state.turns[-1] == Turn("assistant", NO_REPLY) and state.note == "The reply was stopped."
    state.ask("Hi again")
    state.add("Hel")
    state.finish({"reason": "length", "reply": "Hello", "cut": "the conversation is 300 tokens, longer than this "
                                                               "model's context of 256"})
    assert state.turns[-1] == Turn("assistant", "Hello")
    assert state.note == ("The reply reached the limit of new tokens before the end of its turn. The conversation is "
                          "300 tokens, longer than this model's context of 256.")


def test_a_failed_reply_gives_the_message_back_and_the_history_stays_as_it_was():
    state = talking()
    state.ask("Hi")
    state.finish({"reason": "end", "reply": "Hello.", "cut": None})
    state.ask("How much is the lamp?")
    state.add("The")
    assert state.fail("The inference worker was killed or crashed.") == "How much is the lamp?"
    assert state.turns == [Turn("user", "Hi"), Turn("assistant", "Hello.")] and not state.replying
    assert state.error == "The inference worker was killed or crashed."
    state.ask("How much is the lamp?")
    assert state.error == ""


def test_reset_clears_the_history_and_keeps_the_system_message():
    state = talking("Be brief.")
    state.ask("Hi")
    state.finish({"reason": "end", "reply": "Hello.", "cut": None})
    state.reset()
    assert state.turns == [] and state.system == "Be brief." and state.ask("Hi")[0]["role"] == "system"


def test_a_system_message_edited_mid_conversation_is_shown_at_once_as_the_next_reply_reads_it():
    state = talking("Be brief.")
    state.ask("Hi")
    state.finish({"reason": "end", "reply": "Hello.", "cut": None})
    seen = []
    state.changed.connect(lambda: seen.append(state.system))
    state.set_system("Be brief.")  # the same text: nothing to show again
    state.set_system("Answer from the catalogue.")
    assert seen == ["Answer from the catalogue."]
    assert state.ask("And the lamp?")[0] == {"role": "system", "content": "Answer from the catalogue."}


def test_the_history_stays_while_the_run_stays_chosen():
    state = talking()
    state.ask("Hi")
    state.finish({"reason": "end", "reply": "Hello.", "cut": None})
    state.follow(str(RUN))  # the same run again (another checkpoint of it): the conversation goes on
    assert len(state.turns) == 2
    state.follow(Path("/runs/other"))
    assert state.turns == [] and state.run == Path("/runs/other")
    state.ask("Hi")
    state.follow(None)  # no run: a reply under way is dropped too
    assert not state.replying and state.turns == []
