import json
S, U = True, False
smol = {  # SmolLM2 claims as split_claims finds them: label from the evidence, why
 "svd": [(U, "the evidence never names SVD"), (U, "SVD never named; the evidence does not say this"), (U, "not stated: the evidence says nothing of the kind")],
 "dev01": [(U, "the evidence does not call scaling a fundamental feature"), (U, "d_k is the dimensionality of queries and keys, not of the input elements"), (S, "the score function takes a query and a key and outputs a score (entity 25)"), (U, "the evidence says scaling keeps the variance, not that it makes computation efficient")],
 "dev02": [(U, "invented: (2, 1, 20) is a toy tensor shape"), (U, "not stated")],
 "dev03": [(U, "the evidence: the decoder attends to parts of the input, not 'adjusts the decoder'"), (U, "not stated in the evidence given")],
 "dev04": [(U, "E is added to the input features, not applied to them"), (U, "not stated"), (S, "sentence of source 235")],
 "dev05": [(U, "the evidence gives O(n^2 d) for self-attention, and it is no comparison")],
 "dev06": [(U, "permutation-equivariant feature encoding is not what the evidence says"), (U, "vacuous, not stated"), (U, "vacuous, not stated")],
 "dev07": [(U, "no 'encoder-only encoder block' in the evidence"), (U, "not stated"), (U, "not stated")],
 "dev08": [(U, "masked language modeling is BERT's pretraining, not the decoder mask"), (S, "the decoder preserves the autoregressive property via a masked version (entity 123)")],
 "ext-alibi": [(U, "ALiBi is a position method, not a neural network"), (U, "not stated"), (U, "not stated")],
 "ext-mamba": [(S, "sentence of source 1"), (S, "source 2")],
 "ext-linformer": [(S, "source 1: (1) it does not work for the auto-regressive case"), (U, "it assumes a fixed sequence length; nothing about performing badly"), (S, "does not work for the auto-regressive case")],
}
written = {  # (key, claim, supported, origin, why): paraphrases of evidence sentences and edited-false versions
 "dev": [
  ("dev02", "When queries and keys are vectors of different lengths, the additive attention scoring function can be used instead.", S, "true", "source 24"),
  ("dev02", "When queries and keys are vectors of the same length, the additive attention scoring function must be used instead.", U, "edited", "different lengths, not the same"),
  ("dev02", "Dot product attention is the main attention mechanism of modern Transformer architectures.", S, "true", "source 24: the mainstay"),
  ("dev02", "Additive attention is the mainstay of modern Transformer architectures.", U, "edited", "dot product attention is"),
  ("dev02", "NVIDIA's Transformer Library and Megatron rely on efficient variants of the attention mechanism.", S, "true", "source 24"),
  ("dev02", "Google's TPU Library and Megatron rely on efficient variants of the attention mechanism.", U, "edited", "NVIDIA's Transformer Library"),
  ("dev03", "The RNN encoder turns a variable-length sequence into a context variable of fixed shape.", S, "true", "source 26"),
  ("dev03", "The RNN encoder turns a fixed-shape context variable into a variable-length sequence.", U, "edited", "direction reversed"),
  ("dev03", "The RNN decoder generates the target sequence token by token from the generated tokens and the context variable.", S, "true", "source 26"),
  ("dev03", "The RNN decoder generates the whole target sequence at once without the context variable.", U, "edited", "token by token, with the context variable"),
  ("dev03", "Rather than compressing the input, attention lets the decoder revisit the input sequence at every step.", S, "true", "source 37"),
  ("dev03", "Attention lets the decoder skip the input sequence at every step after compressing it.", U, "edited", "revisit, not skip"),
  ("dev04", "Reformer's axial positional encodings factorize the big matrix E into two smaller matrices E1 and E2.", S, "true", "source 236"),
  ("dev04", "Reformer's axial positional encodings factorize the big matrix E into 4 smaller matrices.", U, "edited", "two matrices"),
  ("dev04", "With very long texts the positional encoding matrix can be huge and take too much space on the GPU.", S, "true", "source 235"),
  ("dev04", "With very long texts the positional encoding matrix stays small and fits easily on the GPU.", U, "edited", "opposite"),
  ("svd", "Higher attention scores do not always correlate with a greater impact on model performance.", S, "true", "source 309"),
  ("svd", "Higher attention scores always correlate with a greater impact on model performance.", U, "edited", "negation removed"),
  ("svd", "Visual attention helps models focus on relevant image regions, improving object detection and image captioning.", S, "true", "source 308"),
  ("svd", "Visual attention helps models focus on relevant audio frames, improving speech recognition.", U, "edited", "image regions, object detection"),
  ("dev01", "Self-attention is built on the scaled dot product attention.", S, "true", "source 257: the core concept"),
  ("dev01", "Self-attention is built on additive attention with a tanh hidden layer.", U, "edited", "scaled dot product attention"),
  ("dev01", "The implementation of scaled dot product attention uses dropout for regularization.", S, "true", "source 20"),
  ("dev01", "The implementation of scaled dot product attention uses batch normalization for regularization.", U, "edited", "dropout"),
  ("dev08", "The decoder has to keep the autoregressive property, so it uses a masked version of self-attention.", S, "true", "entity 123"),
  ("dev08", "The encoder has to keep the autoregressive property, so it uses a masked version of cross-attention.", U, "edited", "the decoder, self-attention"),
 ],
 "external": [
  ("ext-alibi", "ALiBi adds a linear bias to each attention score instead of adding position embeddings.", S, "true", "source 1"),
  ("ext-alibi", "ALiBi adds position embeddings at the bottom of the transformer stack instead of a bias.", U, "edited", "the opposite"),
  ("ext-alibi", "A model trained with ALiBi on 1024 tokens can run inference on 2048 tokens without finetuning.", S, "true", "source 1"),
  ("ext-alibi", "A model trained with ALiBi on 512 tokens can run inference on 4096 tokens without finetuning.", U, "edited", "1024 and 2048"),
  ("ext-alibi", "The head-specific m hyperparameter is not learned but set at the start of training.", S, "true", "source 1"),
  ("ext-alibi", "The head-specific m hyperparameter is learned by gradient descent during training.", U, "edited", "not learned"),
  ("ext-mamba", "Mamba is a state space model architecture that performs well on information-dense data like language.", S, "true", "source 1"),
  ("ext-mamba", "Mamba is a convolutional architecture that performs well on image classification.", U, "edited", "state space model, language"),
  ("ext-linformer", "Linformer assumes a fixed sequence length and does not work in the auto-regressive case.", S, "true", "source 1"),
  ("ext-linformer", "Linformer supports variable sequence lengths and works well in the auto-regressive case.", U, "edited", "the opposite"),
  ("ext-gat", "The GAT repository provides a Graph Attention Network layer in TensorFlow with an example on the Cora dataset.", S, "true", "source 1"),
  ("ext-gat", "The GAT repository provides a Graph Attention Network layer in JAX with an example on the PPI dataset.", U, "edited", "TensorFlow, Cora"),
  ("ext-gat", "The experimental sparse version only works with a batch size of 1.", S, "true", "source 2"),
  ("ext-gat", "The experimental sparse version only works with a batch size of 32.", U, "edited", "1"),
  ("ext-gat", "The pre-trained Cora model reaches 84.4% accuracy on the test set.", S, "true", "source 3"),
  ("ext-gat", "The pre-trained Cora model reaches 91.2% accuracy on the test set.", U, "edited", "84.4%"),
  ("ext-led", "With gradient checkpointing, fp16 and a 48GB GPU, LED accepts inputs of up to 16K tokens.", S, "true", "source 1"),
  ("ext-led", "With gradient checkpointing, fp16 and a 48GB GPU, LED accepts inputs of up to 64K tokens.", U, "edited", "16K"),
  ("ext-led", "LongformerEncoderDecoder supports sequence-to-sequence tasks with long inputs.", S, "true", "source 1"),
  ("ext-txl", "Transformer-XL was the first to break the 1.0 barrier on character-level language modeling.", S, "true", "source 1"),
  ("ext-txl", "Transformer-XL was the first to break the 1.0 barrier on word-level machine translation.", U, "edited", "char-level language modeling"),
 ],
}
import sys
sys.path.insert(0, ".")
from qa_engine.claims import split_claims
rows = []
answers = {}
for f in ["/tmp/llmwork/dev_answers.jsonl", "/tmp/llmwork/ext_answers.jsonl"]:
    for l in open(f):
        d = json.loads(l); key = d.get("key") or d["id"]; answers[key] = d
n = 0
for key, labels in smol.items():
    claims = list(dict.fromkeys(c.text for c in split_claims(answers[key]["answer"])))
    assert len(claims) == len(labels), (key, claims)
    for claim, (label, why) in zip(claims, labels):
        n += 1
        rows.append({"id": f"c{n:03d}", "set": "external" if key.startswith("ext") else "dev", "key": key, "origin": "smollm2", "claim": claim, "supported": label, "why": why})
for set_, items in written.items():
    for key, claim, label, origin, why in items:
        n += 1
        rows.append({"id": f"c{n:03d}", "set": set_, "key": key, "origin": origin, "claim": claim, "supported": label, "why": why})
with open("bench/claims/claims.jsonl", "w") as out:
    for r in rows: out.write(json.dumps(r, ensure_ascii=False) + "\n")
with open("bench/claims/answers.jsonl", "w") as out:
    for key, d in answers.items():
        out.write(json.dumps({"key": key, "set": "external" if key.startswith("ext") else "dev", "question": d["question"], "answer": d["answer"], "evidence": d["evidence"]}, ensure_ascii=False) + "\n")
from collections import Counter
print(len(rows), Counter((r["set"], r["origin"], r["supported"]) for r in rows))
