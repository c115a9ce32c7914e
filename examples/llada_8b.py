"""Recipe: the optimal block-wise schedule for LLaDA-8B on your own prompts (needs a GPU).

Not run in CI (it needs the LLaDA weights, about 16 GB in bfloat16, and a GPU). What it does:

1. loads LLaDA-8B-Instruct with ``transformers`` (remote code) and your prompts (one per line),
   chat-templated and left-padded as LLaDA's own ``generate.py`` does;
2. generates reference answers with LLaDA's loop at one token per step (the most accurate
   setting) — ``unmask.torch.generate`` with ``steps = gen_length`` is exactly LLaDA's
   ``generate()``;
3. estimates the model's block curves on those answers given their prompts
   (``unmask.torch.estimate_curve(..., prompt=P, block=L)``): the answer tokens' masked
   cross-entropy, block by block, with earlier blocks revealed and later ones masked, as the
   block-wise sampler sees them;
4. compares LLaDA's equal split of K steps over the blocks with the optimal allocation
   (``BlockCurves.optimal``), by Theorem 16 on the model's curves;
5. generates with the optimal counts (``schedule="optimal"``), ready to paste elsewhere as
   ``plan["schedule"]`` (the flat list, block after block).

    python examples/llada_8b.py --prompts prompts.txt --gen-length 256 --block 32 --steps 64
"""

import argparse

import torch

import unmask
import unmask.torch as ut

MASK_ID = 126336  # LLaDA's <|mdm_mask|>


def main() -> None:
    from transformers import AutoModel, AutoTokenizer

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="GSAI-ML/LLaDA-8B-Instruct")
    parser.add_argument("--prompts", required=True, help="a text file, one prompt per line")
    parser.add_argument("--gen-length", type=int, default=256)
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()

    device = "cuda"
    model = AutoModel.from_pretrained(args.model, trust_remote_code=True,
                                      torch_dtype=torch.bfloat16).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model, trust_remote_code=True)
    tokenizer.padding_side = "left"  # LLaDA's generate.py pads on the left
    lines = [line.strip() for line in open(args.prompts, encoding="utf-8") if line.strip()]
    chats = [tokenizer.apply_chat_template([{"role": "user", "content": p}],
                                           add_generation_prompt=True, tokenize=False)
             for p in lines]
    enc = tokenizer(chats, add_special_tokens=False, padding=True, return_tensors="pt")
    ids, attention = enc["input_ids"].to(device), enc["attention_mask"].to(device)
    p = ids.shape[1]

    # 2. Reference answers, one token per step (LLaDA's loop exactly).
    answers = []
    for start in range(0, len(lines), args.batch):
        out = ut.generate(model, ids[start:start + args.batch], gen_length=args.gen_length,
                          steps=args.gen_length, block_length=args.block, mask_id=MASK_ID,
                          attention_mask=attention[start:start + args.batch])
        answers.append(out.tokens.cpu())
    sequences = torch.cat(answers)
    full_mask = torch.cat([attention.cpu(), torch.ones((len(lines), args.gen_length),
                                                       dtype=attention.dtype)], dim=1)

    # 3. The model's block curves on its own answers.
    blocks = ut.estimate_curve(model, sequences, mask_id=MASK_ID, prompt=p, block=args.block,
                               points=8, batch_size=args.batch, attention_mask=full_mask)
    with open("llada_blocks.json", "w", encoding="utf-8") as f:
        f.write(blocks.to_json())  # readable by `unmask plan --blocks llada_blocks.json`

    # 4. LLaDA's equal split against the optimal allocation, by Theorem 16.
    equal = blocks.expected_kl(f"llada:steps={args.steps},block={args.block}")
    best = blocks.optimal(steps=args.steps)
    print(f"{args.steps} steps over {blocks.blocks} blocks of {args.block}: LLaDA's equal split "
          f"{equal['expected_kl']:.3f} nats, optimal {best['expected_kl']:.3f} nats; steps per "
          f"block {[b['steps'] for b in best['blocks']]}")
    fewest = blocks.optimal(epsilon=equal["expected_kl"])
    print(f"the optimal allocation reaches LLaDA's error in {fewest['steps']} steps "
          f"(LLaDA: {args.steps})")
    print("schedule =", best["schedule"].tolist())

    # 5. Generate with it.
    out = ut.generate(model, ids[:args.batch], gen_length=args.gen_length, steps=args.steps,
                      schedule="optimal", curve=blocks, block_length=args.block,
                      mask_id=MASK_ID, attention_mask=attention[:args.batch])
    for row in tokenizer.batch_decode(out.tokens[:, p:], skip_special_tokens=True):
        print("---\n" + row)
    print(f"({out.nfe} forward passes; unmask {unmask.__version__})")


if __name__ == "__main__":
    main()
