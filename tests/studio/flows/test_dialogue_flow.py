"""Dialogue through the GUI: the demo opened from the Help menu; a file of conversations recognised, previewed as
turns and prepared on the Corpus page (instruct chosen for it), a bad one refused in the engine's sentence; a tiny
instruct run talked with in the Playground's Chat view: a reply streams into the conversation, the history goes with
the next message, and Reset clears it."""

import json

import pytest
from PySide6.QtCore import Qt

from engine.demo import make_demo_corpus
from studio.state.chat import Turn
from tests.studio.helpers import chat_run_in_playground, go_to, opened_help_demo, shown_text, use_corpus

SYSTEM = "You are the assistant of a small shop."


def test_the_help_menu_opens_the_dialogue_demo(qtbot, window):
    opened_help_demo(window, "dialogue demo", "instruct", "bpe", "dialogue.jsonl")
    page, corpus = window.model_page, window.corpus_page
    assert "dialogue demo is ready" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: " conversations. The first 5:" in corpus.preview.toPlainText(), timeout=30000)
    assert "\nUser: " in corpus.preview.toPlainText() and "\nAssistant: " in corpus.preview.toPlainText()
    qtbot.waitUntil(page.train_btn.isEnabled, timeout=30000)
    assert "Chat view" in page.demo_note.text()


def test_the_demo_note_goes_when_another_corpus_is_used(qtbot, window, tmp_path):
    opened_help_demo(window, "dialogue demo", "instruct", "bpe", "dialogue.jsonl")
    qtbot.waitUntil(window.model_page.train_btn.isEnabled, timeout=30000)
    use_corpus(qtbot, window, make_demo_corpus("dialogue", tmp_path, size_bytes=20_000))
    assert window.model_page.demo_note.isHidden() and window.model_page.demo_note.text() == ""


def test_a_file_of_conversations_is_previewed_as_turns_and_prepared_for_instruct(qtbot, window, tmp_path):
    path = make_demo_corpus("dialogue", tmp_path, size_bytes=20_000)
    corpus = window.corpus_page
    corpus.kind.setCurrentText("bpe")
    corpus.vocab_size.setValue(300)
    use_corpus(qtbot, window, path)
    first = json.loads(path.read_text().splitlines()[0])["messages"]
    shown = corpus.preview.toPlainText()
    assert "\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in first) in shown
    assert corpus.progress_label.text().startswith("Ready: ") and " conversations (" in corpus.progress_label.text()
    assert corpus.stats.values["documents"].text().endswith(" conversations")
    assert window.model_page.form.widget("model", "objective").currentText() == "instruct"


def test_a_bad_conversation_is_refused_on_the_corpus_page_in_one_sentence(qtbot, window, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
                    '{"messages": [{"role": "bot", "content": "hi"}]}\n')
    page = window.corpus_page
    page.set_sources([path])
    qtbot.waitUntil(lambda: "line 2" in page.progress_label.text(), timeout=30000)
    said = shown_text(page.progress_label)
    assert "chat.jsonl line 2: message 1: the role 'bot' is not one the chat template knows" in said
    assert "Traceback" not in said and not page.use_btn.isEnabled()


def conversation_text(chat) -> str:
    return chat.conversation.toPlainText()


@pytest.mark.slow  # a tiny run trained for a few seconds, and the inference worker started
def test_a_tiny_instruct_run_is_talked_with_in_the_chat_view(qtbot, window, tmp_path):
    play = chat_run_in_playground(qtbot, window, tmp_path)
    chat, state = play.chat, window.store.state.chat
    assert not chat.isHidden() and play.generate_btn.isHidden() and play.prompt.isHidden()
    assert play.left.output.isHidden() and play.compare.isHidden()
    assert not chat.reset_btn.isEnabled()
    qtbot.keyClicks(chat.system, SYSTEM)
    replies = []
    state.changed.connect(lambda: replies.append(state.reply))
    qtbot.keyClicks(chat.message, "How much is the lamp?")
    qtbot.mouseClick(chat.send_btn, Qt.MouseButton.LeftButton)
    assert chat.message.text() == "" and not chat.send_btn.isEnabled() and chat.stop_btn.isEnabled()
    qtbot.waitUntil(lambda: not state.replying, timeout=60000)
    assert state.error == "", state.error
    answer = state.turns[-1]
    assert [t.role for t in state.turns] == ["user", "assistant"] and answer.content.strip()
    streamed = [r for r in replies if r]  # the reply as it grew, a token at a time
    assert streamed and answer.content.startswith(streamed[0].strip()), (streamed, answer)
    shown = conversation_text(chat)
    assert shown.startswith(f"System: {SYSTEM}") and "You: How much is the lamp?" in shown
    assert f"Assistant: {answer.content}" in shown and "###" not in shown and "<eos>" not in shown

    go_to(qtbot, window, "Runs")  # another page and back: the conversation is still there
    go_to(qtbot, window, "Playground")
    assert state.turns[0] == Turn("user", "How much is the lamp?") and "You: How much" in conversation_text(chat)
    chat.message.setText("And what colour is it?")
    qtbot.keyClick(chat.message, Qt.Key.Key_Return)  # Enter sends too
    qtbot.waitUntil(lambda: not state.replying, timeout=60000)
    assert [t.role for t in state.turns] == ["user", "assistant", "user", "assistant"]
    assert conversation_text(chat).count("You: ") == 2 and chat.reset_btn.isEnabled()
    qtbot.keyClicks(chat.system, " Be brief.")  # the conversation shows the system message the next reply reads
    assert conversation_text(chat).startswith(f"System: {SYSTEM} Be brief.\nYou: How much is the lamp?")

    qtbot.mouseClick(chat.reset_btn, Qt.MouseButton.LeftButton)
    assert state.turns == [] and conversation_text(chat) == "" and not chat.reset_btn.isEnabled()
    assert chat.system.toPlainText() == f"{SYSTEM} Be brief."  # a setting: it stays for the next conversation
    qtbot.mouseClick(chat.send_btn, Qt.MouseButton.LeftButton)  # nothing typed: said, nothing sent
    assert "Type a message first." in chat.status.text() and state.turns == []
