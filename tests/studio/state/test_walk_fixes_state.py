"""The Qt-free parts of the walk-through's fixes (tests/studio/flows/test_walk_fixes.py drives them through the window):
the demo is the demo field for field, a classifier's head counts the labels its corpus holds, a checkpoint's loss
is the one measured at its step."""

from engine.config import schema as C
from engine.demo import demo_path
from studio.state.checkpoint_loss import checkpoint_label, loss_at
from studio.state.demo import DEMO_CORPUS, demo_config, holds_demo
from studio.state.label_head import LabelHead


def test_the_demo_is_its_name_corpus_shape_and_length(tmp_path):
    demo = demo_config(demo_path(DEMO_CORPUS, tmp_path), tmp_path / "runs")
    assert holds_demo("demo", demo, tmp_path)
    assert not holds_demo("mine", demo, tmp_path)
    other = demo.copy()
    other.data.path = str(tmp_path / "mine.txt")
    assert not holds_demo("demo", other, tmp_path)
    other = demo.copy()
    other.model.n_embd *= 2
    assert not holds_demo("demo", other, tmp_path)
    other = demo.copy()
    other.train.lr /= 2  # a setting that leaves what the demo is
    assert holds_demo("demo", other, tmp_path)


def test_the_label_head_counts_every_label_of_the_corpus_or_says_it_cannot_yet(tmp_path):
    corpus = tmp_path / "labels.csv"
    corpus.write_text("text,label\n" + "".join(f"row {i},{i % 3 * 5}\n" for i in range(12)))
    cfg = C.RunConfig()
    cfg.model.objective, cfg.data.path = "classify", str(corpus)
    head = LabelHead()
    counted, note = head.counted(cfg, tmp_path / "cache")
    assert counted.task.labels == ["0", "5", "10"] and note == "" and cfg.task.labels == []
    cfg.task.labels = ["0", "5"]  # the form names them: nothing to read
    assert head.counted(cfg, tmp_path / "cache") == (cfg, "")
    cfg.task.labels, cfg.data.path = [], str(tmp_path / "gone.csv")
    counted, note = head.counted(cfg, tmp_path / "cache")
    assert counted is cfg and note.startswith("the label head is not counted yet") and "gone.csv" in note
    cfg.data.path = ""
    assert "none is chosen" in head.counted(cfg, tmp_path / "cache")[1]


def test_a_checkpoint_has_the_loss_measured_at_its_step_or_none():
    steps, values = [10, 20, 20], [2.5, 2.1, 2.0]  # evaluated twice at 20 (after a rollback): the later one
    assert loss_at(steps, values, 20) == 2.0 and loss_at(steps, values, 27) is None
    assert checkpoint_label("step-000020", 2.0, best=True) == "step-000020  (val 2.000)  best"
    assert checkpoint_label("step-000027", None, best=False) == "step-000027  (no evaluation at this step)"


def test_a_run_takes_its_corpus_name_unless_the_user_named_it():
    """Two runs on one's own text were both called "demo": a name no user chose follows the corpus."""
    from studio.state.demo import name_for_corpus

    assert name_for_corpus("demo", "/c/python-stdlib.txt", "/home/me/My Letters.txt") == "My-Letters"
    assert name_for_corpus("my-model", "", "/data/novels") == "novels"  # a folder
    assert name_for_corpus("My-Letters", "/home/me/My Letters.txt", "/data/poems.md") == "poems"  # named by this
    assert name_for_corpus("letters-v2", "/home/me/My Letters.txt", "/data/poems.md") == "letters-v2"  # the user's
    assert name_for_corpus("demo", "/c/a.txt", "demo:qa") == "qa"
    assert name_for_corpus("demo", "/c/a.txt", "") == "demo"  # no corpus: nothing to name it after
