"""Writes rank-bm25-reference.json: BM25Okapi scores and get_top_n orders from rank_bm25 0.2.2's algorithm.

This is rank_bm25 0.2.2's BM25Okapi (the version OPPU pins), restated here because the registry is unreachable
from the build machines; bm25.test.ts checks our TypeScript port against its output bit for bit.
Run: python3 packages/retriever/test-fixtures/rank-bm25-reference.py  (needs numpy)
"""
import json
import math
import os
import random

import numpy as np


class BM25Okapi:  # rank_bm25 0.2.2, BM25 + BM25Okapi, tokenizer=None
    def __init__(self, corpus, k1=1.5, b=0.75, epsilon=0.25):
        self.k1, self.b, self.epsilon = k1, b, epsilon
        self.corpus_size = 0
        self.avgdl = 0
        self.doc_freqs = []
        self.idf = {}
        self.doc_len = []
        nd = {}
        num_doc = 0
        for document in corpus:
            self.doc_len.append(len(document))
            num_doc += len(document)
            frequencies = {}
            for word in document:
                if word not in frequencies:
                    frequencies[word] = 0
                frequencies[word] += 1
            self.doc_freqs.append(frequencies)
            for word, freq in frequencies.items():
                try:
                    nd[word] += 1
                except KeyError:
                    nd[word] = 1
            self.corpus_size += 1
        self.avgdl = num_doc / self.corpus_size
        idf_sum = 0
        negative_idfs = []
        for word, freq in nd.items():
            idf = math.log(self.corpus_size - freq + 0.5) - math.log(freq + 0.5)
            self.idf[word] = idf
            idf_sum += idf
            if idf < 0:
                negative_idfs.append(word)
        self.average_idf = idf_sum / len(self.idf)
        eps = self.epsilon * self.average_idf
        for word in negative_idfs:
            self.idf[word] = eps

    def get_scores(self, query):
        score = np.zeros(self.corpus_size)
        doc_len = np.array(self.doc_len)
        for q in query:
            q_freq = np.array([(doc.get(q) or 0) for doc in self.doc_freqs])
            score += (self.idf.get(q) or 0) * (q_freq * (self.k1 + 1) /
                                               (q_freq + self.k1 * (1 - self.b + self.b * doc_len / self.avgdl)))
        return score

    def get_top_n(self, query, documents, n=5):
        scores = self.get_scores(query)
        top_n = np.argsort(scores, kind="stable")[::-1][:n]
        return [documents[i] for i in top_n]


rng = random.Random(7)
vocab = [f"w{i}" for i in range(40)] + ["the", "a", "of", "", "tag:\n"]
cases = []
for c in range(6):
    n_docs = rng.randint(1, 14)
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 12))) for _ in range(n_docs)]
    if c == 0:  # a term in every document: negative idf floored to epsilon * mean idf
        docs = [d + " the" for d in docs]
    tokenized = [d.split(" ") for d in docs]
    bm25 = BM25Okapi(tokenized)
    queries = []
    for _ in range(4):
        q = " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 6)))
        toks = q.split(" ")
        queries.append({
            "query": q,
            "scores": [float(s).hex() for s in bm25.get_scores(toks)],
            "topIdx": [int(i) for i in np.argsort(bm25.get_scores(toks), kind="stable")[::-1][:5]],
        })
    cases.append({"docs": docs, "idf": {w: float(v).hex() for w, v in bm25.idf.items()}, "queries": queries})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rank-bm25-reference.json")
with open(out, "w") as f:
    json.dump(cases, f, indent=1)
print("wrote", out)
