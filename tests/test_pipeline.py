"""Build-level behaviour: determinism, provenance, no junk entities, cross-article merging."""

from __future__ import annotations

import shutil
from pathlib import Path

from rdflib import RDF, RDFS, Graph

from kg.ns import KG
from kg.pipeline import build
from kg.store import serialize

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_pipeline_builds_are_byte_identical_in_any_order(tmp_path: Path) -> None:
    files = sorted(SEEDS.glob("*.txt"))
    first = serialize(build(files).dataset, "turtle")
    again = serialize(build(list(reversed(files))).dataset, "turtle")
    assert first == again


def test_pipeline_every_event_has_sources_and_evidence(seed_graph_file: Path) -> None:
    graph = Graph().parse(seed_graph_file)
    events = set(graph.subjects(RDF.type, KG.Attack))
    assert len(events) >= 10
    for event in events:
        assert set(graph.objects(event, KG.sourceArticle)), event
        for evidence in graph.objects(event, KG.hasEvidence):
            text = str(graph.value(evidence, KG.evidenceText))
            start, end = int(graph.value(evidence, KG.startChar)), int(graph.value(evidence, KG.endChar))
            article = graph.value(evidence, KG.inArticle)
            name = str(graph.value(article, KG.fileName))
            source = (SEEDS / name).read_text(encoding="utf-8").replace("\u2019", "'").replace("\u00a0", " ")
            assert source[start:end] == text


def test_pipeline_no_junk_entities_in_seed_build(seed_graph_file: Path) -> None:
    graph = Graph().parse(seed_graph_file)
    labels = {str(label).lower() for label in graph.objects(None, RDFS.label)}
    junk = {
        "videos",
        "vidéos",
        "vous",
        "votre",
        "paypal",
        "ici",
        "chloé",
        "deux",
        "médias",
        "source",
        "newsletter",
        "partagez votre avis",
        "j'",
        "n'hésitez",
        "lien avec gaza",
    }
    assert not labels & junk


def test_pipeline_same_incident_in_two_articles_is_one_event(tmp_path: Path) -> None:
    texts = {
        "a.txt": "published: 2024-01-29\n\nTrois roquettes ont frappé dimanche la base d'Aïn al-Assad.",
        "b.txt": "published: 2024-01-29\n\nDimanche, quatre roquettes ont visé Ain al-Asad, sans victimes.",
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = build([tmp_path])
    graph = result.dataset
    attacks = {s for s, _, _, _ in graph.quads((None, RDF.type, KG.Attack, None))}
    assert len(attacks) == 1
    (attack,) = attacks
    reports = {o for _, _, o, _ in graph.quads((attack, KG.hasReport, None, None))}
    counts = sorted(
        int(o) for r in reports for _, _, o, _ in graph.quads((r, KG.projectileCount, None, None))
    )
    assert counts == [3, 4]  # each source keeps its own figure
    merged = [int(o) for _, _, o, _ in graph.quads((attack, KG.projectileCount, None, None))]
    assert merged == [4]


def test_pipeline_skips_bad_articles_and_reports_them(tmp_path: Path) -> None:
    shutil.copy(SEEDS / "003_b3b186272ba4e341.txt", tmp_path)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    result = build([tmp_path])
    assert result.articles == 1
    assert any("empty" in reason for reason in result.skipped)


def test_pipeline_article_the_extractors_fail_on_is_skipped_and_named(tmp_path, monkeypatch) -> None:
    """A bug met on one article costs that article, not the build (and --strict stops on it)."""
    import pytest

    from kg import pipeline
    from kg.errors import ArticleError

    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(f"Dimanche, trois roquettes ont visé la base {name}.", "utf-8")
    real = pipeline.extract

    def flaky(doc, article):
        if article.id == "b":
            raise ZeroDivisionError("division by zero")
        return real(doc, article)

    monkeypatch.setattr(pipeline, "extract", flaky)
    result = pipeline.build([tmp_path])
    assert result.articles == 1
    assert len(result.skipped) == 1 and "b.txt: extraction failed (ZeroDivisionError" in result.skipped[0]
    with pytest.raises(ArticleError, match=r"b\.txt: extraction failed"):
        pipeline.build([tmp_path], strict=True)


def test_pipeline_defers_full_collections_while_building_and_gives_them_back(tmp_path, monkeypatch) -> None:
    """Full collections walk the whole growing dataset for nothing; the collector is as before afterwards."""
    import gc

    import pytest

    from kg import pipeline
    from kg.errors import ArticleError

    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(f"Dimanche, trois roquettes ont visé la base {name}.", "utf-8")
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    real = pipeline.extract

    def watched(doc, article):
        seen.append(gc.get_threshold())
        if article.id == "b":
            raise ZeroDivisionError("division by zero")
        return real(doc, article)

    monkeypatch.setattr(pipeline, "extract", watched)
    with pytest.raises(ArticleError):
        pipeline.build([tmp_path], strict=True)
    assert len(seen) == 2
    assert all(during[:2] == before[:2] and during[2] > 10**6 for during in seen)
    assert gc.get_threshold() == before
