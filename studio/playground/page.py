"""The Playground page: prompt | sampling settings | streamed output, with an optional second checkpoint.

A causal model streams a continuation; a seq2seq model (an encoder-decoder) streams its target for the source
typed; a masked LM fills in the [MASK] tokens of the text; a classifier shows the probability of each label for
the text; a tagger marks the entities it finds in it; a question answerer (span) reads the text as a context with a
question on it, and marks the answer in the context or says that the context does not answer. An instruction-tuned
decoder (instruct) is talked with in the Chat view instead (studio/playground/chat_view.py): a system message, the
conversation's turns, a message box; its history stays while the run stays chosen."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.config.schema import PAIR_OBJECTIVES
from studio.inference import prediction_job, started, token_stream
from studio.inference_client import Request
from studio.playground.answer import answer_line, missing_input
from studio.playground.chat_view import ChatView
from studio.playground.output import TokenOutput
from studio.widgets.entity_marks import entities_line
from studio.widgets.run_picker import RunPicker
from studio.widgets.run_texts import context_and_question, default_prompt, run_text, unknown_note


class Column(QWidget):
    """One checkpoint's side: its picker, its output and its state."""

    sig_finished = Signal()

    def __init__(self, store, label: str, parent=None):
        super().__init__(parent)
        self.store = store
        self.picker = RunPicker(store, label, page=f"playground {label}")
        self.output = TokenOutput()
        self.state = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.picker)
        layout.addWidget(self.output, 1)
        layout.addWidget(self.state)
        self.stream: Request | None = None
        self.busy = False
        """Between Generate and this column's end signal (set on the GUI thread, unlike the thread's state)."""
        self.question = ""
        """The question last asked of a question answerer (its answer is marked in the text, the context)."""
        self.failed = False
        """The state line says why the last try failed: it goes when the input it was about changes."""
        self.picker.choice.run_switched.connect(self._on_run_switched)

    def _on_run_switched(self, _run) -> None:
        """Another run is chosen: the output written by the one before goes (a generation under way stops)."""
        if self.stream is not None and self.busy:
            for signal, slot in ((self.stream.sig_token, self.output.add), (self.stream.sig_done, self._on_done),
                                 (self.stream.sig_failed, self._on_failed)):
                signal.disconnect(slot)
            self.stream.stop()
            self.busy = False
            self.sig_finished.emit()
        self.output.start("")
        self.failed = False
        self.state.setText("")

    def forget_error(self) -> None:
        """The prompt (or question) changed: an error said about the one before goes; what a run found stays."""
        if self.failed and not self.busy:
            self.failed = False
            self.state.setText("")

    def objective(self) -> str:
        run = self.picker.run_dir()
        state = self.store.runs.get(run) if run else None
        cfg = state.summary.config if state else None
        return cfg.model.objective if cfg else "causal"

    def generate(self, prompt: str, options: dict, question: str = "") -> None:
        run = self.picker.run_dir()
        self.failed = False
        if run is None:
            self.state.setText("Choose a run with a checkpoint.")
            self.sig_finished.emit()
            return
        answering = self.objective() in PAIR_OBJECTIVES  # the prompt is a source: the target streams after it
        self.output.start(prompt + "\n→ " if answering else prompt)
        if self.objective() not in ("causal", *PAIR_OBJECTIVES):
            self.predict(run, prompt, question)
            return
        self.state.setText("Generating…")
        self.busy = True
        self.stream = token_stream(run, self.picker.checkpoint(), prompt, dict(options), parent=self)
        self.stream.sig_token.connect(self.output.add)
        self.stream.sig_done.connect(self._on_done)
        self.stream.sig_failed.connect(self._on_failed)
        self.stream.start()

    def predict(self, run, text: str, question: str = "") -> None:
        asking = self.objective() == "span"  # the text is the context of the question
        if missing := missing_input(self.objective(), text, question):
            self._on_failed(missing)
            return
        self.state.setText("Predicting…")
        self.busy = True
        self.question = question
        self.job = started(prediction_job(run, self.picker.checkpoint(), text, question if asking else None), self,
                           self._on_predicted, self._on_failed)

    def _on_predicted(self, result: dict) -> None:
        self.busy = False
        self.output.show_prediction(result, self.question)
        self.state.setText("Most likely: " + result["labels"][0][0] if result["kind"] == "classify" else
                           entities_line(result["entities"]) if result["kind"] == "tag" else
                           answer_line(result) if result["kind"] == "span" else
                           f"{len(result['guesses'])} [MASK] filled in")
        self.sig_finished.emit()

    def stop(self) -> None:
        if self.stream is not None:
            self.stream.stop()

    @property
    def running(self) -> bool:
        return self.busy

    def _on_done(self, why: str) -> None:
        self.busy = False
        n = len(self.output.tokens)
        self.state.setText(f"{n} tokens" + (" (stopped)" if why == "stopped" else ""))
        self.sig_finished.emit()

    def _on_failed(self, message: str) -> None:
        self.busy, self.failed = False, True
        self.state.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")
        self.sig_finished.emit()


