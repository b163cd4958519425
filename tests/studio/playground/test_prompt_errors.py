"""The Playground's state line, driven as a user would: an empty sentence for a tagger is said before anything is
sent (in the words the question answerer uses), and an error goes as soon as the text it was about changes or
another run is chosen; what a run found is not an error and stays."""

from PySide6.QtCore import Qt

from tests.studio.fake_runs import write_run
from tests.studio.helpers import go_to, shown_text


def playground_with(qtbot, window, *objectives):
    runs = [write_run(window.store.runs_dir, objective, started=1000.0 + i, objective=objective)
            for i, objective in enumerate(objectives)]
    window.store.refresh()
    go_to(qtbot, window, "Playground")
    return window.playground_page, runs


def press(qtbot, page) -> str:
    qtbot.mouseClick(page.generate_btn, Qt.MouseButton.LeftButton)
    assert page.generate_btn.isEnabled() and not page.left.busy  # nothing was sent
    return shown_text(page.left.state)


def test_an_empty_sentence_for_a_tagger_is_said_before_anything_is_sent(qtbot, window):
    page, (tagger,) = playground_with(qtbot, window, "tag")
    page.left.picker.choose(tagger)
    page.prompt.setPlainText("   ")
    said = press(qtbot, page)
    assert said == "Type a sentence first: the model marks the entities it finds in it."
    assert "not empty" not in said and "color:#b91c1c" in page.left.state.text()


def test_an_error_goes_when_the_text_changes_or_another_run_is_chosen(qtbot, window):
    page, (tagger, reader) = playground_with(qtbot, window, "tag", "span")
    page.left.picker.choose(tagger)
    page.prompt.setPlainText("")
    assert press(qtbot, page).startswith("Type a sentence first")
    qtbot.keyClicks(page.prompt, "Ada")  # the text it was about changed: the error goes
    assert page.left.state.text() == ""

    page.left.picker.choose(reader)
    page.prompt.setPlainText("")
    page.question.setText("Who?")
    assert press(qtbot, page).startswith("Type a context first")
    page.prompt.setPlainText("Ada lives in Paris.")  # refilled
    assert page.left.state.text() == ""
    page.question.setText("")
    assert press(qtbot, page).startswith("Type a question first")
    qtbot.keyClicks(page.question, "Where?")
    assert page.left.state.text() == ""

    page.question.setText("")
    assert press(qtbot, page).startswith("Type a question first")
    page.left.picker.choose(tagger)  # another run: the error was about the one before
    assert page.left.state.text() == ""
