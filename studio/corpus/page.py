"""The Corpus page: sources (files, folders, drag and drop, demo corpora) | preview | statistics;
cleaning and split options; tokenizer training with progress and cancel; a sentence shown as tokens."""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.config import schema as C
from engine.core.text import human_bytes
from engine.data.files import TABLE_SUFFIXES, peek_columns
from engine.demo import DEMOS, make_demo_corpus
from engine.plan import preflight
from engine.run.humanlog import counted
from studio.corpus.pairs_view import PairsView
from studio.corpus.preview import read_preview
from studio.jobs import Job
from studio.model.fields import field_docs
from studio.model.form_words import CORPUS_LABELS, in_form_words
from studio.widgets.cards import Card, token_html

DOCUMENT_CHOICES = {"paragraph": "a paragraph (blank-line separated)", "line": "a line (names, sentences…)",
                    "file": "a whole file"}
NOT_PREPARED = "Press Prepare first: it trains the tokenizer and measures the corpus the Model page needs."


class CorpusPage(QWidget):
    sig_corpus_chosen = Signal(object, object, object)
    """(a RunConfig whose data and tokenizer sections describe the corpus, vocabulary size, token count)."""
    sig_changed = Signal()
    """The user changed the source or an option (the window remembers the page for next time)."""

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        self.jobs: dict[str, Job] = {}
        """The running job of each kind (preview, prepare); a new one replaces only its own kind."""
        self.tokenizer = None
        self.tokens: int | None = None
        self.corpus = store.state.corpus
        """The application state's corpus: its source and what was derived from it (shown by _show_derived)."""
        self.setAcceptDrops(True)

        self.path = QLineEdit()
        self.path.setObjectName("corpus_path")
        self.path.setPlaceholderText("Drop a file or folder here, or choose one")
        add_file = QPushButton("Add file…")
        add_folder = QPushButton("Add folder…")
        self.demo = QComboBox()
        self.demo.setObjectName("demo_corpus")
        self.demo.addItem("Demo corpus…")
        for name, text in DEMOS.items():
            self.demo.addItem(f"{name}: {text}", name)
        sources = QHBoxLayout()
        sources.addWidget(self.path, 1)
        sources.addWidget(add_file)
        sources.addWidget(add_folder)
        sources.addWidget(self.demo)

        self.column = QComboBox()
        self.column.setObjectName("text_column")
        self.column.setEditable(True)
        self.column.addItem("text")
        self.documents = QComboBox()
        self.documents.setObjectName("documents")
        for key, text in DOCUMENT_CHOICES.items():
            self.documents.addItem(text, key)
        self.documents.setToolTip(field_docs(C.DataConfig)["documents"])
        self.suggestion = QLabel()
        self.suggestion.setObjectName("lines_suggestion")
        self.suggestion.setWordWrap(True)
        self.suggestion.setStyleSheet("color: #92400e;")
        self.suggestion.setVisible(False)
        self.suggest_btn = QPushButton("Read one document per line")
        self.suggest_btn.setObjectName("use_lines")
        self.suggest_btn.setVisible(False)
        self.val_fraction = QDoubleSpinBox(decimals=3, minimum=0.001, maximum=0.5, singleStep=0.01, value=0.1)
        self.normalize = QCheckBox("Unicode NFC")
        self.whitespace = QCheckBox("Collapse whitespace")
        self.dedupe = QCheckBox("Drop exact duplicates")
        self.min_chars = QSpinBox(maximum=1_000_000)
        options = QGroupBox("Reading and cleaning")
        f = QFormLayout(options)
        f.addRow("Text column", self.column)
        f.addRow("One document is", self.documents)
        f.addRow(self.suggestion)
        f.addRow(self.suggest_btn)
        f.addRow("Validation fraction", self.val_fraction)
        f.addRow(self.normalize)
        f.addRow(self.whitespace)
        f.addRow(self.dedupe)
        f.addRow("Minimum characters", self.min_chars)

        self.kind = QComboBox()
        self.kind.setObjectName("tokenizer_kind")
        self.kind.addItems(list(C.TOKENIZER_KINDS))
        self.vocab_size = QSpinBox(minimum=300, maximum=1_000_000, value=8192, singleStep=1024)
        self.tokenizer_file = QLineEdit()
        self.tokenizer_file.setPlaceholderText("tokenizer.json (for kind = file)")
        self.prepare_btn = QPushButton("Prepare: train tokenizer and encode")
        self.prepare_btn.setObjectName("prepare_button")
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress_label = QLabel("")
        self.progress_label.setObjectName("progress_label")
        self.progress_label.setWordWrap(True)
        self.progress_label.setTextFormat(Qt.TextFormat.RichText)
        tok = QGroupBox("Tokenizer")
        t = QFormLayout(tok)
        t.addRow("Kind", self.kind)
        t.addRow("Vocabulary size", self.vocab_size)
        load_tok = QPushButton("Load tokenizer.json…")
        row = QHBoxLayout()
        row.addWidget(self.tokenizer_file)
        row.addWidget(load_tok)
        t.addRow(row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.prepare_btn)
        buttons.addWidget(self.cancel_btn)
        t.addRow(buttons)
        t.addRow(self.progress)
        t.addRow(self.progress_label)

        self.stats = Card("Statistics", [("documents", "Documents"), ("characters", "Characters"),
                                         ("bytes", "Size"), ("tokens", "Tokens"), ("split", "Train / validation"),
                                         ("vocab", "Vocabulary"), ("removed", "Cleaning removed")])
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setObjectName("preview")
        self.pairs_view = PairsView()
        self.vocab_list = QListWidget()
        self.vocab_list.setObjectName("vocab_list")
        self.sentence = QLineEdit()
        self.sentence.setPlaceholderText("Type a sentence to see it as tokens")
        self.own_sentence = ""
        """The sentence last taken from the corpus itself; the user's own typing is kept instead."""
        self.sentence.setObjectName("sample_sentence")
        self.tokens_view = QLabel()
        self.tokens_view.setObjectName("tokens_view")
        self.tokens_view.setWordWrap(True)
        self.use_btn = QPushButton("Use this corpus on the Model page →")
        self.use_btn.setObjectName("use_corpus")
        self.use_btn.setEnabled(False)
        self.use_note = QLabel(NOT_PREPARED)
        self.use_note.setObjectName("use_note")
        self.use_note.setWordWrap(True)
        self.use_note.setStyleSheet("color: #666;")

        left = QVBoxLayout()
        left.addWidget(options)
        left.addWidget(tok)
        left.addWidget(self.stats)
        left.addStretch()
        left_w = QWidget()
        left_w.setLayout(left)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Preview</b> (first documents)"))
        right.addWidget(self.preview, 3)
        right.addWidget(self.pairs_view)
        right.addWidget(QLabel("<b>Vocabulary</b>"))
        right.addWidget(self.vocab_list, 1)
        right.addWidget(QLabel("<b>A sentence as tokens</b>"))
        right.addWidget(self.sentence)
        right.addWidget(self.tokens_view)
        right.addWidget(self.use_note)
        right.addWidget(self.use_btn)
        right_w = QWidget()
        right_w.setLayout(right)
        split = QSplitter()
        split.addWidget(left_w)
        split.addWidget(right_w)
        split.setSizes([420, 700])
        layout = QVBoxLayout(self)
        layout.addLayout(sources)
        layout.addWidget(split)

        self.path.returnPressed.connect(self._on_path_typed)
        add_file.clicked.connect(self._on_add_file)
        add_folder.clicked.connect(self._on_add_folder)
        load_tok.clicked.connect(self._on_load_tokenizer)
        self.demo.activated.connect(self._on_demo_chosen)
        self.prepare_btn.clicked.connect(self.prepare)
        self.cancel_btn.clicked.connect(self.cancel)
        self.sentence.textChanged.connect(self._show_tokens)
        self.use_btn.clicked.connect(self._on_use)
        self.kind.currentTextChanged.connect(lambda k: self.vocab_size.setEnabled(k in ("bpe", "wordpiece", "unigram")))
        self.vocab_size.setEnabled(False)
        self.documents.activated.connect(self._on_reading_changed)
        self.column.activated.connect(self._on_reading_changed)
        self.suggest_btn.clicked.connect(lambda: self.set_documents("line"))
        for w in (self.normalize, self.whitespace, self.dedupe):
            w.toggled.connect(self._forget_prepared)
        for w in (self.val_fraction, self.min_chars, self.vocab_size):
            w.valueChanged.connect(self._forget_prepared)
        self.kind.currentTextChanged.connect(self._forget_prepared)
        self.corpus.changed.connect(self._show_derived)

    # ----- choosing sources --------------------------------------------------------------------------
    def set_sources(self, paths: list[Path]) -> None:
        """One file or folder is used as is; several files become a folder of links in the workspace."""
        paths = [Path(p) for p in paths]
        if len(paths) == 1:
            source = paths[0]
        else:
            source = self.store.corpora_dir / f"set-{len(list(self.store.corpora_dir.glob('set-*'))) + 1}"
            source.mkdir(parents=True, exist_ok=True)
            for p in paths:
                link = source / p.name
                if not link.exists():
                    os.symlink(p.resolve(), link)
        self.path.setText(str(source))
        columns = peek_columns(source) if source.is_file() and source.suffix.lower() in TABLE_SUFFIXES else []
        self.column.clear()
        self.column.addItems(columns or ["text"])
        if "text" in columns:
            self.column.setCurrentText("text")
        self.column.setEnabled(bool(columns) or source.is_dir())
        self._on_reading_changed()

    def set_documents(self, kind: str) -> None:
        """Read the source's text files one paragraph, line or file per document."""
        self.documents.setCurrentIndex(max(0, self.documents.findData(kind)))
        self._on_reading_changed()

    def _on_reading_changed(self, *_) -> None:
        """What a document is changed (source, column, paragraph or line): nothing measured before still holds."""
        if "prepare" in self.jobs and self.jobs["prepare"].running:  # it prepares the corpus before: never shown
            self.jobs["prepare"].cancel()
            self._idle("")
        self.corpus.choose(self.path.text().strip())
        self._clear_measurements()
        self.load_preview()

    def _forget_prepared(self, *_) -> None:
        """An option of cleaning or tokenizing changed: the prepared corpus no longer matches the page."""
        if self.tokenizer is not None:
            self._clear_measurements()  # (which says the page changed)
        else:
            self.sig_changed.emit()

    def _clear_measurements(self) -> None:
        """Statistics, vocabulary and tokens belong to one corpus: never show them beside another."""
        self.tokenizer, self.tokens = None, None
        self.corpus.forget_prepared()
        for key in self.stats.values:
            self.stats.set(key, "–")
        self.vocab_list.clear()
        self._show_tokens()
        self.use_btn.setEnabled(False)
        self.use_note.setText(NOT_PREPARED)
        self.use_note.setVisible(True)
        self.suggestion.setVisible(False)
        self.suggest_btn.setVisible(False)
        self.sig_changed.emit()

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.set_sources(paths)
            event.acceptProposedAction()

    def _on_path_typed(self) -> None:
        """A path typed or pasted into the field, then Enter: read it like a chosen file."""
        text = self.path.text().strip().strip("'\"")
        if text:
            self.set_sources([Path(text).expanduser()])

    def _on_add_file(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add corpus files", str(Path.home()),
                                                "Text and tables (*.txt *.md *.jsonl *.json *.csv *.parquet *.py);;"
                                                "All files (*)")
        if files:
            self.set_sources([Path(f) for f in files])

    def _on_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a corpus folder", str(Path.home()))
        if folder:
            self.set_sources([Path(folder)])

    def _on_load_tokenizer(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a tokenizer", str(Path.home()), "tokenizer.json (*.json)")
        if path:
            self.tokenizer_file.setText(path)
            self.kind.setCurrentText("file")

    def _on_demo_chosen(self, index: int) -> None:
        name = self.demo.itemData(index)
        self.demo.setCurrentIndex(0)
        if name:
            self.use_demo(name)

    def use_demo(self, name: str) -> Path:
        path = make_demo_corpus(name, self.store.corpora_dir, size_bytes=400_000)
        self.set_sources([path])
        return path

    # ----- the data config this page describes ------------------------------------------------------
    def data_config(self) -> C.RunConfig:
        cfg = C.RunConfig()
        d, t = cfg.data, cfg.tokenizer
        d.path = self.path.text().strip()
        d.text_column = self.column.currentText().strip() or "text"
        d.documents = self.documents.currentData() or "paragraph"
        d.val_fraction = self.val_fraction.value()
        d.normalize = "NFC" if self.normalize.isChecked() else ""
        d.collapse_whitespace = self.whitespace.isChecked()
        d.dedupe = self.dedupe.isChecked()
        d.min_chars = self.min_chars.value()
        d.cache_dir = str(self.store.cache_dir)
        t.kind = self.kind.currentText()
        t.vocab_size = self.vocab_size.value()
        t.path = self.tokenizer_file.text().strip()
        cfg.model.block_size = 1  # the page measures the corpus; the Model page checks the context
        return cfg

    # ----- jobs --------------------------------------------------------------------------------------
    def load_preview(self) -> None:
        cfg = self.data_config()
        if not cfg.data.path:
            return
        self.preview.setPlainText("Reading…")
        cache = self.store.cache_dir
        self._start("preview", Job(lambda progress: read_preview(cfg.data, cache)), self._on_preview_done)

    def _on_preview_done(self, preview) -> None:
        n, first = preview.documents, preview.first
        by_line = self.documents.currentData() == "line"  # records read best one under the other
        text = ("\n" if by_line else "\n\n─────\n\n").join(d[:2000] for d in first)
        head = f"The first {len(first)}:" if len(first) < n else ("It reads:" if n == 1 else "They read:")
        skipped = f"{preview.skipped}\n" if preview.skipped else ""
        self.preview.setPlainText(f"{skipped}{counted(n, 'document')}. {head}\n\n{text}")
        self.stats.set("documents", f"{n:,}")
        self.corpus.previewed(preview.pairs)
        self.suggestion.setText(f"This file reads as {counted(n, 'long paragraph')} of short lines. If each line is "
                                f"one record (a name, a sentence), read one document per line.")
        self.suggestion.setVisible(preview.suggest_lines)
        self.suggest_btn.setVisible(preview.suggest_lines)
        typed = self.sentence.text()
        if first and (not typed.strip() or typed == self.own_sentence):  # a sentence of this corpus, not a pangram
            lines = [ln.strip() for d in first[:3] for ln in d.splitlines() if ln.strip()]
            self.own_sentence = lines[0][:80] if lines else ""
            self.sentence.setText(self.own_sentence)

    def prepare(self) -> None:
        cfg = self.data_config()
        problems = [p for p in preflight.problems(cfg) if p.startswith(("data.", "tokenizer."))]
        if problems:
            self._on_failed("; ".join(problems))
            return

        def run(progress):
            from engine.data.encode import prepare_corpus

            return prepare_corpus(cfg, progress=progress)

        self.prepare_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setRange(0, 0)  # busy
        self._start("prepare", Job(run), self._on_prepared)

    def cancel(self) -> None:
        if "prepare" in self.jobs:
            self.jobs["prepare"].cancel()
        self._idle("Cancelled.")

    def _start(self, kind: str, job: Job, on_done) -> None:
        if kind in self.jobs and self.jobs[kind].running:
            self.jobs[kind].cancel()
        self.jobs[kind] = job
        job.sig_progress.connect(lambda stage, msg: self.progress_label.setText(msg))
        job.sig_done.connect(on_done)
        job.sig_failed.connect(self._on_failed)
        job.start()

    def _on_prepared(self, corpus) -> None:
        s = corpus.stats
        self.tokenizer, self.tokens = corpus.tokenizer, s.tokens
        self.stats.set("documents", f"{s.documents:,}")
        self.stats.set("characters", f"{s.characters:,}")
        self.stats.set("bytes", human_bytes(s.bytes))
        self.stats.set("tokens", f"{s.tokens:,} ({s.characters / max(1, s.tokens):.2f} characters a token)")
        self.stats.set("split", f"{s.train_tokens:,} / {s.val_tokens:,}")
        self.stats.set("vocab", f"{s.vocab_size:,}")
        self.stats.set("removed", ", ".join(f"{n:,} {k}" for k, n in s.removed.items()) or "nothing")
        self.vocab_list.clear()
        vocab = sorted(self.tokenizer.hf.get_vocab().items(), key=lambda kv: kv[1])[:500]
        self.vocab_list.addItems([f"{i:>6}  {self.tokenizer.decode([i])!r}" for _, i in vocab])
        self._show_tokens()
        self.use_btn.setEnabled(True)
        self.use_note.setVisible(False)
        ready = f"Ready: {counted(s.tokens, 'token')}, vocabulary of {s.vocab_size:,}."
        self.corpus.set_prepared(s.tokens, s.vocab_size, ready)
        self._idle(ready)
        self.sig_changed.emit()

    def _on_failed(self, message: str) -> None:
        self._clear_measurements()  # the panels must not go on describing the corpus before
        self._idle("")
        message = in_form_words(message, CORPUS_LABELS)  # this page's labels, the key in brackets
        self.corpus.failed(message)
        self.progress_label.setText(f"<span style='color:#b91c1c'>{html.escape(message)}</span>")
        if self.preview.toPlainText() == "Reading…":
            self.preview.setPlainText("")

    def _show_derived(self) -> None:
        """What the state's corpus says stands: a new source leaves no ready line, error or pairs of the one before."""
        c = self.corpus
        self.pairs_view.show_pairs(c.pairs)
        if "prepare" in self.jobs and self.jobs["prepare"].running:
            return  # its progress line stays until it ends
        error = f"<span style='color:#b91c1c'>{html.escape(c.error)}</span>" if c.error else ""
        self.progress_label.setText(error or c.message)
        if c.prepared is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _idle(self, message: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if message.startswith("Ready") else 0)
        self.prepare_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        self.progress_label.setText(message)

    def _show_tokens(self) -> None:
        if self.tokenizer is None:
            self.tokens_view.setText("Prepare the corpus to see how this sentence is split.")
            return
        ids = self.tokenizer.encode(self.sentence.text())
        self.tokens_view.setText(f"{len(ids)} tokens: " + token_html(self.tokenizer.token_strings(ids)))

    def _on_use(self) -> None:
        cfg = self.data_config()
        vocab = self.tokenizer.vocab_size if self.tokenizer else None
        self.sig_corpus_chosen.emit(cfg, vocab, self.tokens)
