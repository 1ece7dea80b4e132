"""A text run end to end: train on a small folder corpus, then classify raw strings in a
fresh process, export the transformer to ONNX, and find the attention figure and the
embedding projector in TensorBoard's files."""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlzoo.config.compose import compose_config
from dlzoo.run.artefacts import save_run_config
from dlzoo.run.build import build
from dlzoo.run.export import export
from dlzoo.run.pipeline import fit, report, score
from dlzoo.run.run_figures import write_figures

TOPICS = {
    "politics": "vote minister election party parliament policy",
    "sport": "goal match team league coach season",
    "tech": "software chip phone internet computer network",
}
FILLER = ["the", "a", "of", "and", "to", "in", "is", "that", "it", "was", "for", "on", "with"]


def _document(rng: random.Random, topic: str) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(8, 30))]
    for _ in range(rng.randint(2, 5)):
        words.insert(rng.randrange(len(words)), rng.choice(TOPICS[topic].split()))
    return " ".join(words).capitalize() + "."


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, Path]:
    """A 4-epoch transformer run on 3 x 30 short documents, logged to TensorBoard."""
    root = tmp_path_factory.mktemp("text")
    rng = random.Random(0)
    for topic in TOPICS:
        (root / "corpus" / topic).mkdir(parents=True)
        for i in range(30):
            (root / "corpus" / topic / f"{i}.txt").write_text(_document(rng, topic))
    cfg = compose_config(
        [
            f"paths.log_dir={root}",
            "experiment=bbc_transformer",
            "data=text_folder",
            f"data.root={root / 'corpus'}",
            "data.batch_size=16",
            "data.tokenizer.min_frequency=1",
            "model.d_model=16",
            "model.num_heads=2",
            "trainer.max_epochs=4",
            "scheduler.warmup_steps=5",
        ],
        run_dir=root / "run",
    )
    run = build(cfg)
    save_run_config(cfg, run.output_dir)
    fit(run)
    scores = score(run, run.trainer.checkpoint_callback.best_model_path, fitted=True)
    write_figures(run)  # as train() does, between scoring and the report
    report(run, scores)
    return root / "run", run, root


def test_a_text_run_reports_its_baseline(text_run) -> None:
    run_dir, _, _ = text_run
    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert {"test/acc", "test/baseline_acc", "test/baseline_majority_acc"} <= set(test)
    assert "test/baseline_logreg_acc" not in test  # token ids are no features for it
    assert test["test/baseline_acc"] > 0.9  # the topic words separate the classes
    assert test["test/acc"] > test["test/baseline_majority_acc"]


def test_raw_strings_classify_in_a_fresh_process_as_in_memory(text_run, tmp_path) -> None:
    run_dir, run, _ = text_run
    rng = random.Random(7)
    lines = [_document(rng, topic) for topic in TOPICS for _ in range(3)]
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dlzoo.cli.predict",
            f"run_dir={run_dir}",
            f"input={tmp_path / 'lines.txt'}",
            f"output={tmp_path / 'out.csv'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "out.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["input"] for r in rows] == [f"lines.txt:{i}" for i in range(1, 10)]
    dm = run.datamodule
    tokens, lengths = dm.tokenizer.encode(dm.preprocessor.many(lines))
    run.task.eval()
    with torch.no_grad():
        want = run.task.infer(tokens, lengths)
    assert [r["class"] for r in rows] == [dm.class_names[int(k)] for k in want.argmax(1)]
    got = torch.tensor([[float(r[f"p_{c}"]) for c in dm.class_names] for r in rows])
    assert torch.allclose(got, want, atol=1e-5)


def test_the_transformer_exports_to_onnx_with_lengths(text_run, tmp_path) -> None:
    run_dir, run, _ = text_run
    out = export(run_dir, "onnx", tmp_path / "model.onnx")
    assert out["max_abs_diff"] <= 1e-4
    import onnxruntime

    tokens, _, lengths = run.datamodule.tensors["test"]
    session = onnxruntime.InferenceSession(str(out["path"]), providers=["CPUExecutionProvider"])
    feed = {"input": tokens[:5].numpy(), "lengths": lengths[:5].numpy()}
    got = torch.from_numpy(session.run(None, feed)[0])
    run.task.eval()
    with torch.no_grad():
        want = run.task.infer(tokens[:5], lengths[:5])
    assert (got - want).abs().max() <= 1e-4


def test_attention_figure_and_projector_reach_tensorboard(text_run) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir, _, _ = text_run
    (events,) = {p.parent for p in (run_dir / "tensorboard").rglob("events.out.tfevents.*")}
    accumulator = EventAccumulator(str(events), size_guidance={"images": 0, "tensors": 0})
    accumulator.Reload()
    assert "val/attention" in accumulator.Tags()["images"]
    assert any("top_attended_words" in tag for tag in accumulator.Tags()["tensors"])
    projector = events / "projector_config.pbtxt"
    assert projector.is_file() and "word_embeddings" in projector.read_text()
    (metadata,) = events.rglob("metadata.tsv")
    words = metadata.read_text().split()
    # the most frequent training words first; the special tokens are left out
    assert words[0] in FILLER and not {"[PAD]", "[UNK]", "[CLS]"} & set(words)
    # the attention figure is also the run's figures/attention.png
    assert (run_dir / "figures" / "attention.png").stat().st_size > 0


def test_top_attended_words_are_mean_weights_per_occurrence() -> None:
    from dlzoo.callbacks.text_figures import top_attended_words

    # class 0: id 3 twice (weights 0.6, 0.4), id 4 once (0.9, too rare with min_count 2);
    # class 1: id 3 twice (0.1, 0.3), id 5 twice (0.5, 0.1); padding (id 0) never counts
    tokens = torch.tensor([[3, 4, 3], [3, 5, 0], [5, 3, 0]])
    lengths = torch.tensor([3, 2, 2])
    weights = torch.tensor([[0.6, 0.9, 0.4], [0.1, 0.5, 0.7], [0.1, 0.3, 0.8]])
    y = torch.tensor([0, 1, 1])
    top = top_attended_words([(tokens, y, lengths, weights)], 2, 6, top_k=2, min_count=2)
    assert [i for i, _ in top[0]] == [3] and top[0][0][1] == pytest.approx(0.5)
    assert [i for i, _ in top[1]] == [5, 3]
    assert [v for _, v in top[1]] == pytest.approx([0.3, 0.2])
