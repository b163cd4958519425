"""The Model page shows what the application state decided for a fine-tune of a finished run."""

from engine.core.text import human_count
from tests.studio.helpers import shown_text


def test_a_fine_tune_shows_the_states_design(qtbot, window_on, trained_run):
    window = window_on
    base = next(p for p in (trained_run / "runs").iterdir() if p.is_dir())
    window._on_finetune(base)
    page = window.model_page
    assert window.stack.currentWidget() is page
    page.form.widget("data", "path").setText(str(trained_run / "c.txt"))  # the corpus it is fine-tuned on
    d = window.store.state.design.current
    assert d.source is not None and d.vocab_from == "source" and d.config.finetune.source == str(base)
    assert not page.form.widget("model", "n_layer").isEnabled() and page.form.widget("model", "n_layer").value() == 2
    assert page.form.widget("tokenizer", "vocab_size").value() == d.vocab, "the one vocabulary, the source's"
    assert f"a vocabulary of {d.vocab:,}" in page.source_note.text()
    assert human_count(d.estimate.params) in page.card.text("params")
    assert page.train_btn.isEnabled() == d.can_train == window.store.state.form.can_train
    assert d.can_train, d.problems
    assert shown_text(page.problems) == ""
