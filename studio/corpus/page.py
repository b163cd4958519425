"""The Corpus page: sources (files, folders, drag and drop, demo corpora) | preview | statistics;
cleaning and split options; tokenizer training with progress and cancel; a sentence shown as tokens."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.config import schema as C
from engine.data.files import TABLE_SUFFIXES, peek_columns
from engine.demo import make_demo_corpus
from engine.plan import preflight
from engine.run.humanlog import counted
from studio.corpus.pairs_view import PairsView
from studio.corpus.preview import read_preview
from studio.corpus.qa_view import qa_html
from studio.corpus.reading_box import ReadingBox
from studio.corpus.records_view import RecordsView
from studio.corpus.sources_row import SourcesRow
from studio.corpus.stats_card import StatsCard
from studio.corpus.tagged_view import tagged_html
from studio.corpus.tokenizer_box import TokenizerBox, error_html
from studio.jobs import Job
from studio.model.form_words import CORPUS_LABELS, in_form_words
from studio.state.budget import tokenizer_note
from studio.state.chat_corpus import is_chat, prepare_chat_corpus
from studio.state.qa_corpus import is_questions, prepare_questions
from studio.state.records_corpus import PreparedRecords
from studio.state.tagged_corpus import is_tagged, prepare_tagged
from studio.widgets.cards import token_html

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

        sources = SourcesRow()
        self.path, self.demo = sources.path, sources.demo
        options = self.reading = ReadingBox()
        self.column, self.documents = options.column, options.documents
        self.suggestion, self.suggest_btn = options.suggestion, options.suggest_btn
        self.val_fraction, self.min_chars = options.val_fraction, options.min_chars
        self.normalize, self.whitespace, self.dedupe = options.normalize, options.whitespace, options.dedupe
        tok = self.tokenizer_box = TokenizerBox()
        self.kind, self.vocab_size, self.tokenizer_file = tok.kind, tok.vocab_size, tok.tokenizer_file
        self.prepare_btn, self.cancel_btn = tok.prepare_btn, tok.cancel_btn
        self.progress, self.progress_label = tok.progress, tok.progress_label
        self.stats = StatsCard()
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setObjectName("preview")
        self.pairs_view = PairsView()
        self.tagged_view = RecordsView("tagged_view")
        self.qa_view = RecordsView("qa_view")
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
        right.addWidget(self.tagged_view)
        right.addWidget(self.qa_view)
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
        layout.addWidget(sources)
        layout.addWidget(split, 1)  # the row of sources keeps its height; the panes take the rest

        sources.sig_paths.connect(self.set_sources)
        sources.sig_demo.connect(self.use_demo)
        self.prepare_btn.clicked.connect(self.prepare)
        self.cancel_btn.clicked.connect(self.cancel)
        self.sentence.textChanged.connect(self._show_tokens)
        self.use_btn.clicked.connect(self._on_use)
        self.documents.activated.connect(self._on_reading_changed)
        self.column.activated.connect(self._on_reading_changed)
        self.suggest_btn.clicked.connect(lambda: self.set_documents("line"))
        for w in (self.normalize, self.whitespace, self.dedupe):
            w.toggled.connect(self._forget_prepared)
        for w in (self.val_fraction, self.min_chars, self.vocab_size):
            w.valueChanged.connect(self._forget_prepared)
        self.kind.currentTextChanged.connect(self._forget_prepared)
        self.corpus.changed.connect(self._show_derived)
        store.state.design.changed.connect(self._show_budget_note)
        self.kind.currentTextChanged.connect(self._show_budget_note)
        self.vocab_size.valueChanged.connect(self._show_budget_note)

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
        self.reading.show_columns(columns, bool(columns) or source.is_dir())
        self._on_reading_changed()

    def set_documents(self, kind: str) -> None:
        """Read the source's text files one paragraph, line or file per document."""
        self.documents.setCurrentIndex(max(0, self.documents.findData(kind)))
        self._on_reading_changed()

    def _on_reading_changed(self, *_) -> None:
        """What a document is changed (source, column, paragraph or line): nothing measured before still holds."""
        if "prepare" in self.jobs and self.jobs["prepare"].running:  # it prepares the corpus before: never shown
            self.jobs["prepare"].cancel()
            self.tokenizer_box.idle("")
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
        self.stats.clear()
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

    def use_demo(self, name: str) -> Path:
        path = make_demo_corpus(name, self.store.corpora_dir, size_bytes=400_000)
        self.set_sources([path])
        return path

    # ----- the data config this page describes ------------------------------------------------------
    def data_config(self) -> C.RunConfig:
        cfg = C.RunConfig()
        d, t = cfg.data, cfg.tokenizer
        d.path = self.path.text().strip()
        self.reading.write(d)
        d.cache_dir = str(self.store.cache_dir)
        self.tokenizer_box.write(t)
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
        by_line = self.documents.currentData() == "line" or preview.tagged is not None  # records: one a line
        text = ("\n" if by_line else "\n\n─────\n\n").join(d[:2000] for d in first)
        head = f"The first {len(first)}:" if len(first) < n else ("It reads:" if n == 1 else "They read:")
        skipped = f"{preview.skipped}\n" if preview.skipped else ""
        noun = ("tagged sentence" if preview.tagged else "conversation" if preview.chats else
                "question" if preview.questions else "document")
        self.preview.setPlainText(f"{skipped}{counted(n, noun)}. {head}\n\n{text}")
        self.stats.set("documents", f"{n:,}")
        self.corpus.previewed(preview.pairs, preview.tagged, preview.questions)
        self.reading.offer_lines(n, preview.suggest_lines)
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
            if is_tagged(cfg.data.path):  # sentences and their tags, read as the tagger reads them
                return prepare_tagged(cfg, progress)
            if is_chat(cfg.data.path):  # conversations, read as instruct reads them
                return prepare_chat_corpus(cfg, progress)
            if is_questions(cfg.data.path):  # questions on contexts, read as the question answerer reads them
                return prepare_questions(cfg, progress)
            from engine.data.encode import prepare_corpus

            return prepare_corpus(cfg, progress=progress)

        self.tokenizer_box.busy()
        self._start("prepare", Job(run), self._on_prepared)

    def cancel(self) -> None:
        if "prepare" in self.jobs:
            self.jobs["prepare"].cancel()
        self.tokenizer_box.idle("Cancelled.")

    def _start(self, kind: str, job: Job, on_done) -> None:
        if kind in self.jobs and self.jobs[kind].running:
            self.jobs[kind].cancel()
        self.jobs[kind] = job
        job.sig_progress.connect(lambda stage, msg: self.progress_label.setText(msg))
        job.sig_done.connect(on_done)
        job.sig_failed.connect(self._on_failed)
        job.start()

    def _on_prepared(self, corpus) -> None:
        if isinstance(corpus, PreparedRecords):
            self._on_records_prepared(corpus)
            return
        s = corpus.stats
        self.tokenizer, self.tokens = corpus.tokenizer, s.tokens
        self.stats.show_stats(s)
        self._show_vocabulary()
        ready = f"Ready: {counted(s.tokens, 'token')}, vocabulary of {s.vocab_size:,}."
        self.corpus.set_prepared(s.tokens, s.vocab_size, ready)
        self.tokenizer_box.idle(ready)
        self.sig_changed.emit()

    def _on_records_prepared(self, records: PreparedRecords) -> None:
        """Records prepared (tagged sentences, conversations, questions): they are the documents in the card; the
        engine's report is kept with the corpus."""
        self.tokenizer, self.tokens = records.tokenizer, records.tokens
        self.stats.clear()
        for key, value in records.card().items():
            self.stats.set(key, value)
        self._show_vocabulary()
        self.corpus.set_prepared(records.tokens, records.vocab_size, records.ready_line(), records.report)
        self.tokenizer_box.idle(records.ready_line())
        self.sig_changed.emit()

    def _show_vocabulary(self) -> None:
        """The prepared tokenizer's vocabulary and the sample sentence's tokens; the corpus may now be used."""
        self.vocab_list.clear()
        vocab = sorted(self.tokenizer.hf.get_vocab().items(), key=lambda kv: kv[1])[:500]
        self.vocab_list.addItems([f"{i:>6}  {self.tokenizer.decode([i])!r}" for _, i in vocab])
        self._show_tokens()
        self.use_btn.setEnabled(True)
        self.use_note.setVisible(False)

    def _on_failed(self, message: str) -> None:
        self._clear_measurements()  # the panels must not go on describing the corpus before
        self.tokenizer_box.idle("")
        message = in_form_words(message, CORPUS_LABELS)  # this page's labels, the key in brackets
        self.corpus.failed(message)
        self.progress_label.setText(error_html(message))
        if self.preview.toPlainText() == "Reading…":
            self.preview.setPlainText("")

    def _show_budget_note(self, *_) -> None:
        """Whether the Model page's time budget trains the run a tokenizer of another size than this page's."""
        design = self.store.state.design.current
        self.tokenizer_box.show_budget_note(tokenizer_note(design.budget if design else None, self.kind.currentText(),
                                                           self.vocab_size.value()))

    def _show_derived(self) -> None:
        """What the state's corpus says stands: a new source leaves no ready line, error or pairs of the one before."""
        c = self.corpus
        self.pairs_view.show_pairs(c.pairs)
        self.tagged_view.show_html(tagged_html(c.tagged, c.report))
        self.qa_view.show_html(qa_html(c.questions, c.report))
        if "prepare" in self.jobs and self.jobs["prepare"].running:
            return  # its progress line stays until it ends
        error = error_html(c.error) if c.error else ""
        self.progress_label.setText(error or c.message)
        if c.prepared is None:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

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
