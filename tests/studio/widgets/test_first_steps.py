"""The first start's three steps say "keep the demo's" only while the form still holds the demo."""

from studio.widgets.first_steps import KEEP_DEMO, steps_html, steps_line


def test_the_demo_is_offered_only_while_the_form_holds_it():
    assert KEEP_DEMO in steps_html(demo=True) and "<b>demo</b>" in steps_html(demo=True)
    assert KEEP_DEMO not in steps_html(demo=False) and "1. Pick your text on the <b>Corpus</b> page" in steps_html()
    assert KEEP_DEMO not in steps_line()  # the Train page's empty header does not know what the form holds
