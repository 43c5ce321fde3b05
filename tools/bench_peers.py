#!/usr/bin/env python3
"""Peers for `make bench`: the classifiers a user would pick instead of opsbot,
trained and tested on exactly the splits opsbot used (written by benches/nlu.rs).

- TF-IDF word (1-2) + character (2-5, within word bounds) n-grams + LinearSVC
  (scikit-learn), out of scope as one more class where the split has it;
- fastText supervised (word bigrams, 25 epochs), the same way.

Usage: bench_peers.py SPLITS_DIR OUT_JSON
"""
import json
import os
import sys
import tempfile
import time

import numpy as np


def load(path):
    with open(path) as f:
        split = json.load(f)
    return split


def scores(expected, predicted, oos_label):
    expected = np.array(expected)
    predicted = np.array(predicted)
    in_scope = expected != oos_label
    result = {
        "accuracy": float((expected == predicted).mean()),
        "in_scope_accuracy": float((expected[in_scope] == predicted[in_scope]).mean()),
    }
    if (~in_scope).any():
        result["out_of_scope_recall"] = float((predicted[~in_scope] == oos_label).mean())
    return result


def latency(predict_one, texts):
    times = []
    for text in texts:
        start = time.perf_counter()
        predict_one(text)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": times[len(times) // 2], "p99_ms": times[int(len(times) * 0.99)]}


def svm(split, oos_label):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LinearSVC(C=1.0),
    )
    train_texts = [t for t, _ in split["train"]]
    model.fit(train_texts, [l for _, l in split["train"]])
    seconds = time.perf_counter() - start
    test_texts = [t for t, _ in split["test"]]
    predicted = model.predict(test_texts)
    result = scores([l for _, l in split["test"]], predicted, oos_label)
    result["training_seconds"] = seconds
    result["latency"] = latency(lambda t: model.predict([t]), test_texts[:500])
    return result


def fasttext_peer(split, oos_label):
    import fasttext

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        for text, label in split["train"]:
            f.write(f"__label__{label} {' '.join(text.split())}\n")
        path = f.name
    start = time.perf_counter()
    model = fasttext.train_supervised(
        input=path, epoch=25, lr=0.5, wordNgrams=2, dim=100, thread=2, verbose=0, seed=1
    )
    seconds = time.perf_counter() - start
    os.unlink(path)

    def predict(text):
        return model.predict(" ".join(text.split()))[0][0][len("__label__"):]

    test_texts = [t for t, _ in split["test"]]
    predicted = [predict(t) for t in test_texts]
    result = scores([l for _, l in split["test"]], predicted, oos_label)
    result["training_seconds"] = seconds
    result["latency"] = latency(predict, test_texts[:500])
    return result


def main():
    splits_dir, out = sys.argv[1], sys.argv[2]
    results = {}
    for name in sorted(os.listdir(splits_dir)):
        if not name.endswith(".json"):
            continue
        split = load(os.path.join(splits_dir, name))
        oos_label = split.get("out_of_scope_label", "out_of_scope")
        task = name[: -len(".json")]
        results[task] = {}
        for peer, run in (("tfidf_linear_svm", svm), ("fasttext", fasttext_peer)):
            try:
                results[task][peer] = run(split, oos_label)
            except Exception as e:  # a peer that fails is reported, not fatal
                results[task][peer] = {"error": repr(e)}
            print(f"{task} {peer}: {results[task][peer]}", file=sys.stderr)
    results["peak_rss_mib"] = peak_rss_mib()
    with open(out, "w") as f:
        json.dump(results, f, indent=2)


def peak_rss_mib():
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so it would report
    # the benchmark process that spawned this one.
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


if __name__ == "__main__":
    main()
