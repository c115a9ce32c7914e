"""Recipe: an optimal schedule for LLaDA, from LLaDA's own predictions (needs the real model).

Not run in CI (it downloads nothing, but it needs the LLaDA weights and a GPU). Steps:

1. measure the information curve of your task's completions with the model's masked
   predictions (`unmask.estimate_curve`), on a few hundred reference completions;
2. plan K steps (`unmask.optimal_schedule`);
3. feed the counts to LLaDA's `generate()` loop in place of `get_num_transfer_tokens`.

    python examples/llada_schedule.py --completions completions.pt --steps 32
"""

import argparse

import numpy as np

import unmask

MASK_ID = 126336  # LLaDA's [MASK] token id


def main() -> None:
    import torch
    from transformers import AutoModel

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="GSAI-ML/LLaDA-8B-Instruct")
    parser.add_argument("--completions", required=True, help="a (M, gen_length) tensor of token ids")
    parser.add_argument("--steps", type=int, default=32)
    args = parser.parse_args()

    model = AutoModel.from_pretrained(args.model, trust_remote_code=True, torch_dtype=torch.bfloat16).cuda().eval()
    completions = torch.load(args.completions).numpy()  # the prompts can be prepended the same way

    # 1. The three-line wrapper: tokens + mask -> per-position probabilities.
    def predict(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(tokens).masked_fill(torch.as_tensor(mask), MASK_ID).cuda()
        with torch.no_grad():
            return model(x).logits.float().softmax(-1).cpu().numpy()

    curve = unmask.estimate_curve(predict, completions, points=16, batch_size=8)
    print(curve, "largest repair:", curve.correction)

    # 2. Plan.
    plan = unmask.optimal_schedule(curve, steps=args.steps)
    uniform = unmask.expected_kl(curve, f"uniform:steps={args.steps}")
    print(f"optimal E-KL {plan['expected_kl']:.3f} vs LLaDA uniform {uniform:.3f} nats")

    # 3. In LLaDA's generate.py (one block spanning the completion), replace
    #        num_transfer_tokens = get_num_transfer_tokens(block_mask_index, steps)
    #    by
    #        num_transfer_tokens = torch.as_tensor(COUNTS, device=x.device)
    #    with COUNTS below; row b is used for batch element b, column i at step i.
    counts = unmask.transfer_counts(plan["schedule"], batch_size=1)
    print("COUNTS =", counts.tolist())


if __name__ == "__main__":
    main()
