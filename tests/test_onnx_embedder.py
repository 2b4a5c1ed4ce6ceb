"""The ONNX copy of the embedding model: sentence-transformers' vectors and word pieces, without torch."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from adoptbot.cli import main
from adoptbot.runtime import Runtime
from common.errors import ConfigError
from common.settings import Settings
from kb.embedding import MODEL_NAME, SentenceTransformerEmbedder
from kb.onnx_embedder import INFO_FILE, OnnxEmbedder, export_dir, find_export
from kb.onnx_export import ExportFailed, check_vectors, export_model
from tests.conftest import REPO, FakeEmbedder

LONG = " ".join(f"clause {n} says generated images need a human review before they are published" for n in range(40))


def varied_texts() -> list[str]:
    """Passages and questions of the starter knowledge base, and the odd ones: empty, spaces, scripts, long."""
    passages = [p.read_text(encoding="utf-8")[:1500] for p in sorted((REPO / "knowledge").rglob("*.md"))]
    questions = [
        json.loads(line)["q"]
        for line in (REPO / "knowledge/eval/questions.jsonl").read_text(encoding="utf-8").splitlines()[:80]
        if line.strip() and "q" in json.loads(line)
    ]
    odd = ["", " ", "  padded question?\n\t", "x", "Ünïcödé café — 中文 テスト 🎉", "GAN " * 400, LONG]
    return passages + questions + odd


@pytest.fixture(scope="module")
def onnx_embedder(onnx_exports: Path) -> OnnxEmbedder:
    return OnnxEmbedder(export_dir(onnx_exports, SentenceTransformerEmbedder().model_path))


def cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    return [sum(x * y for x, y in zip(u, v, strict=True)) for u, v in zip(a, b, strict=True)]


def test_the_copy_gives_sentence_transformers_vectors_for_varied_texts(onnx_embedder, real_embedder):
    texts = varied_texts()
    assert len(texts) > 2 * onnx_embedder.batch_size  # several batches, each padded to its longest text
    got, want = onnx_embedder.embed(texts), real_embedder.embed(texts)
    assert min(cosines(got, want)) >= 0.99999
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-5 for v in got)  # unit length: cosine is a dot product


def test_texts_past_256_word_pieces_are_cut_where_sentence_transformers_cuts_them(onnx_embedder, real_embedder):
    other_end, other_start = f"{LONG} and then something else about cats", LONG.replace("3 says", "3 forbids")
    tails = [LONG, other_end, other_start]
    assert all(real_embedder.count_tokens(t) > 300 for t in tails)
    got, want = onnx_embedder.embed(tails), real_embedder.embed(tails)
    assert min(cosines(got, want)) >= 0.99999
    assert min(cosines(got[:1], got[1:2])) >= 0.99999  # past the cut, a different ending changes nothing
    assert cosines(got[:1], got[2:])[0] < 0.9999  # while a word before the cut does


def test_a_text_embeds_the_same_alone_and_in_a_batch_and_counts_the_same_word_pieces(onnx_embedder, real_embedder):
    texts = varied_texts()[-12:]
    alone = [onnx_embedder.embed_query(t) for t in texts]
    assert min(cosines(alone, onnx_embedder.embed(texts))) >= 0.999999
    assert [onnx_embedder.count_tokens(t) for t in texts] == [real_embedder.count_tokens(t) for t in texts]
    assert onnx_embedder.name == real_embedder.name == MODEL_NAME  # an index made by one is read by the other


def test_the_runtime_embeds_through_the_copy_when_there_is_one(tmp_path, onnx_exports):
    with_copy = Runtime(Settings(data_dir=tmp_path / "data", embed_onnx_dir=str(onnx_exports)))
    without = Runtime(Settings(data_dir=tmp_path / "data", embed_onnx_dir=str(tmp_path / "none")))
    assert isinstance(with_copy.embedder, OnnxEmbedder)
    assert type(without.embedder) is SentenceTransformerEmbedder


def test_a_copy_of_a_model_that_changed_since_is_not_used_and_says_how_to_refresh_it(tmp_path, caplog):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "tokenizer.json").write_text("{}")
    exports = tmp_path / "exports"
    made = export_dir(exports, model)
    made.mkdir(parents=True)
    (made / INFO_FILE).write_text(json.dumps({"source": str(model), "max_seq_length": 256}))
    assert find_export(exports, model) == made
    os.utime(model / "tokenizer.json", ns=(1, 1))  # the model was replaced after the copy was made
    with caplog.at_level(logging.WARNING):
        assert find_export(exports, model) is None
    assert "adoptbot export-model" in caplog.text and str(model) in caplog.text


def test_vectors_that_differ_are_refused():
    class Rotated(FakeEmbedder):
        def embed(self, texts):
            return [v[1:] + v[:1] for v in super().embed(texts)]

    with pytest.raises(ExportFailed, match="does not give its vectors"):
        check_vectors(Rotated(), FakeEmbedder())


def test_export_model_keeps_the_existing_copy_and_says_where_it_is(onnx_exports, capsys):
    before = {p: p.stat().st_mtime_ns for p in onnx_exports.rglob("*")}
    runtime = Runtime(Settings(embed_onnx_dir=str(onnx_exports)))
    assert main(["export-model"], runtime=runtime) == 0
    assert str(find_export(onnx_exports, runtime.embedder.model_path)) in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in onnx_exports.rglob("*")} == before
    assert export_model(model_path=None, exports=onnx_exports) in before


def test_an_unwritable_export_folder_is_a_usage_error_naming_the_setting(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    assert main(["export-model"], runtime=Runtime(Settings(embed_onnx_dir=str(blocker / "onnx")))) == 2
    err = capsys.readouterr().err
    assert "Cannot write the ONNX copy" in err and "ADOPTBOT_EMBED_ONNX_DIR" in err


def test_a_broken_copy_says_how_to_replace_it(tmp_path, onnx_exports):
    made = export_dir(onnx_exports, SentenceTransformerEmbedder().model_path)
    broken = tmp_path / made.name
    broken.mkdir()
    for name in (INFO_FILE, "tokenizer.json"):
        (broken / name).write_bytes((made / name).read_bytes())
    (broken / "model.onnx").write_bytes(b"half a file")
    with pytest.raises(ConfigError, match=r"cannot be loaded .*adoptbot export-model"):
        OnnxEmbedder(broken).embed(["What is a GAN?"])
