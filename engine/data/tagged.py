"""Tagged sentences for token classification (named entities): read, checked, split into sub-tokens.

Two layouts are read as people share them: CoNLL-style text (a token and its tag on each line, whitespace
separated, the tag in the last column; a blank line between sentences; `-DOCSTART-` lines skipped) and JSONL
rows with `tokens` and `tags` lists. Tags are BIO/IOB2 (`O`, `B-TYPE`, `I-TYPE`); any other scheme, and a
row whose tokens and tags differ in number, is refused in one sentence naming the file and line.

A sentence is encoded as its words joined by single spaces, the way its tokenizer was trained and the way
`predict` reads typed text; each word is labelled on its first piece, the other pieces (and spaces) ignored
by the loss (-100), as BERT was fine-tuned for CoNLL-2003. Sentences are shuffled once with the run's seed
before the validation and test splits, as labelled rows are (engine/data/labelled.py).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config.schema import RunConfig
from engine.core.errors import UserError
from engine.data.files import CorpusFiles, check_text_file, find_corpus_files, peek_columns
from engine.data.labelled import LabelledSplit, split_rows
from engine.data.masked import IGNORE
from engine.data.tokenizer import Tokenizer, train_tokenizer

OUTSIDE = "O"
PREFIXES = ("B-", "I-")
OTHER_PREFIXES = ("S-", "E-", "U-", "L-")
"""IOBES's and BILOU's other prefixes (single, end; unit, last): refused, named in the refusal."""
DOCSTART = "-DOCSTART-"
JSON_KEYS = ("tokens", "tags")


@dataclass
class Sentence:
    words: list[str]
    tags: list[str]


# ----- reading ----------------------------------------------------------------------------------------
def read_tagged(path: str | Path, encoding: str = "utf-8") -> list[Sentence]:
    """Every sentence of a tagged file or folder: JSONL files by their suffix, any other text as CoNLL."""
    files = find_corpus_files(path)
    if problems := tagged_file_problems(files):
        raise UserError(problems[0])
    sentences: list[Sentence] = []
    for builder, paths in files.by_builder.items():
        for p in paths:
            check_text_file(p, encoding if builder == "text" else "utf-8")
            sentences += read_jsonl(p) if builder == "json" else read_conll(p, encoding)
    if not sentences:
        raise UserError(f"{Path(str(path)).name} holds no tagged sentences")
    return sentences


def tagged_file_problems(files: CorpusFiles) -> list[str]:
    """What reading would refuse, found from the files' kinds and the first JSONL row (the form says it early)."""
    if files.saved_dataset is not None:
        return [f"{files.saved_dataset.name} is a saved dataset: model.objective = \"tag\" reads CoNLL-style text "
                f"or JSONL with {' and '.join(JSON_KEYS)} lists"]
    for builder, paths in files.by_builder.items():
        if builder not in ("text", "json"):
            return [f"{paths[0].name} is a {builder} table: model.objective = \"tag\" reads CoNLL-style text (a "
                    f"token and its tag a line) or JSONL with {' and '.join(JSON_KEYS)} lists"]
        for p in paths[:20] if builder == "json" else []:
            columns = peek_columns(p)
            if columns and not set(JSON_KEYS) <= set(columns):
                return [f"{p.name} has no {' and '.join(JSON_KEYS)} lists (its keys are {', '.join(columns)}): "
                        f"model.objective = \"tag\" reads each sentence's tokens and their tags"]
    return []


def _lines(path: Path, encoding: str):
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding=encoding) as f:
        yield from enumerate(f, start=1)


def read_conll(path: Path, encoding: str = "utf-8") -> list[Sentence]:
    """CoNLL-style text: `token ... tag` lines, sentences separated by blank lines."""
    sentences, words, tags = [], [], []
    for n, line in _lines(path, encoding):
        cols = line.split()
        if not cols or cols[0] == DOCSTART:
            if words:
                sentences.append(Sentence(words, tags))
            words, tags = [], []
            continue
        if len(cols) < 2:
            raise UserError(f"{path.name} line {n}: {cols[0]!r} has no tag; a CoNLL line holds a token and its tag, "
                            f"separated by whitespace")
        words.append(cols[0])
        tags.append(check_tag(cols[-1], path.name, n))
    if words:
        sentences.append(Sentence(words, tags))
    return sentences