class PlaygroundPage(QWidget):
    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        self.prompt = QPlainTextEdit()
        self.prompt.setObjectName("prompt")
        self.prompt.setMaximumHeight(80)
        self.default_prompt = ""
        """The prompt last taken from the run's corpus; another run replaces it, unless the user typed their own."""
        self.prompt_note = QLabel("")
        self.prompt_note.setObjectName("prompt_note")
        self.prompt_note.setWordWrap(True)
        self.prompt_note.setStyleSheet("color: #92400e;")
        self.prompt_note.setVisible(False)
        self.question_label = QLabel("<b>Question</b>")
        self.question = QLineEdit()
        self.question.setObjectName("question")
        self.question.setPlaceholderText("A question on the context: the model marks its answer there")
        self.default_question = ""
        """The question last taken from the run's corpus (kept, as the prompt is, once the user types their own)."""
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=0.8)
        self.top_k = QSpinBox(minimum=0, maximum=100_000, value=50)
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.05, value=1.0)
        self.repetition = QDoubleSpinBox(minimum=0.5, maximum=3.0, singleStep=0.05, value=1.0)
        self.max_tokens = QSpinBox(minimum=1, maximum=100_000, value=200)
        self.seed = QSpinBox(minimum=-1, maximum=2**31 - 1, value=-1)
        self.seed.setSpecialValueText("random")
        self.beams = QSpinBox(minimum=1, maximum=16, value=1)
        settings = QGroupBox("Sampling")
        f = QFormLayout(settings)
        for label, w in (("Temperature (0 = greedy)", self.temperature), ("Top-k (0 = off)", self.top_k),
                         ("Top-p", self.top_p), ("Repetition penalty", self.repetition),
                         ("Max new tokens", self.max_tokens), ("Seed", self.seed), ("Beams", self.beams)):
            f.addRow(label, w)
        self.compare = QCheckBox("Compare with a second checkpoint")
        self.generate_btn = QPushButton("Generate")
        self.generate_btn.setObjectName("generate")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setEnabled(False)
        self.left = Column(store, "A")
        self.right = Column(store, "B")
        self.right.setVisible(False)
        self.chat = ChatView(store.state.chat, self.left.picker, self.options)
        self.left.layout().insertWidget(2, self.chat, 1)  # under column A's run picker, in place of its output
        self.chatting = False
        """An instruct run is chosen: the Chat view shows, the prompt, Generate and the output do not."""
        buttons = QHBoxLayout()
        buttons.addWidget(self.compare)
        buttons.addStretch()
        buttons.addWidget(self.generate_btn)
        buttons.addWidget(self.stop_btn)
        side = QVBoxLayout()
        self.prompt_label = QLabel("<b>Prompt</b>")
        side.addWidget(self.prompt_label)
        side.addWidget(self.prompt)
        side.addWidget(self.prompt_note)
        side.addWidget(self.question_label)
        side.addWidget(self.question)
        side.addWidget(settings)
        side.addStretch()
        side_w = QWidget()
        side_w.setLayout(side)
        outputs = QSplitter()
        outputs.addWidget(self.left)
        outputs.addWidget(self.right)
        body = QSplitter()
        body.addWidget(side_w)
        body.addWidget(outputs)
        body.setSizes([320, 900])
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(body, 1)

        self.settings = settings
        self.objective_shown = ""
        self.left.picker.sig_changed.connect(self._follow_objective)
        self.compare.toggled.connect(self.right.setVisible)
        self.prompt.textChanged.connect(self._check_prompt)
        self.question.textChanged.connect(self._check_prompt)
        self.generate_btn.clicked.connect(self.generate)
        self.question.returnPressed.connect(self.generate_btn.click)
        self.stop_btn.clicked.connect(self.stop)
        for column in (self.left, self.right):
            column.sig_finished.connect(self._on_column_finished)
        self._follow_objective()

    def _follow_objective(self) -> None:
        """Sampling is for causal models; others predict, and their prompt says what to type (instruct runs chat)."""
        objective = self.left.objective()
        answering = objective in PAIR_OBJECTIVES
        asking = objective == "span"  # the text is a context, with a question on it
        if answering and self.objective_shown not in PAIR_OBJECTIVES and self.temperature.value() == 0.8:
            self.temperature.setValue(0.0)  # a target is written greedily unless asked otherwise
        self.objective_shown = objective
        self.chatting = objective == "instruct"
        self.chat.follow(self.left.picker.run_dir())  # the same run keeps its conversation, another starts anew
        self._show_chat_or_prompt()
        self.settings.setEnabled(objective == "causal" or answering)
        self.generate_btn.setText({"masked": "Fill in [MASK]", "classify": "Classify", "seq2seq": "Write the target",
                                   "tag": "Find entities", "span": "Find the answer"}.get(objective, "Generate"))
        self.prompt_label.setText("<b>Source</b>" if answering else "<b>Context</b>" if asking else "<b>Prompt</b>")
        self.prompt.setMaximumHeight(160 if asking else 80)
        hints = {"masked": "Type a text with [MASK] where the model should fill in a token",
                 "classify": "Type a text to classify", "causal": "A prompt to continue",
                 "seq2seq": "A source: the model writes its target (a sentence to translate, a text to sum up)",
                 "tag": "A sentence: the model marks the entities it finds (people, places, organisations…)",
                 "span": "A context: a paragraph the answer to the question below is looked for in"}
        self.prompt.setPlaceholderText(hints.get(objective, ""))
        typed = self.prompt.toPlainText()
        text = run_text(self.store, self.left.picker.run_dir())
        context, question = context_and_question(text) if asking else (default_prompt(text, objective), "")
        if not typed.strip() or typed == self.default_prompt:  # the user's own prompt stays
            self.default_prompt = context
            self.prompt.setPlainText(context)
        if not self.question.text().strip() or self.question.text() == self.default_question:  # so does a question
            self.default_question = question
            self.question.setText(question)
        self._check_prompt()

    def _show_chat_or_prompt(self) -> None:
        if self.chatting:
            self.compare.setChecked(False)  # one conversation, with column A's run
        for widget in (self.prompt_label, self.prompt, self.compare, self.generate_btn, self.stop_btn,
                       self.left.output, self.left.state):
            widget.setVisible(not self.chatting)
        for widget in (self.question_label, self.question):
            widget.setVisible(self.objective_shown == "span")
        self.chat.setVisible(self.chatting)
        self.beams.setEnabled(not self.chatting)  # a reply streams a token at a time

    def _check_prompt(self) -> None:
        asked = self.question.text() if self.objective_shown == "span" else ""
        note = unknown_note(self.left.picker.run_dir(), self.prompt.toPlainText() + asked)
        self.prompt_note.setText(note)
        self.prompt_note.setVisible(bool(note) and not self.chatting)
        for column in (self.left, self.right):
            column.forget_error()

    def options(self) -> dict:
        return {"max_new_tokens": self.max_tokens.value(), "temperature": self.temperature.value(),
                "top_k": self.top_k.value(), "top_p": self.top_p.value(),
                "repetition_penalty": self.repetition.value(),
                "seed": None if self.seed.value() < 0 else self.seed.value(), "beams": self.beams.value()}

    def columns(self) -> list[Column]:
        return [self.left, self.right] if self.compare.isChecked() else [self.left]

    def generate(self) -> None:
        options = self.options()
        if options["seed"] is None:  # both sides get the same random seed, so only the checkpoint differs
            import random

            options["seed"] = random.randrange(2**31)
        self.generate_btn.setEnabled(False)
        self.stop_btn.setEnabled(True)
        for column in self.columns():
            column.generate(self.prompt.toPlainText(), options, self.question.text())

    def stop(self) -> None:
        for column in self.columns():
            column.stop()

    def _on_column_finished(self) -> None:
        if not any(c.running for c in self.columns()):
            self.generate_btn.setEnabled(True)
            self.stop_btn.setEnabled(False)
