"""How close generated targets are to the references: BLEU and chrF (sacrebleu, 0-100), ROUGE-L's
F-measure (rouge-score, 0-1) and exact match (0-1, after trimming surrounding whitespace)."""

from __future__ import annotations


def text_metrics(predictions: list[str], references: list[str]) -> dict[str, float]:
    import sacrebleu  # heavy (rouge_score loads nltk, ~1.5 s): only runs whose targets are scored
    from rouge_score import rouge_scorer

    if not predictions:
        return {}
    refs = [references]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rouge = [scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)]
    return {"bleu": float(sacrebleu.corpus_bleu(predictions, refs).score),
            "chrf": float(sacrebleu.corpus_chrf(predictions, refs).score),
            "rouge_l": sum(rouge) / len(rouge), "exact_match": exact_match(predictions, references)}


def exact_match(predictions: list[str], references: list[str]) -> float:
    """The share of predictions equal to their reference once surrounding whitespace is trimmed."""
    return sum(p.strip() == r.strip() for p, r in zip(predictions, references)) / max(1, len(predictions))