def read_jsonl(path: Path) -> list[Sentence]:
    """JSONL rows with `tokens` and `tags` lists of strings, one sentence a row."""
    sentences = []
    for n, line in _lines(path, "utf-8"):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            row = json.loads(line)
        except ValueError as e:
            raise UserError(f"{where} is not JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(row, dict) or any(not isinstance(row.get(k), list) for k in JSON_KEYS):
            raise UserError(f"{where} has no {' and '.join(JSON_KEYS)} lists: each row holds a sentence's tokens "
                            f"and their tags, e.g. {{\"tokens\": [\"Ada\", \"Lovelace\"], \"tags\": [\"B-PER\", "
                            f"\"I-PER\"]}}")
        words, tags = row["tokens"], row["tags"]
        if len(words) != len(tags):
            raise UserError(f"{where} has {len(words)} tokens but {len(tags)} tags: each token needs one tag")
        if any(not isinstance(w, str) or not w.strip() for w in words):
            raise UserError(f"{where} has a token that is empty or not a string")
        if words:
            sentences.append(Sentence([w.strip() for w in words], [check_tag(t, path.name, n) for t in tags]))
    return sentences


def check_tag(tag, file: str, line: int) -> str:
    """`tag` when it is BIO/IOB2 (O, B-TYPE or I-TYPE), else a UserError naming the file, line and scheme."""
    if tag == OUTSIDE or isinstance(tag, str) and tag[:2] in PREFIXES and tag[2:].strip():
        return tag
    text = str(tag)
    scheme = ("IOBES or BILOU" if isinstance(tag, str) and text[:2] in OTHER_PREFIXES else
              "a number, not a tag name" if isinstance(tag, (int, float)) else "not BIO")
    raise UserError(f"{file} line {line}: the tag {text!r} is {scheme}; tags must be BIO/IOB2 (O, B-TYPE or "
                    f"I-TYPE), such as B-PER and I-PER")


def tag_names(labels: list[str], sentences: list[Sentence]) -> list[str]:
    """The tags a tagger learns, in order: task.labels, or O then B- and I- of every entity type found, sorted."""
    if labels:
        return list(labels)
    types = sorted({t[2:] for s in sentences for t in s.tags if t != OUTSIDE})
    return [OUTSIDE] + [p + kind for kind in types for p in PREFIXES]


def entity_types(tags: list[str]) -> list[str]:
    """The entity types of a tag list, in its order (B-PER, I-PER, B-LOC -> PER, LOC)."""
    return list(dict.fromkeys(t[2:] for t in tags if t != OUTSIDE))


# ----- sub-tokens -------------------------------------------------------------------------------------
def sentence_text(words: list[str]) -> str:
    return " ".join(words)


def tag_tokenizer(cfg: RunConfig, sentences: list[Sentence],
                  say: Callable[[str, str], None] = lambda stage, msg: None) -> Tokenizer:
    """The [tokenizer] section's tokenizer trained on the sentences as text (never on their tags; a file is
    loaded as it is)."""
    t = cfg.tokenizer
    if t.kind == "file":
        return Tokenizer.load(t.path)
    texts = [sentence_text(s.words) for s in sentences]
    say("tokenizer", f"training a {t.kind} tokenizer on {len(texts):,} sentences")
    return train_tokenizer(t.kind, lambda: iter(texts), vocab_size=t.vocab_size, length=len(texts))


def word_pieces(tokenizer, sentences: list[list[str]]) -> list[tuple[list[int], list[int]]]:
    """Each sentence's token ids, and for each token the index of the word it starts, or -1 for a later piece
    of a word (or a space): the words are joined by single spaces and each token is given to the first word
    its characters overlap."""
    texts = [sentence_text(words) for words in sentences]
    out = []
    for words, enc in zip(sentences, tokenizer.hf.encode_batch(texts, add_special_tokens=False)):
        owner = [k for i, w in enumerate(words) for k in [i] * len(w) + [-1]]  # char -> word, -1: a space
        starts, seen = [], set()
        for a, b in enc.offsets:
            word = next((owner[c] for c in range(a, min(b, len(owner))) if owner[c] >= 0), -1)
            starts.append(word if word >= 0 and word not in seen else -1)
            seen.add(word)
        out.append((enc.ids, starts))
    return out


def tag_report(cfg: RunConfig, sentences: list[Sentence], tokenizer: Tokenizer) -> list[str]:
    """What `prepare` prints for tagged sentences: their count, the entities per type, the words' pieces and the
    sentences longer than the model reads."""
    kinds: dict[str, int] = {}
    for s in sentences:
        for tag in s.tags:
            if tag.startswith("B-"):
                kinds[tag[2:]] = kinds.get(tag[2:], 0) + 1
    pieces = word_pieces(tokenizer, [s.words for s in sentences])
    words = sum(len(s.words) for s in sentences)
    tokens = sorted(len(ids) for ids, _ in pieces)
    room = cfg.model.block_size - (2 if cfg.arch == "bert" else 0)
    long = sum(n > room for n in tokens)
    return [f"sentences {len(sentences):,}, words {words:,}",
            "entities " + (", ".join(f"{k} {n:,}" for k, n in sorted(kinds.items())) or "none (every tag is O)"),
            f"tokens per word {sum(tokens) / max(1, words):.2f}; per sentence: mean {sum(tokens) / len(tokens):.1f}, "
            f"longest {tokens[-1]:,}", f"vocabulary {tokenizer.vocab_size:,}",
            f"{long:,} sentence(s) longer than the {room} tokens the model reads (model.block_size): their ends are "
            f"cut" if long else f"every sentence fits (at most {room} tokens)"]


# ----- encoded splits ---------------------------------------------------------------------------------
TaggedSplit = LabelledSplit
"""A tagged split is a labelled one whose labels are (N, T): engine/data/labelled.py."""


@dataclass
class TaggedData:
    train: TaggedSplit
    val: TaggedSplit
    test: TaggedSplit
    tag_names: list[str]
    sentences: int
    truncated: int
    """Sentences cut to the model's context: their last words are not seen."""
    val_sentences: list[Sentence]
    """The validation rows' sentences, in their order (samples show them)."""


def load_tagged(cfg: RunConfig, tokenizer, sentences: list[Sentence], *, encoder: bool, pad_id: int,
                cls_id: int | None = None, sep_id: int | None = None) -> TaggedData:
    """The sentences encoded (an encoder's rows framed as [CLS] ... [SEP]), shuffled and split three ways."""
    d, T = cfg.data, cfg.model.block_size
    if len(sentences) < 4:
        raise UserError(f"{Path(d.path).name} has {len(sentences)} tagged sentences: a tagger needs many more")
    names = tag_names(cfg.task.labels, sentences)
    unknown = sorted({t for s in sentences for t in s.tags} - set(names))
    if unknown:
        raise UserError(f"tags {', '.join(unknown[:5])} are not in task.labels ({', '.join(names)}): add them or "
                        f"clear task.labels to take every tag found")
    if len(names) < 2 or not entity_types(names):
        raise UserError(f"{Path(d.path).name} tags no entity (every tag is O): a tagger needs B- and I- tags")
    index = {n: i for i, n in enumerate(names)}
    order = np.random.default_rng(cfg.train.seed).permutation(len(sentences))
    body, first = (T - 2, 1) if encoder else (T, 0)
    idx = np.full((len(sentences), T), pad_id, dtype=np.int64)
    targets = np.full((len(sentences), T), IGNORE, dtype=np.int64)
    lengths = np.zeros(len(sentences), dtype=np.int64)
    truncated = 0
    picked = [sentences[i] for i in order]
    for row, (s, (ids, starts)) in enumerate(zip(picked, word_pieces(tokenizer, [s.words for s in picked]))):
        truncated += any(w >= 0 for w in starts[body:])
        ids, starts = ids[:body], starts[:body]
        row_ids = [cls_id, *ids, sep_id] if encoder else ids
        idx[row, : len(row_ids)] = row_ids
        lengths[row] = max(1, len(row_ids))
        for pos, word in enumerate(starts):
            if word >= 0:
                targets[row, first + pos] = index[s.tags[word]]
    train, val, test = split_rows(idx, lengths, targets, d, "tagged sentences")
    return TaggedData(train, val, test, names, len(sentences), truncated, picked[len(picked) - len(val):])
